/**
 * plugins/llamacpp/README.md and plugboard.yaml stay true to the plugin: the README's table
 * names every config key with the schema's default, its example config validates, and the
 * example server config passes `plugboard config check`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { main } from '../../src/cli/main.ts';
import { llamaCppConfigSchema } from './config.ts';

const README = readFileSync(fileURLToPath(new URL('./README.md', import.meta.url)), 'utf8');

describe('llamacpp documentation', () => {
  test('the README table names every config key, with the default the schema applies', () => {
    const defaults = llamaCppConfigSchema.parse({ model_path: 'x.gguf' }) as Record<string, unknown>;
    const table = README.slice(README.indexOf('| Key'), README.indexOf('\n\n', README.indexOf('| Key')));
    const rows = new Map(
      [...table.matchAll(/^\| `([a-z_]+)`\s*\|\s*([^|]*)\|/gm)].map((match) => [match[1]!, match[2]!.trim()]),
    );
    for (const key of Object.keys(llamaCppConfigSchema.shape)) {
      assert.ok(rows.has(key), `README documents ${key}`);
      const value = defaults[key];
      if (value === undefined || key === 'model_path') continue;
      assert.ok(rows.get(key)!.includes(`\`${String(value)}\``), `README gives ${key}'s default ${String(value)}`);
    }
    for (const key of rows.keys()) assert.ok(key in llamaCppConfigSchema.shape, `README's ${key} is a config key`);
  });

  test("the README's example configuration is valid", () => {
    const block = /## Configuration\n\n```yaml\n([\s\S]*?)```/.exec(README);
    assert.ok(block, 'the Configuration section starts with a yaml block');
    const entry = (parse(block[1]!) as { backends: { llamacpp: { config: unknown } } }).backends.llamacpp;
    const parsed = llamaCppConfigSchema.safeParse(entry.config);
    assert.ok(parsed.success, parsed.success ? '' : parsed.error.message);
  });

  test('plugboard.yaml passes `plugboard config check`', async () => {
    const lines: string[] = [];
    const io = { out: (line: string) => lines.push(line), err: (line: string) => lines.push(line) };
    const file = fileURLToPath(new URL('./plugboard.yaml', import.meta.url));
    const previous = process.env.LLAMACPP_MODEL;
    process.env.LLAMACPP_MODEL = 'models/some.gguf';
    try {
      assert.equal(await main(['config', 'check', file, '--strict'], io), 0, lines.join('\n'));
    } finally {
      if (previous === undefined) delete process.env.LLAMACPP_MODEL;
      else process.env.LLAMACPP_MODEL = previous;
    }
    assert.match(lines.join('\n'), /valid \(1 plugins/);
  });
});
