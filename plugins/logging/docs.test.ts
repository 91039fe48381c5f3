/**
 * plugins/logging/README.md stays true to the plugin: its table names every config key and
 * nothing else, its example configuration is valid, and its example record has every field
 * the record table lists as always present.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertExampleConfig, assertKeyTable, readPluginReadme, tableRows } from '../../test/support/plugin-readme.ts';
import { loggingConfigSchema } from './config.ts';

const README = readPluginReadme(import.meta.url);

test('the README table names every config key, and only those', () => {
  assertKeyTable(README, Object.keys(loggingConfigSchema.shape));
});

test("the README's example configuration is valid", () => {
  assertExampleConfig(README, ['middleware', 'logging'], loggingConfigSchema);
});

test("the README's example record has every field listed as always there", () => {
  const line = /## The record[\s\S]*?```json\n([\s\S]*?)\n```/.exec(README);
  assert.ok(line, 'an example line');
  const record = JSON.parse(line[1]!) as Record<string, unknown>;
  const fields = tableRows(README, 'Field');
  for (const [field, always] of fields) {
    if (always === 'yes') assert.ok(field in record, `the example has ${field}`);
  }
  for (const field of Object.keys(record)) assert.ok(fields.has(field), `the table lists ${field}`);
});
