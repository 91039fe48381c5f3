/**
 * The config schema: the connection is required, the key prefix has a default, unknown keys are
 * refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redisStoreConfigSchema } from './config.ts';

const messages = (value: unknown) => {
  const result = redisStoreConfigSchema.safeParse(value);
  assert.equal(result.success, false, 'expected the config to be refused');
  return result.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n');
};

test('defaults: the key prefix is kv:', () => {
  assert.deepEqual(redisStoreConfigSchema.parse({ connection: 'cache' }), { connection: 'cache', key_prefix: 'kv:' });
  assert.deepEqual(redisStoreConfigSchema.parse({ connection: 'cache', key_prefix: '' }), {
    connection: 'cache',
    key_prefix: '',
  });
});

test('the connection is required and not empty', () => {
  assert.match(messages({}), /^connection: /);
  assert.match(messages({ connection: '' }), /connection: give the name of a connections\.redis entry/);
  assert.match(messages({ connection: 7 }), /^connection: /);
});

test('unknown keys are refused, naming them', () => {
  assert.match(messages({ connection: 'cache', conection: 'x' }), /conection/);
  assert.match(messages({ connection: 'cache', url: 'redis://127.0.0.1:6379' }), /url/);
});

test('a key prefix longer than a key may be is refused', () => {
  assert.match(messages({ connection: 'cache', key_prefix: 'p'.repeat(1025) }), /key_prefix: expected at most 1024/);
});
