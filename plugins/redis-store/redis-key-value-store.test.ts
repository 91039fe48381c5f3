/**
 * RedisKeyValueStore against the real Redis at 127.0.0.1:6379: the KeyValueStore contract the
 * in-memory store passes, then what only a shared store promises — two clients see each other's
 * values and counters, atomically — how it stores things in Redis, and how it fails: a Redis
 * that is down, or a key written by another program, gives STORE_FAILED naming the connection,
 * never the password. Every test works under a key prefix of its own run and deletes its keys.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { isPlugboardError, type KeyValueStore } from '../../src/index.ts';
import { testKeyValueStoreContract } from '../../src/testing/index.ts';
import { closedPort } from '../../test/support/closed-port.ts';
import { RedisKeyValueStore } from './redis-key-value-store.ts';

const REDIS_URL = 'redis://127.0.0.1:6379/0';
/** The client prefix of this run: every key the file writes starts with it. */
const RUN_PREFIX = `plugboard-test-redis-store-${randomUUID()}:`;

/** A client like the connections service makes: its own key prefix, few retries. */
const client = (): Redis => new Redis(REDIS_URL, { keyPrefix: RUN_PREFIX, maxRetriesPerRequest: 1 });
/** No key prefix: sees the full keys, to inspect and clean up (KEYS patterns are not prefixed). */
const raw = new Redis(REDIS_URL);
const shared = client();

after(async () => {
  const keys = await raw.keys(`${RUN_PREFIX}*`);
  if (keys.length > 0) await raw.del(...keys);
  raw.disconnect();
  shared.disconnect();
});

testKeyValueStoreContract({
  name: 'redis',
  create: () => new RedisKeyValueStore({ client: shared, connection: 'test' }),
  dispose: (store) => (store as RedisKeyValueStore).close(),
});

/** Asserts that `action` rejects with a PlugboardError of `code` whose message matches `mentions`. */
async function rejectsWith(action: Promise<unknown>, code: string, mentions: RegExp): Promise<string> {
  let message = '';
  await assert.rejects(action, (error: unknown) => {
    assert.ok(isPlugboardError(error, code), `expected ${code}, got ${String(error)}`);
    assert.match(error.message, mentions);
    message = error.message;
    return true;
  });
  return message;
}

describe('two stores on separate clients of the same Redis (two instances)', () => {
  const [clientA, clientB] = [client(), client()];
  const scope = `shared-${randomUUID()}:`;
  const a = new RedisKeyValueStore({ client: clientA, connection: 'a', keyPrefix: scope });
  const b = new RedisKeyValueStore({ client: clientB, connection: 'b', keyPrefix: scope });

  after(() => {
    clientA.disconnect();
    clientB.disconnect();
  });

  test("each sees the other's values, deletions and ttls", async () => {
    await a.set('doc', { text: 'from a', n: [1, 2] }, { ttlMs: 10_000 });
    assert.deepEqual(await b.get('doc'), { text: 'from a', n: [1, 2] });
    const ttl = await b.ttl('doc');
    assert.ok(ttl !== undefined && ttl > 9_000 && ttl <= 10_000, `ttl seen by b: ${ttl}`);
    await b.set('doc', 'from b');
    assert.equal(await a.get('doc'), 'from b');
    assert.equal(await a.ttl('doc'), undefined, "b's set without ttl cleared it for a too");
    assert.equal(await b.delete('doc'), true);
    assert.equal(await a.get('doc'), undefined);
  });

  test('their counters count together, exactly, under concurrency', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, index) => (index % 2 === 0 ? a : b).increment('hits', 1, { ttlMs: 60_000 })),
    );
    assert.deepEqual(
      [...results].sort((x, y) => x - y),
      Array.from({ length: 100 }, (_, index) => index + 1),
      'each increment saw its own value',
    );
    assert.equal(await a.get('hits'), 100);
    assert.equal(await b.get('hits'), 100);
    const ttl = await b.ttl('hits');
    assert.ok(ttl !== undefined && ttl > 50_000 && ttl <= 60_000, `one window, set by the first increment: ${ttl}`);
  });

  test('setIfAbsent across both: exactly one wins', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) => (index % 2 === 0 ? a : b).setIfAbsent('lock', `writer-${index}`)),
    );
    assert.equal(results.filter(Boolean).length, 1);
    assert.equal(await b.get('lock'), `writer-${results.indexOf(true)}`);
  });

  test('a window opened by one expires for both', async () => {
    assert.equal(await a.increment('window', 1, { ttlMs: 150 }), 1);
    assert.equal(await b.increment('window', 1, { ttlMs: 60_000 }), 2, 'the window is not extended by b');
    await sleep(300);
    assert.equal(await b.get('window'), undefined);
    assert.equal(await a.increment('window'), 1);
  });
});

describe('RedisKeyValueStore in Redis', () => {
  let store: RedisKeyValueStore;
  let prefix: string;

  before(() => {
    prefix = `own-${randomUUID()}:`;
    store = new RedisKeyValueStore({ client: shared, connection: 'test', keyPrefix: prefix });
  });

  after(() => store.close());

  test('keys are the client prefix, the store prefix, the view prefixes and the key; values are JSON text', async () => {
    await store.withPrefix('cache:').set('answer', { text: 'hi', tokens: 2 }, { ttlMs: 60_000 });
    await store.increment('hits', 5);
    const fullKey = `${RUN_PREFIX}${prefix}cache:answer`;
    assert.equal(await raw.get(fullKey), '{"text":"hi","tokens":2}');
    const pttl = await raw.pttl(fullKey);
    assert.ok(pttl > 50_000 && pttl <= 60_000, `a Redis expiry: ${pttl}`);
    assert.equal(await raw.get(`${RUN_PREFIX}${prefix}hits`), '5', 'a counter is a plain Redis integer');
    assert.equal(await raw.pttl(`${RUN_PREFIX}${prefix}hits`), -1);
  });

  test('values read back are frozen, as the in-memory store hands them out', async () => {
    await store.set('doc', { list: [1, { deep: true }] });
    const doc = (await store.get('doc')) as { list: [number, { deep: boolean }] };
    assert.ok(Object.isFrozen(doc) && Object.isFrozen(doc.list) && Object.isFrozen(doc.list[1]));
  });

  test('a counter past the safe integer range is refused, and keeps its value', async () => {
    await store.set('big', Number.MAX_SAFE_INTEGER);
    await rejectsWith(store.increment('big'), 'STORE_INVALID_ARGUMENT', /safe integer/);
    assert.equal(await store.get('big'), Number.MAX_SAFE_INTEGER);
    await store.set('low', Number.MIN_SAFE_INTEGER + 1);
    await rejectsWith(store.increment('low', -2), 'STORE_INVALID_ARGUMENT', /safe integer/);
    assert.equal(await store.increment('low', -1), Number.MIN_SAFE_INTEGER);
    await store.set('huge', 2 ** 60);
    await rejectsWith(store.increment('huge'), 'STORE_INVALID_ARGUMENT', /not a whole number/);
  });

  test('what another program wrote: not JSON is STORE_FAILED; a number Redis cannot increment is refused', async () => {
    await raw.set(`${RUN_PREFIX}${prefix}foreign`, 'not json at all');
    await rejectsWith(
      store.get('foreign'),
      'STORE_FAILED',
      /connection "test": key ".*:foreign" holds something that is not JSON/,
    );
    await rejectsWith(store.increment('foreign'), 'STORE_FAILED', /not JSON/);
    await raw.set(`${RUN_PREFIX}${prefix}odd`, '1.0');
    await rejectsWith(store.increment('odd'), 'STORE_INVALID_ARGUMENT', /cannot increment/);
    assert.equal(await raw.get(`${RUN_PREFIX}${prefix}odd`), '1.0', 'left as it was');
    await raw.hset(`${RUN_PREFIX}${prefix}hash`, 'field', 'value');
    await rejectsWith(store.get('hash'), 'STORE_FAILED', /connection "test": get of key .*WRONGTYPE/);
  });

  test('ping answers with the round trip', async () => {
    const latency = await store.ping();
    assert.ok(latency >= 0 && latency < 1_000, `${latency} ms`);
  });
});

describe('a Redis that is down', () => {
  const password = 'hunter2-very-secret';
  let down: Redis;
  let store: RedisKeyValueStore;

  before(async () => {
    // No retries: the client gives up after the first refused connection, as a long outage would.
    down = new Redis(`redis://:${password}@127.0.0.1:${await closedPort()}/0`, {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    store = new RedisKeyValueStore({ client: down, connection: 'cache', keyPrefix: 'kv:' });
    // Let the connection attempt fail, so the store has seen the client's error.
    await new Promise((resolve) => down.once('end', resolve));
  });

  after(() => {
    store.close();
    down.disconnect();
  });

  test('every operation rejects with STORE_FAILED naming the connection and why, never the password', async () => {
    const view: KeyValueStore = store.withPrefix('view:');
    const calls: [string, () => Promise<unknown>][] = [
      ['get', () => view.get('k')],
      ['set', () => view.set('k', 1, { ttlMs: 1_000 })],
      ['setIfAbsent', () => view.setIfAbsent('k', 1)],
      ['delete', () => view.delete('k')],
      ['increment', () => view.increment('k', 1, { ttlMs: 1_000 })],
      ['ttl', () => view.ttl('k')],
      ['ping', () => store.ping()],
    ];
    for (const [operation, call] of calls) {
      const message = await rejectsWith(
        call(),
        'STORE_FAILED',
        new RegExp(`^Redis connection "cache": ${operation}.* failed: .*ECONNREFUSED`),
      );
      assert.ok(!message.includes(password), `${operation}: no password in "${message}"`);
    }
  });

  test('a client error quoting the password (or a URL with it) is scrubbed before it reaches a message', async () => {
    down.emit('error', new Error(`AUTH ${password} refused by redis://:${encodeURIComponent(password)}@10.0.0.1:6379`));
    const message = await rejectsWith(store.get('k'), 'STORE_FAILED', /the connection is end: AUTH \*\*\* refused/);
    assert.ok(!message.includes(password) && !message.includes(encodeURIComponent(password)), message);
  });

  test('the key in the message is the full one; arguments are still checked first', async () => {
    await rejectsWith(store.withPrefix('view:').get('k'), 'STORE_FAILED', /of key "kv:view:k" failed/);
    await rejectsWith(store.get(''), 'STORE_INVALID_ARGUMENT', /key/);
    await rejectsWith(store.increment('k', 1.5), 'STORE_INVALID_ARGUMENT', /delta/);
  });
});
