/**
 * plugins/rate-limiter/README.md stays true to the plugin: its table names every config key (the
 * `limits[]` entries' and the `store` section's too) and nothing else, and its example
 * configuration is valid.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { limitSchema, memoryStoreSchema, rateLimiterConfigSchema, redisStoreSchema } from './config.ts';

const README = readFileSync(fileURLToPath(new URL('./README.md', import.meta.url)), 'utf8');

test('the README table names every config key, and only those', () => {
  const start = README.indexOf('| Key');
  const table = README.slice(start, README.indexOf('\n\n', start));
  const documented = new Set([...table.matchAll(/^\| `([a-z_.[\]]+)`\s*\|/gm)].map((match) => match[1]!));
  const keys = [
    ...Object.keys(rateLimiterConfigSchema.shape),
    ...Object.keys(limitSchema.shape).map((key) => `limits[].${key}`),
    ...new Set(
      [...Object.keys(memoryStoreSchema.shape), ...Object.keys(redisStoreSchema.shape)].map((key) => `store.${key}`),
    ),
  ];
  for (const key of keys) assert.ok(documented.has(key), `README documents ${key}`);
  for (const key of documented) assert.ok(keys.includes(key), `README's ${key} is a config key`);
});

test("the README's example configuration is valid", () => {
  const block = /## Configuration\n\n```yaml\n([\s\S]*?)```/.exec(README);
  assert.ok(block, 'the Configuration section starts with a yaml block');
  const entry = (parse(block[1]!) as { middleware: { rate_limiter: { config: unknown } } }).middleware.rate_limiter;
  const parsed = rateLimiterConfigSchema.safeParse(entry.config);
  assert.ok(parsed.success, parsed.success ? '' : parsed.error.message);
});

test('the README lists every error code and the headers', () => {
  for (const code of ['rate_limiter/LIMITED', 'rate_limiter/STORE_UNAVAILABLE', 'rate_limiter/STORE_MISSING']) {
    assert.ok(README.includes(`\`${code}\``), code);
  }
  for (const header of ['Retry-After', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']) {
    assert.ok(README.includes(`\`${header}\``), header);
  }
});
