/**
 * plugins/db-query/README.md stays true to the plugin: its tables name every config key (and
 * every key of a database entry) and nothing else, its example configuration is valid, and it
 * lists every error code.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertExampleConfig, assertKeyTable, readPluginReadme, tableRows } from '../../test/support/plugin-readme.ts';
import { databaseEntrySchema, dbQueryConfigSchema } from './config.ts';
import { dbQueryErrors } from './errors.ts';

const README = readPluginReadme(import.meta.url);

test('the README tables name every config key and database key, and only those', () => {
  assertKeyTable(README, Object.keys(dbQueryConfigSchema.shape));
  assert.deepEqual([...tableRows(README, 'Database key').keys()].sort(), Object.keys(databaseEntrySchema.shape).sort());
});

test("the README's example configuration is valid", () => {
  assertExampleConfig(README, ['features', 'db_query'], dbQueryConfigSchema);
});

test('the README lists every error code with its status', () => {
  for (const [key, entry] of Object.entries(dbQueryErrors.entries)) {
    const row = new RegExp(`\\| \`db_query/${key}\`\\s*\\| ${entry.status}\\s`);
    assert.match(README, row, key);
  }
});
