/**
 * plugins/web-search/README.md stays true to the plugin: its table names every config key and
 * nothing else, its example configuration is valid, and it lists every error code.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertExampleConfig, assertKeyTable, readPluginReadme } from '../../test/support/plugin-readme.ts';
import { webSearchConfigSchema } from './config.ts';
import { webSearchErrors } from './errors.ts';

const README = readPluginReadme(import.meta.url);

test('the README table names every config key, and only those', () => {
  assertKeyTable(README, Object.keys(webSearchConfigSchema.shape));
});

test("the README's example configuration is valid", () => {
  assertExampleConfig(README, ['features', 'web_search'], webSearchConfigSchema);
});

test('the README lists every error code with its status', () => {
  for (const [key, entry] of Object.entries(webSearchErrors.entries)) {
    assert.match(README, new RegExp(`\\| \`web_search/${key}\`\\s*\\| ${entry.status}\\s`), key);
  }
});
