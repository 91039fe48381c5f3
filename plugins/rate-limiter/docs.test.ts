/**
 * plugins/rate-limiter/README.md stays true to the plugin: its table names every config key (the
 * `limits[]` entries' and the `store` section's too) and nothing else, and its example
 * configuration is valid.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertExampleConfig, assertKeyTable, readPluginReadme } from '../../test/support/plugin-readme.ts';
import { limitSchema, memoryStoreSchema, rateLimiterConfigSchema, redisStoreSchema } from './config.ts';

const README = readPluginReadme(import.meta.url);

test('the README table names every config key, and only those', () => {
  assertKeyTable(README, [
    ...Object.keys(rateLimiterConfigSchema.shape),
    ...Object.keys(limitSchema.shape).map((key) => `limits[].${key}`),
    ...new Set(
      [...Object.keys(memoryStoreSchema.shape), ...Object.keys(redisStoreSchema.shape)].map((key) => `store.${key}`),
    ),
  ]);
});

test("the README's example configuration is valid", () => {
  assertExampleConfig(README, ['middleware', 'rate_limiter'], rateLimiterConfigSchema);
});

test('the README lists every error code and the headers', () => {
  for (const code of ['rate_limiter/LIMITED', 'rate_limiter/STORE_UNAVAILABLE', 'rate_limiter/STORE_MISSING']) {
    assert.ok(README.includes(`\`${code}\``), code);
  }
  for (const header of ['Retry-After', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']) {
    assert.ok(README.includes(`\`${header}\``), header);
  }
});
