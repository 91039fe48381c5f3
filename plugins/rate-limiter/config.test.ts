/**
 * The config schema: strict keys at every level, defaults, the
 * operations filter's names, the rule that a limit counts requests or tokens, and stable
 * derived limit names (the Redis counters' keys).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { limitName, rateLimiterConfigSchema } from './config.ts';

const parse = (value: unknown) => rateLimiterConfigSchema.safeParse(value);
const messages = (value: unknown) => {
  const result = parse(value);
  assert.equal(result.success, false, 'expected the config to be refused');
  return result.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n');
};

test('defaults: in-memory store, fail open on store errors', () => {
  const result = parse({ limits: [{ key: 'principal', requests: 10, per_seconds: 60 }] });
  assert.ok(result.success);
  assert.deepEqual(result.data.store, { type: 'memory' });
  assert.equal(result.data.on_store_error, 'open');
});

test('unknown keys are refused at every level', () => {
  assert.match(messages({ limits: [{ key: 'ip', requests: 1, per_seconds: 1 }], limt: 1 }), /limt/);
  assert.match(messages({ limits: [{ key: 'ip', requests: 1, per_seconds: 1, per_second: 1 }] }), /per_second/);
  assert.match(
    messages({
      limits: [{ key: 'ip', requests: 1, per_seconds: 1 }],
      store: { type: 'redis', connection: 'c', url: 'x' },
    }),
    /url/,
  );
});

test('bad values name the key', () => {
  assert.match(messages({ limits: [] }), /limits: give at least one limit/);
  assert.match(messages({ limits: [{ key: 'user', requests: 1, per_seconds: 1 }] }), /limits\.0\.key: expected one of/);
  assert.match(messages({ limits: [{ key: 'ip', per_seconds: 1 }] }), /give requests, tokens or both/);
  assert.match(messages({ limits: [{ key: 'ip', requests: 1, per_seconds: 0.5 }] }), /per_seconds/);
  assert.match(
    messages({ limits: [{ key: 'ip', requests: 1, per_seconds: 1, operations: ['chat', 'images'] }] }),
    /operations\.1: expected one of chat, generate, embeddings, models\.list, models\.show/,
  );
  assert.match(
    messages({ limits: [{ key: 'ip', requests: 1, per_seconds: 1 }], store: { type: 'redis' } }),
    /connection/,
  );
  assert.match(
    messages({ limits: [{ key: 'ip', requests: 1, per_seconds: 1 }], on_store_error: 'maybe' }),
    /on_store_error/,
  );
  assert.match(
    messages({
      limits: [
        { key: 'ip', requests: 1, per_seconds: 1 },
        { key: 'ip', requests: 1, per_seconds: 1 },
      ],
    }),
    /same name/,
  );
});

test('the header name is lower-cased (numbers from a $VAR reference: rate-limiter-config.test.ts)', () => {
  const result = parse({
    limits: [{ key: 'ip', requests: 5, tokens: 1000, per_seconds: 60 }],
    ip_header: 'X-Forwarded-For',
  });
  assert.ok(result.success, result.success ? '' : result.error.message);
  assert.deepEqual(
    [result.data.limits[0]?.requests, result.data.limits[0]?.tokens, result.data.limits[0]?.per_seconds],
    [5, 1000, 60],
  );
  assert.equal(result.data.ip_header, 'x-forwarded-for');
});

test('a limit’s name: its own, or derived from its definition (operations in any order)', () => {
  assert.equal(limitName({ name: 'burst', key: 'ip', requests: 1, per_seconds: 1 }), 'burst');
  assert.equal(
    limitName({ key: 'principal', requests: 10, tokens: 500, per_seconds: 60, operations: ['generate', 'chat'] }),
    limitName({ key: 'principal', requests: 10, tokens: 500, per_seconds: 60, operations: ['chat', 'generate'] }),
  );
  assert.equal(limitName({ key: 'global', requests: 10, per_seconds: 60 }), 'global-10r-60s');
});
