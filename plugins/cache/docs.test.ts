/**
 * plugins/cache/README.md stays true to the plugin: its table names every config key and
 * nothing else, its example configuration is valid, its example entry is one the plugin reads,
 * and it lists every header value and metric the plugin uses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertExampleConfig, assertKeyTable, readPluginReadme, tableRows } from '../../test/support/plugin-readme.ts';
import { cacheConfigSchema } from './config.ts';
import { parseEntry } from './entry.ts';

const README = readPluginReadme(import.meta.url);

test('the README table names every config key, and only those', () => {
  assertKeyTable(README, Object.keys(cacheConfigSchema.shape));
});

test("the README's example configuration is valid", () => {
  assertExampleConfig(README, ['middleware', 'cache'], cacheConfigSchema);
});

test("the README's example entry is an entry the plugin reads", () => {
  const block = /## What is stored[\s\S]*?```json\n([\s\S]*?)\n```/.exec(README);
  assert.ok(block, 'an example entry');
  assert.ok(parseEntry(JSON.parse(block[1]!)));
});

test('the README names every header value, store result and metric', () => {
  for (const value of ['hit', 'miss', 'refresh', 'bypass', 'skip']) {
    assert.ok(README.includes(`\`${value}\``), value);
  }
  const results = [...tableRows(README, '`result`').keys()];
  for (const result of [
    'tool_calls',
    'multi_turn',
    'truncated',
    'unfinished',
    'degraded',
    'changed',
    'too_large',
    'failed',
    'dropped',
  ]) {
    assert.ok(results.includes(result), result);
  }
  for (const metric of [
    'cache_requests_total',
    'cache_stores_total',
    'cache_stored_bytes_total',
    'cache_served_bytes_total',
    'cache_store_errors_total',
    'cache_memory_entries',
    'cache_memory_bytes',
  ]) {
    assert.ok(README.includes(`\`${metric}`), metric);
  }
});
