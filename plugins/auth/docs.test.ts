/**
 * plugins/auth/README.md stays true to the plugin: its table names every config key (the
 * `keys[]` entries' and the `jwt` section's too) and nothing else, and its example
 * configuration is valid.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { authConfigSchema, configKeySchema, jwtSchema } from './config.ts';

const README = readFileSync(fileURLToPath(new URL('./README.md', import.meta.url)), 'utf8');

test('the README table names every config key, and only those', () => {
  const start = README.indexOf('| Key');
  const table = README.slice(start, README.indexOf('\n\n', start));
  const documented = new Set([...table.matchAll(/^\| `([a-z_.[\]]+)`\s*\|/gm)].map((match) => match[1]!));
  const keys = [
    ...Object.keys(authConfigSchema.shape),
    // `key` exists only to refuse a plaintext key with a helpful message (described under key_env).
    ...Object.keys(configKeySchema.shape)
      .filter((key) => key !== 'key')
      .map((key) => `keys[].${key}`),
    ...Object.keys(jwtSchema.shape).map((key) => `jwt.${key}`),
  ];
  for (const key of keys) assert.ok(documented.has(key), `README documents ${key}`);
  for (const key of documented) assert.ok(keys.includes(key), `README's ${key} is a config key`);
});

test("the README's example configuration is valid", () => {
  const block = /## Configuration\n\n```yaml\n([\s\S]*?)```/.exec(README);
  assert.ok(block, 'the Configuration section starts with a yaml block');
  const entry = (parse(block[1]!) as { middleware: { auth: { config: unknown } } }).middleware.auth;
  const parsed = authConfigSchema.safeParse(entry.config);
  assert.ok(parsed.success, parsed.success ? '' : parsed.error.message);
});
