import { PlugboardError } from '../errors/plugboard-error.ts';
import { createServiceRef } from '../services/service-ref.ts';
import { describeValue, isPlainObject, type JsonValue } from './json.ts';
import { MemoryKeyValueStore } from './memory/memory-key-value-store.ts';

/**
 * Options of a write.
 *
 * @example
 * ```ts
 * await store.set('answer:42', reply, { ttlMs: 60_000 });
 * ```
 */
export interface KeyValueSetOptions {
  /** Time to live in milliseconds (a positive whole number); without it the entry never expires. */
  readonly ttlMs?: number;
}

/**
 * A shared key-value store of JSON values with expiry and atomic counters: what a rate
 * limiter, a response cache or a session holder needs. Implementations: in memory (the
 * default), later Redis; each must pass `testKeyValueStoreContract` from `plugboard/testing`.
 *
 * Keys are non-empty strings of at most {@link MAX_KEY_LENGTH} characters. Every method
 * rejects a bad argument with `STORE_INVALID_ARGUMENT` and a backend failure with `STORE_FAILED`.
 *
 * @example
 * ```ts
 * const store = call.services.get(keyValueStoreRef).withPrefix('rate-limit:');
 * const used = await store.increment(`${user}:${minute}`, 1, { ttlMs: 60_000 });
 * if (used > 20) return reject('Too many requests', { status: 429 });
 * ```
 */
export interface KeyValueStore {
  /** The value under `key`, or `undefined` when absent or expired. */
  get<T extends JsonValue = JsonValue>(key: string): Promise<T | undefined>;
  /** Stores `value`. Without `ttlMs` the entry never expires, even if it had a ttl before. */
  set(key: string, value: JsonValue, options?: KeyValueSetOptions): Promise<void>;
  /** Stores `value` only when `key` is absent (or expired), atomically; `true` when it stored. */
  setIfAbsent(key: string, value: JsonValue, options?: KeyValueSetOptions): Promise<boolean>;
  /** Removes `key`; `true` when it was there. */
  delete(key: string): Promise<boolean>;
  /**
   * Atomically adds `delta` (a whole number, default 1, may be negative) to an integer
   * counter and returns the new value; a missing key counts as 0. `ttlMs` applies only when
   * this call creates the key (fixed windows); an existing key keeps its ttl. The counter
   * is a JSON number, so `get` returns a number.
   * @throws PlugboardError `STORE_INVALID_ARGUMENT` when the key holds anything but a whole number.
   */
  increment(key: string, delta?: number, options?: KeyValueSetOptions): Promise<number>;
  /** Remaining time to live in whole milliseconds; `undefined` when absent or without ttl. */
  ttl(key: string): Promise<number | undefined>;
  /**
   * A view of the same store whose keys are all prefixed: `withPrefix('a:').get('k')` reads
   * `a:k`. Prefixes compose: `withPrefix('a:').withPrefix('b:')` is `withPrefix('a:b:')`.
   * @throws PlugboardError `STORE_INVALID_ARGUMENT` (synchronously) for an empty or non-string prefix.
   */
  withPrefix(prefix: string): KeyValueStore;
}

/**
 * The key-value store service. Without a provider, consumers get a private
 * {@link MemoryKeyValueStore}.
 *
 * @example
 * ```ts
 * defineMiddleware({
 *   metadata: { name: 'rate-limit', version: '1.0.0', consumes: [keyValueStoreRef] },
 *   initialize(_config, call) { this.counters = call.services.get(keyValueStoreRef).withPrefix('rate:'); },
 *   …
 * });
 * ```
 */
export const keyValueStoreRef = createServiceRef<KeyValueStore>({
  id: 'plugboard.kv-store',
  description:
    'Key-value store of JSON values with expiry and atomic counters (in memory unless a plugin provides one)',
  members: ['get', 'set', 'setIfAbsent', 'delete', 'increment', 'ttl', 'withPrefix'],
  defaultFactory: () => new MemoryKeyValueStore(),
});

/** The longest key a caller may pass (a prefix from {@link KeyValueStore.withPrefix} does not count). */
export const MAX_KEY_LENGTH = 1024;

/**
 * Checks a key as every implementation must.
 *
 * @example
 * ```ts
 * async get(key: string) { assertStoreKey(key); … }
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` for a non-string, empty or too long key.
 */
export function assertStoreKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key === '') {
    throw invalid(`key must be a non-empty string, got ${describeValue(key)}`);
  }
  if (key.length > MAX_KEY_LENGTH) {
    throw invalid(`key must be at most ${MAX_KEY_LENGTH} characters, got ${key.length}: "${key.slice(0, 40)}…"`);
  }
}

/**
 * Checks a prefix given to {@link KeyValueStore.withPrefix}.
 *
 * @example
 * ```ts
 * withPrefix(prefix: string) { assertKeyPrefix(prefix); return new View(this.prefix + prefix); }
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` for a non-string, empty or too long prefix.
 */
export function assertKeyPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string' || prefix === '') {
    throw invalid(`prefix must be a non-empty string, got ${describeValue(prefix)}`);
  }
  if (prefix.length > MAX_KEY_LENGTH) {
    throw invalid(`prefix must be at most ${MAX_KEY_LENGTH} characters, got ${prefix.length}`);
  }
}

/**
 * Reads and checks the write options; the ttl in milliseconds, or `undefined` for none.
 *
 * @example
 * ```ts
 * const ttlMs = ttlFromOptions(options); // undefined, or a positive whole number
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` when `options` is not an object or `ttlMs`
 *   is not a positive whole number.
 */
export function ttlFromOptions(options: unknown): number | undefined {
  if (options === undefined) return undefined;
  if (!isPlainObject(options)) throw invalid(`options must be an object, got ${describeValue(options)}`);
  const unknownKeys = Object.keys(options).filter((name) => name !== 'ttlMs');
  if (unknownKeys.length > 0) throw invalid(`options has unknown keys ${unknownKeys.join(', ')} (only ttlMs)`);
  const ttlMs = options.ttlMs;
  if (ttlMs === undefined) return undefined;
  if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw invalid(`ttlMs must be a positive whole number of milliseconds, got ${describeValue(ttlMs)}`);
  }
  return ttlMs;
}

/**
 * Checks the `delta` of {@link KeyValueStore.increment}.
 *
 * @example
 * ```ts
 * async increment(key: string, delta = 1) { assertCounterDelta(delta); … }
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` unless `delta` is a safe integer.
 */
export function assertCounterDelta(delta: unknown): asserts delta is number {
  if (typeof delta !== 'number' || !Number.isSafeInteger(delta)) {
    throw invalid(`delta must be a whole number between -(2^53-1) and 2^53-1, got ${describeValue(delta)}`);
  }
}

/**
 * The counter value after adding `delta` to what `key` holds (`undefined`: absent).
 *
 * @example
 * ```ts
 * const next = nextCounterValue('hits', await read('hits'), 1); // 1 for an absent key
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` when the key holds anything but a whole
 *   number, or the sum leaves the safe integer range.
 */
export function nextCounterValue(key: string, current: JsonValue | undefined, delta: number): number {
  if (current === undefined) return delta;
  if (typeof current !== 'number' || !Number.isSafeInteger(current)) {
    throw invalid(`key "${key}" holds ${describeValue(current)}, not a whole number, so it cannot be incremented`);
  }
  const next = current + delta;
  if (!Number.isSafeInteger(next)) {
    throw invalid(`incrementing key "${key}" (${current}) by ${delta} leaves the safe integer range`);
  }
  return next;
}

function invalid(message: string): PlugboardError {
  return new PlugboardError('STORE_INVALID_ARGUMENT', message);
}
