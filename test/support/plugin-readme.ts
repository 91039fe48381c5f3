/**
 * Checks that keep a first-party plugin's README true to its code: the key table names every
 * config key and nothing else, and the example configuration is valid.
 *
 * @example
 * ```ts
 * const readme = readPluginReadme(import.meta.url);
 * assertKeyTable(readme, Object.keys(authConfigSchema.shape));
 * assertExampleConfig(readme, ['middleware', 'auth'], authConfigSchema);
 * ```
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { z } from 'zod';

/** The README.md next to the test file whose `import.meta.url` is given. */
export function readPluginReadme(testFileUrl: string): string {
  return readFileSync(fileURLToPath(new URL('./README.md', testFileUrl)), 'utf8');
}

/** The first column (a backquoted name) and second column of the table whose header starts with `| <header>`. */
export function tableRows(readme: string, header: string): Map<string, string> {
  const start = readme.indexOf(`| ${header}`);
  assert.ok(start >= 0, `the README has a table headed "${header}"`);
  const table = readme.slice(start, readme.indexOf('\n\n', start));
  return new Map(
    [...table.matchAll(/^\| `([a-z_.[\]]+)`\s*\|\s*([^|]*?)\s*\|/gm)].map((match) => [match[1]!, match[2]!]),
  );
}

/** The `| Key` table names exactly `keys` (`keys[].id`, `jwt.issuer` … for nested ones). */
export function assertKeyTable(readme: string, keys: readonly string[]): void {
  const documented = [...tableRows(readme, 'Key').keys()];
  for (const key of keys) assert.ok(documented.includes(key), `README documents ${key}`);
  for (const key of documented) assert.ok(keys.includes(key), `README's ${key} is a config key`);
}

/**
 * The YAML block that opens the `## Configuration` section holds an entry at `path`
 * (`['middleware', 'auth']`) whose `config` the schema accepts.
 */
export function assertExampleConfig(readme: string, path: readonly string[], schema: z.ZodType): void {
  const block = /## Configuration\n\n```yaml\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'the Configuration section starts with a yaml block');
  let entry: unknown = parse(block[1]!);
  for (const key of path) entry = (entry as Record<string, unknown> | undefined)?.[key];
  assert.ok(entry !== undefined, `the example has ${path.join('.')}`);
  const parsed = schema.safeParse((entry as { config?: unknown }).config);
  assert.ok(parsed.success, parsed.success ? '' : parsed.error.message);
}
