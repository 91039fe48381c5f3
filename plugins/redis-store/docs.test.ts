/**
 * plugins/redis-store/README.md stays true to the plugin: its table names every config key and
 * nothing else, and its example configuration is valid.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertExampleConfig, assertKeyTable, readPluginReadme } from '../../test/support/plugin-readme.ts';
import { redisStoreConfigSchema } from './config.ts';

const README = readPluginReadme(import.meta.url);

test('the README table names every config key, and only those', () => {
  assertKeyTable(README, Object.keys(redisStoreConfigSchema.shape));
});

test("the README's example configuration is valid", () => {
  assertExampleConfig(README, ['middleware', 'redis_store'], redisStoreConfigSchema);
});

test('the README lists the error codes', () => {
  for (const code of ['STORE_FAILED', 'STORE_INVALID_ARGUMENT', 'SERVICE_NOT_PROVIDED', 'CONNECTION_UNKNOWN']) {
    assert.ok(README.includes(`\`${code}\``), code);
  }
});
