/**
 * plugins/sql-store/README.md stays true to the plugin: its table names every config key and
 * nothing else, its example configuration is valid, and it lists the error codes and tables.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertExampleConfig, assertKeyTable, readPluginReadme } from '../../test/support/plugin-readme.ts';
import { sqlStoreConfigSchema } from './config.ts';

const README = readPluginReadme(import.meta.url);

test('the README table names every config key, and only those', () => {
  assertKeyTable(README, Object.keys(sqlStoreConfigSchema.shape));
});

test("the README's example configuration is valid", () => {
  assertExampleConfig(README, ['middleware', 'sql_store'], sqlStoreConfigSchema);
});

test('the README lists the error codes and the tables of the schema', () => {
  for (const code of ['STORE_FAILED', 'STORE_INVALID_ARGUMENT', 'STORE_NOT_FOUND', 'SERVICE_NOT_PROVIDED']) {
    assert.ok(README.includes(`\`${code}\``), code);
  }
  for (const table of ['conversations', 'messages', 'search_collections', 'search_documents', 'search_fts']) {
    assert.ok(README.includes(`\`plugboard_${table}\``), table);
  }
});
