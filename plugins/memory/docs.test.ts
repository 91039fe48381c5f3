/**
 * plugins/memory/README.md stays true to the plugin: its table names every config key and
 * nothing else, its example configuration is valid, and it names every error code, metric,
 * endpoint and summary/title rule constant the plugin uses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertExampleConfig, assertKeyTable, readPluginReadme } from '../../test/support/plugin-readme.ts';
import { memoryConfigSchema } from './config.ts';
import { memoryErrors } from './errors.ts';
import { createMemoryPlugin } from './memory.plugin.ts';
import { MAX_AUTO_TITLE_LENGTH } from './titles.ts';

const README = readPluginReadme(import.meta.url);

test('the README table names every config key, and only those', () => {
  assertKeyTable(README, Object.keys(memoryConfigSchema.shape));
});

test("the README's example configuration is valid", () => {
  assertExampleConfig(README, ['features', 'memory'], memoryConfigSchema);
});

test('the README names every error code, metric and endpoint', () => {
  for (const key of Object.keys(memoryErrors.entries)) {
    assert.ok(README.includes(`\`memory/${key}\``), key);
  }
  for (const metric of [
    'memory_conversations_created_total',
    'memory_messages_stored_total',
    'memory_summaries_total',
    'memory_titles_total',
    'memory_store_errors_total',
  ]) {
    assert.ok(README.includes(`\`${metric}\``), metric);
  }
  for (const endpoint of createMemoryPlugin().endpoints ?? []) {
    assert.ok(README.includes(`\`${endpoint.method} ${endpoint.path}`), `${endpoint.method} ${endpoint.path}`);
  }
  assert.ok(README.includes(`at most ${MAX_AUTO_TITLE_LENGTH} characters`), 'the title length');
});
