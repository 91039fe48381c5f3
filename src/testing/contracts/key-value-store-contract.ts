import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isPlugboardError } from '../../core/errors/plugboard-error.ts';
import type { JsonValue } from '../../core/stores/json.ts';
import { type KeyValueStore, MAX_KEY_LENGTH } from '../../core/stores/key-value-store.ts';
import { expectInvalid } from './expect-store-error.ts';

/**
 * What {@link testKeyValueStoreContract} needs: how to make a store and how to let it go.
 *
 * @example
 * ```ts
 * testKeyValueStoreContract({ name: 'redis', create: () => new RedisKeyValueStore(redis), dispose: (s) => s.close() });
 * ```
 */
export interface KeyValueStoreContractOptions {
  /** Shown in the suite's name. */
  readonly name: string;
  /** A store for one test. It may share a server with other runs: tests use random prefixes. */
  readonly create: () => KeyValueStore | Promise<KeyValueStore>;
  /** Called after each test, e.g. to close a connection. */
  readonly dispose?: (store: KeyValueStore) => void | Promise<void>;
}

/** One test's corner of the store: a view under a random prefix, and the keys to remove after. */
interface Keyspace {
  readonly kv: KeyValueStore;
  /** Returns `name`, remembering `viewPrefix + name` (its key in `kv`) for clean-up. */
  key(name: string, viewPrefix?: string): string;
}

const SHORT_TTL = 200;
const PAST_SHORT_TTL = 450;
const LONG_TTL = 10_000;

/**
 * Registers the contract every {@link KeyValueStore} must pass, as `node:test` tests: JSON
 * round trips, expiry, counters, atomicity under concurrency, prefixes and argument checks.
 * Safe against a shared server: each test works under a random prefix and deletes its keys.
 * Takes about a second.
 *
 * @example
 * ```ts
 * // test/redis-key-value-store.test.ts
 * import { testKeyValueStoreContract } from 'plugboard/testing';
 * testKeyValueStoreContract({ name: 'redis', create: () => new RedisKeyValueStore(client) });
 * ```
 */
export function testKeyValueStoreContract(options: KeyValueStoreContractOptions): void {
  const storeTest = (title: string, body: (space: Keyspace) => Promise<void>) =>
    it(title, () => inKeyspace(options, body));

  describe(`KeyValueStore contract: ${options.name}`, () => {
    describe('values', () => {
      storeTest('get of a missing key is undefined', async ({ kv, key }) => {
        assert.equal(await kv.get(key('never-written')), undefined);
      });

      storeTest('round-trips JSON scalars, keeping "" and null apart from missing', async ({ kv, key }) => {
        const scalars = { empty: '', text: 'hello', null: null, yes: true, no: false };
        for (const [name, value] of Object.entries(scalars)) {
          await kv.set(key(name), value);
          assert.equal(await kv.get(name), value, `${name} round-trips`);
        }
      });

      storeTest('round-trips nested objects and arrays', async ({ kv, key }) => {
        const value = {
          user: { id: 'u1', roles: ['admin', 'editor'], profile: { age: 42, verified: true, nickname: null } },
          history: [[1, 2], [], [{ deep: { deeper: ['x'] } }]],
          empty: {},
          'dotted.key': 'ok',
          '': 'empty key',
        };
        await kv.set(key('doc'), value);
        assert.deepEqual(await kv.get('doc'), value);
        await kv.set(key('list'), [1, 'two', null, false, { three: 3 }]);
        assert.deepEqual(await kv.get('list'), [1, 'two', null, false, { three: 3 }]);
        await kv.set(key('empty-list'), []);
        assert.deepEqual(await kv.get('empty-list'), []);
      });

      storeTest('round-trips unicode strings and keys', async ({ kv, key }) => {
        const text = 'ü 日本語 🎉👩‍💻 e\u0301 עברית "quoted" back\\slash\nnew line\ttab';
        await kv.set(key('ключ:日本:🎉 with spaces'), { text });
        assert.deepEqual(await kv.get('ключ:日本:🎉 with spaces'), { text });
      });

      storeTest('round-trips big, negative and fractional numbers', async ({ kv, key }) => {
        const numbers = [0, -1, 42, 123.456, -0.5, 1e-7, 1e300, -1e300, 0.1 + 0.2, Number.MAX_SAFE_INTEGER];
        const extremes = [Number.MIN_SAFE_INTEGER, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 60];
        for (const [index, value] of [...numbers, ...extremes].entries()) {
          await kv.set(key(`n${index}`), value);
          assert.equal(await kv.get(`n${index}`), value, `${value} round-trips`);
        }
        await kv.set(key('all'), { numbers, extremes });
        assert.deepEqual(await kv.get('all'), { numbers, extremes });
      });

      storeTest('stores a copy: changing the value given or returned changes nothing stored', async ({ kv, key }) => {
        const original = { list: [1, 2], nested: { word: 'kept' } };
        await kv.set(key('copy'), original);
        original.list.push(3);
        original.nested.word = 'changed';
        const read = (await kv.get('copy')) as { list: number[] };
        try {
          read.list.push(99);
        } catch {
          // a frozen value is a fine way to keep the stored one safe
        }
        assert.deepEqual(await kv.get('copy'), { list: [1, 2], nested: { word: 'kept' } });
      });

      storeTest('set overwrites', async ({ kv, key }) => {
        await kv.set(key('k'), 'first');
        await kv.set('k', { second: true });
        assert.deepEqual(await kv.get('k'), { second: true });
      });

      storeTest('delete removes a key and says whether it was there', async ({ kv, key }) => {
        await kv.set(key('k'), 1);
        assert.equal(await kv.delete('k'), true);
        assert.equal(await kv.get('k'), undefined);
        assert.equal(await kv.delete('k'), false);
      });

      storeTest('setIfAbsent stores only when the key is absent', async ({ kv, key }) => {
        assert.equal(await kv.setIfAbsent(key('k'), 'first'), true);
        assert.equal(await kv.setIfAbsent('k', 'second'), false);
        assert.equal(await kv.get('k'), 'first');
        await kv.delete('k');
        assert.equal(await kv.setIfAbsent('k', 'third'), true);
        assert.equal(await kv.get('k'), 'third');
      });
    });

    // Concurrent, so the waits for expiry overlap instead of adding up.
    describe('expiry', { concurrency: true }, () => {
      storeTest('an entry expires after its ttl', async ({ kv, key }) => {
        await kv.set(key('short'), 'soon gone', { ttlMs: SHORT_TTL });
        await kv.set(key('forever'), 'stays');
        assert.equal(await kv.get('short'), 'soon gone');
        await sleep(PAST_SHORT_TTL);
        assert.equal(await kv.get('short'), undefined);
        assert.equal(await kv.ttl('short'), undefined);
        assert.equal(await kv.delete('short'), false, 'an expired key is gone for delete too');
        assert.equal(await kv.get('forever'), 'stays');
      });

      storeTest('ttl() reports the remaining time, close to the ttl set', async ({ kv, key }) => {
        await kv.set(key('k'), 1, { ttlMs: LONG_TTL });
        assertBetween(await kv.ttl('k'), LONG_TTL - 1000, LONG_TTL, 'ttl right after set');
        await kv.set(key('short'), 1, { ttlMs: SHORT_TTL });
        await sleep(50);
        assertBetween(await kv.ttl('short'), 1, SHORT_TTL - 40, 'ttl counts down');
      });

      storeTest('ttl() is undefined for a missing key and for a key without ttl', async ({ kv, key }) => {
        assert.equal(await kv.ttl(key('missing')), undefined);
        await kv.set(key('plain'), 1);
        assert.equal(await kv.ttl('plain'), undefined);
      });

      storeTest('set without ttl clears an earlier ttl', async ({ kv, key }) => {
        await kv.set(key('k'), 'first', { ttlMs: SHORT_TTL });
        await kv.set('k', 'second');
        assert.equal(await kv.ttl('k'), undefined);
        await sleep(PAST_SHORT_TTL);
        assert.equal(await kv.get('k'), 'second');
      });

      storeTest('set with a ttl replaces an earlier ttl', async ({ kv, key }) => {
        await kv.set(key('k'), 'first', { ttlMs: LONG_TTL });
        await kv.set('k', 'second', { ttlMs: SHORT_TTL });
        assertBetween(await kv.ttl('k'), 1, SHORT_TTL, 'the new ttl');
        await sleep(PAST_SHORT_TTL);
        assert.equal(await kv.get('k'), undefined);
      });

      storeTest('setIfAbsent treats an expired key as absent and applies its ttl', async ({ kv, key }) => {
        assert.equal(await kv.setIfAbsent(key('lock'), 'a', { ttlMs: SHORT_TTL }), true);
        assertBetween(await kv.ttl('lock'), 1, SHORT_TTL, 'the lock ttl');
        assert.equal(await kv.setIfAbsent('lock', 'b', { ttlMs: SHORT_TTL }), false);
        await sleep(PAST_SHORT_TTL);
        assert.equal(await kv.setIfAbsent('lock', 'c'), true);
        assert.equal(await kv.get('lock'), 'c');
        assert.equal(await kv.ttl('lock'), undefined);
      });

      storeTest('increment applies ttl only when it creates the key (fixed window)', async ({ kv, key }) => {
        assert.equal(await kv.increment(key('window'), 1, { ttlMs: SHORT_TTL }), 1);
        assertBetween(await kv.ttl('window'), 1, SHORT_TTL, 'the window ttl');
        await sleep(30);
        assert.equal(await kv.increment('window', 1, { ttlMs: LONG_TTL }), 2);
        assertBetween(await kv.ttl('window'), 1, SHORT_TTL, 'the window is not extended');
        await sleep(PAST_SHORT_TTL);
        assert.equal(await kv.get('window'), undefined);
        assert.equal(await kv.increment('window'), 1, 'a new window starts from 0');
        assert.equal(await kv.ttl('window'), undefined);
      });

      storeTest('increment keeps the ttl of an existing key', async ({ kv, key }) => {
        await kv.set(key('long'), 5, { ttlMs: LONG_TTL });
        assert.equal(await kv.increment('long'), 6);
        assertBetween(await kv.ttl('long'), LONG_TTL - 1000, LONG_TTL, 'ttl after increment');
        await kv.set(key('short'), 5, { ttlMs: SHORT_TTL });
        assert.equal(await kv.increment('short', 2), 7);
        await sleep(PAST_SHORT_TTL);
        assert.equal(await kv.get('short'), undefined);
      });
    });

    describe('counters', () => {
      storeTest('increment counts from 0 by 1, or by a given delta, negative included', async ({ kv, key }) => {
        assert.equal(await kv.increment(key('c')), 1);
        assert.equal(await kv.increment('c'), 2);
        assert.equal(await kv.increment('c', 10), 12);
        assert.equal(await kv.increment('c', -15), -3);
        assert.equal(await kv.increment('c', 0), -3);
        assert.equal(await kv.increment(key('negative'), -4), -4);
      });

      storeTest('a counter is a JSON number: get returns it and set can seed it', async ({ kv, key }) => {
        await kv.increment(key('c'), 5);
        assert.equal(await kv.get('c'), 5);
        await kv.set(key('seeded'), 40);
        assert.equal(await kv.increment('seeded', 2), 42);
        assert.equal(await kv.get('seeded'), 42);
      });

      storeTest('increment of a non-integer value is STORE_INVALID_ARGUMENT and leaves it', async ({ kv, key }) => {
        for (const [name, value] of [
          ['text', 'abc'],
          ['numeric-text', '5'],
          ['float', 1.5],
          ['object', { n: 1 }],
        ] as const) {
          await kv.set(key(name), value);
          await expectInvalid(() => kv.increment(name), /whole number|integer/);
          assert.deepEqual(await kv.get(name), value, `${name} is unchanged`);
        }
      });

      storeTest('100 concurrent increments count exactly 100', async ({ kv, key }) => {
        const results = await Promise.all(Array.from({ length: 100 }, () => kv.increment(key('hits'))));
        assert.equal(await kv.get('hits'), 100);
        const expected = Array.from({ length: 100 }, (_, index) => index + 1);
        assert.deepEqual(
          [...results].sort((a, b) => a - b),
          expected,
          'each call saw its own value',
        );
      });

      storeTest('20 concurrent setIfAbsent calls: exactly one stores', async ({ kv, key }) => {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, index) => kv.setIfAbsent(key('lock'), `writer-${index}`)),
        );
        assert.equal(results.filter(Boolean).length, 1, `one winner, got ${results.filter(Boolean).length}`);
        assert.equal(await kv.get('lock'), `writer-${results.indexOf(true)}`, 'the winner wrote the value');
      });
    });

    describe('prefixes', () => {
      storeTest('a prefixed view reads and writes prefixed keys of the same store', async ({ kv, key }) => {
        const tenant = kv.withPrefix('tenant:');
        await tenant.set(key('k', 'tenant:'), 'through the view');
        assert.equal(await kv.get('tenant:k'), 'through the view');
        await kv.set('tenant:k', 'through the parent');
        assert.equal(await tenant.get('k'), 'through the parent');
        assert.equal(await tenant.get('tenant:k'), undefined);
      });

      storeTest('prefixed views with different prefixes are isolated', async ({ kv, key }) => {
        const [a, b] = [kv.withPrefix('a:'), kv.withPrefix('b:')];
        await a.set(key('k', 'a:'), 'from a');
        assert.equal(await b.get('k'), undefined);
        assert.equal(await b.delete('k'), false);
        assert.equal(await b.setIfAbsent(key('k', 'b:'), 'from b'), true);
        assert.equal(await a.increment(key('n', 'a:')), 1);
        assert.equal(await b.increment(key('n', 'b:')), 1);
        assert.equal(await a.get('k'), 'from a');
        assert.equal(await b.get('k'), 'from b');
      });

      storeTest('prefixes compose', async ({ kv, key }) => {
        await kv.withPrefix('a:').withPrefix('b:').set(key('k', 'a:b:'), 'nested');
        assert.equal(await kv.withPrefix('a:b:').get('k'), 'nested');
        assert.equal(await kv.get('a:b:k'), 'nested');
        assert.equal(await kv.withPrefix('a:').get('b:k'), 'nested');
      });

      storeTest('every operation goes through the prefix', async ({ kv, key }) => {
        const view = kv.withPrefix('v:');
        assert.equal(await view.increment(key('n', 'v:'), 3, { ttlMs: LONG_TTL }), 3);
        assert.equal(await kv.get('v:n'), 3);
        assertBetween(await kv.ttl('v:n'), LONG_TTL - 1000, LONG_TTL, 'ttl seen from the parent');
        assertBetween(await view.ttl('n'), LONG_TTL - 1000, LONG_TTL, 'ttl seen from the view');
        assert.equal(await view.setIfAbsent(key('lock', 'v:'), 1), true);
        assert.equal(await kv.setIfAbsent('v:lock', 2), false);
        assert.equal(await view.delete('n'), true);
        assert.equal(await kv.get('v:n'), undefined);
      });
    });

    describe('argument validation', () => {
      storeTest('every method refuses a bad key', async ({ kv }) => {
        const badKeys: unknown[] = ['', 'x'.repeat(MAX_KEY_LENGTH + 1), 42, undefined, null];
        for (const bad of badKeys) {
          const badKey = bad as string;
          const calls: [string, () => Promise<unknown>][] = [
            ['get', () => kv.get(badKey)],
            ['set', () => kv.set(badKey, 1)],
            ['setIfAbsent', () => kv.setIfAbsent(badKey, 1)],
            ['delete', () => kv.delete(badKey)],
            ['increment', () => kv.increment(badKey)],
            ['ttl', () => kv.ttl(badKey)],
          ];
          for (const [method, call] of calls) {
            await expectInvalid(call, /key/, `${method}(${String(bad).slice(0, 20)})`);
          }
        }
      });

      storeTest(`a key of ${MAX_KEY_LENGTH} characters is fine`, async ({ kv, key }) => {
        const longest = key('k'.repeat(MAX_KEY_LENGTH));
        await kv.set(longest, 'long');
        assert.equal(await kv.get(longest), 'long');
      });

      storeTest('set and setIfAbsent refuse values that are not JSON, storing nothing', async ({ kv, key }) => {
        const cycle: Record<string, unknown> = {};
        cycle.self = cycle;
        const sparse: number[] = [1];
        sparse[2] = 3;
        const bad: [string, unknown][] = [
          ['undefined', undefined],
          ['a function', () => 1],
          ['NaN', Number.NaN],
          ['Infinity', Number.POSITIVE_INFINITY],
          ['a Date', new Date()],
          ['a Map', new Map([['a', 1]])],
          ['a bigint', 10n],
          ['a symbol', Symbol('s')],
          ['an undefined property', { a: undefined }],
          ['an undefined item', [1, undefined]],
          ['a NaN deep inside', { a: [{ b: Number.NaN }] }],
          ['a cycle', cycle],
          ['a sparse array', sparse],
          ['a class instance', new (class Point {})()],
        ];
        for (const [what, value] of bad) {
          await expectInvalid(() => kv.set(key('k'), value as JsonValue), /value/, what);
          await expectInvalid(() => kv.setIfAbsent('k', value as JsonValue), /value/, what);
          assert.equal(await kv.get('k'), undefined, `nothing stored for ${what}`);
        }
      });

      storeTest('a bad ttlMs is refused', async ({ kv, key }) => {
        for (const ttlMs of [0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '100', null]) {
          const options = { ttlMs: ttlMs as number };
          const what = `ttlMs ${String(ttlMs)}`;
          await expectInvalid(() => kv.set(key('k'), 1, options), /ttlMs/, what);
          await expectInvalid(() => kv.setIfAbsent('k', 1, options), /ttlMs/, what);
          await expectInvalid(() => kv.increment('k', 1, options), /ttlMs/, what);
          assert.equal(await kv.get('k'), undefined, `nothing stored for ${what}`);
        }
      });

      storeTest('increment refuses a delta that is not a whole number', async ({ kv, key }) => {
        for (const delta of [1.5, Number.NaN, Number.POSITIVE_INFINITY, '1', 2 ** 53]) {
          await expectInvalid(() => kv.increment(key('c'), delta as number), /delta/);
        }
        assert.equal(await kv.get('c'), undefined);
      });

      storeTest('withPrefix refuses an empty or non-string prefix', async ({ kv }) => {
        for (const prefix of ['', 42, undefined]) {
          assert.throws(
            () => kv.withPrefix(prefix as string),
            (error: unknown) => isPlugboardError(error, 'STORE_INVALID_ARGUMENT') && /prefix/.test(error.message),
            `withPrefix(${String(prefix)}) throws at once`,
          );
        }
      });
    });
  });
}

/** Runs `body` in a fresh keyspace and removes what it wrote, whatever happened. */
async function inKeyspace(options: KeyValueStoreContractOptions, body: (space: Keyspace) => Promise<void>) {
  const store = await options.create();
  const written = new Set<string>();
  try {
    const kv = store.withPrefix(`plugboard-contract:${randomUUID()}:`);
    try {
      const key = (name: string, viewPrefix = ''): string => {
        written.add(viewPrefix + name);
        return name;
      };
      await body({ kv, key });
    } finally {
      for (const name of written) await kv.delete(name);
    }
  } finally {
    await options.dispose?.(store);
  }
}

function assertBetween(actual: number | undefined, low: number, high: number, what: string): void {
  assert.ok(actual !== undefined && actual >= low && actual <= high, `${what}: ${actual} not in [${low}, ${high}]`);
}
