/**
 * The config schema: defaults, strict keys, the ranges of the numbers, the header name
 * (checked, lower-cased), the metadata key names, and the rule that one entry must fit in the
 * memory store.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cacheConfigSchema } from './config.ts';

const messages = (value: unknown) => {
  const result = cacheConfigSchema.safeParse(value);
  assert.equal(result.success, false, 'expected the config to be refused');
  return result.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n');
};

test('defaults: memory, an hour, 256 KiB entries in 64 MiB, per principal, deterministic and complete replies only', () => {
  assert.deepEqual(cacheConfigSchema.parse({}), {
    store: 'memory',
    ttl_seconds: 3600,
    max_entry_bytes: 262_144,
    memory_max_bytes: 67_108_864,
    per_principal: true,
    cache_sampled: false,
    cache_truncated: false,
    key_metadata: ['thinkLevel'],
    header: 'x-plugboard-cache',
    honor_cache_control: true,
    key_prefix: 'cache:',
    lookup_timeout_ms: 200,
  });
});

test('unknown keys are refused, and named', () => {
  assert.match(messages({ ttl: 60 }), /ttl/);
  assert.match(messages({ store: 'redis' }), /store: expected one of memory, shared/);
});

test('bad values name the key', () => {
  assert.match(messages({ ttl_seconds: 0 }), /^ttl_seconds: /);
  assert.match(messages({ ttl_seconds: 1.5 }), /^ttl_seconds: /);
  assert.match(messages({ max_entry_bytes: 10 }), /^max_entry_bytes: /);
  assert.match(messages({ lookup_timeout_ms: 0 }), /^lookup_timeout_ms: /);
  assert.match(messages({ header: 'x cache' }), /^header: expected an HTTP header name/);
  assert.match(messages({ key_metadata: ['a.b'] }), /^key_metadata\.0: expected a metadata key/);
  assert.match(messages({ key_prefix: '' }), /^key_prefix: /);
  assert.match(
    messages({ max_entry_bytes: 4096, memory_max_bytes: 2048 }),
    /^max_entry_bytes: max_entry_bytes is larger than memory_max_bytes/,
  );
});

test('the header name is lower-cased', () => {
  assert.equal(cacheConfigSchema.parse({ header: 'X-Cache' }).header, 'x-cache');
});
