/**
 * plugins/rag/README.md stays true to the plugin: its table names every config key and nothing
 * else, its example configuration is valid, and it names every error code, endpoint and
 * `context.metadata.rag` option.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertExampleConfig, assertKeyTable, readPluginReadme } from '../../test/support/plugin-readme.ts';
import { ragConfigSchema } from './config.ts';
import { ragErrors } from './errors.ts';
import { createRagPlugin } from './rag.plugin.ts';
import { requestOptionsSchema } from './request-options.ts';

const README = readPluginReadme(import.meta.url);

test('the README table names every config key, and only those', () => {
  assertKeyTable(README, Object.keys(ragConfigSchema.shape));
});

test("the README's example configuration is valid", () => {
  assertExampleConfig(README, ['features', 'rag'], ragConfigSchema);
});

test('the README names every error code, endpoint and request option', () => {
  for (const code of Object.keys(ragErrors.entries)) assert.ok(README.includes(`rag/${code}`), code);
  for (const endpoint of createRagPlugin().endpoints ?? []) {
    assert.ok(README.includes(`${endpoint.method} ${endpoint.path}`), `${endpoint.method} ${endpoint.path}`);
  }
  for (const option of Object.keys(requestOptionsSchema.shape)) assert.ok(README.includes(`\`${option}\``), option);
});
