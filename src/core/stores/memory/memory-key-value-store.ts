import { LRUCache } from 'lru-cache';
import { PlugboardError } from '../../errors/plugboard-error.ts';
import { describeValue, frozenJsonCopy, type JsonValue } from '../json.ts';
import {
  assertCounterDelta,
  assertKeyPrefix,
  assertStoreKey,
  type KeyValueSetOptions,
  type KeyValueStore,
  nextCounterValue,
  ttlFromOptions,
} from '../key-value-store.ts';

/**
 * Options of {@link MemoryKeyValueStore}.
 *
 * @example
 * ```ts
 * new MemoryKeyValueStore({ maxEntries: 10_000 });
 * ```
 */
export interface MemoryKeyValueStoreOptions {
  /**
   * How many entries the store holds before it evicts the least recently used one
   * (default {@link DEFAULT_MAX_ENTRIES}). Why a bound at all: an in-memory store lives in
   * the server's heap, and a cache or rate limiter keyed by user input must not grow without
   * limit. Evicting a rate-limit counter only resets that one window.
   */
  readonly maxEntries?: number;
}

/**
 * Generous for one process (counters and cached replies are small), while the LRU's
 * bookkeeping arrays, allocated up front, stay around a few megabytes.
 */
export const DEFAULT_MAX_ENTRIES = 100_000;

/** lru-cache refuses `null` as a value; JSON `null` is a legal value, so entries are boxed. */
interface Entry {
  readonly value: JsonValue;
}

type EntryCache = LRUCache<string, Entry>;

/**
 * The logic of every view: the shared cache plus this view's prefix. JavaScript is single
 * threaded and no method awaits between its read and its write, so `increment` and
 * `setIfAbsent` are atomic without locks.
 */
class PrefixedCacheView implements KeyValueStore {
  protected readonly cache: EntryCache;
  private readonly prefix: string;

  constructor(cache: EntryCache, prefix: string) {
    this.cache = cache;
    this.prefix = prefix;
  }

  async get<T extends JsonValue = JsonValue>(key: string): Promise<T | undefined> {
    assertStoreKey(key);
    // Values are frozen copies, so handing out the stored one is safe.
    return this.cache.get(this.prefix + key)?.value as T | undefined;
  }

  async set(key: string, value: JsonValue, options?: KeyValueSetOptions): Promise<void> {
    assertStoreKey(key);
    const ttlMs = ttlFromOptions(options);
    const entry = { value: frozenJsonCopy(value, 'value') };
    // ttl 0 means "no expiry" to lru-cache: it clears a ttl the key had before.
    this.cache.set(this.prefix + key, entry, { ttl: ttlMs ?? 0 });
  }

  async setIfAbsent(key: string, value: JsonValue, options?: KeyValueSetOptions): Promise<boolean> {
    assertStoreKey(key);
    const ttlMs = ttlFromOptions(options);
    const entry = { value: frozenJsonCopy(value, 'value') };
    const fullKey = this.prefix + key;
    if (this.cache.has(fullKey)) return false; // `has` is false for an expired entry
    this.cache.set(fullKey, entry, { ttl: ttlMs ?? 0 });
    return true;
  }

  async delete(key: string): Promise<boolean> {
    assertStoreKey(key);
    const fullKey = this.prefix + key;
    const present = this.cache.has(fullKey);
    this.cache.delete(fullKey);
    return present;
  }

  async increment(key: string, delta = 1, options?: KeyValueSetOptions): Promise<number> {
    assertStoreKey(key);
    assertCounterDelta(delta);
    const ttlMs = ttlFromOptions(options);
    const fullKey = this.prefix + key;
    const current = this.cache.get(fullKey);
    const next = nextCounterValue(key, current?.value, delta);
    if (current === undefined) {
      this.cache.set(fullKey, { value: next }, { ttl: ttlMs ?? 0 });
    } else {
      // noUpdateTTL keeps the window the key was created with.
      this.cache.set(fullKey, { value: next }, { noUpdateTTL: true });
    }
    return next;
  }

  async ttl(key: string): Promise<number | undefined> {
    assertStoreKey(key);
    const fullKey = this.prefix + key;
    if (!this.cache.has(fullKey)) return undefined;
    const remaining = this.cache.getRemainingTTL(fullKey);
    return Number.isFinite(remaining) ? Math.max(0, Math.ceil(remaining)) : undefined;
  }

  withPrefix(prefix: string): KeyValueStore {
    assertKeyPrefix(prefix);
    return new PrefixedCacheView(this.cache, this.prefix + prefix);
  }
}

/**
 * The in-memory {@link KeyValueStore}: the default when no plugin provides one. Private to
 * the process (not shared between server instances) and bounded: see
 * {@link MemoryKeyValueStoreOptions.maxEntries}. Expiry uses a monotonic clock; an expired
 * entry is never returned and is dropped when next touched or evicted.
 *
 * @example
 * ```ts
 * const store = new MemoryKeyValueStore();
 * await store.set('greeting', { text: 'hello' }, { ttlMs: 5_000 });
 * await store.get('greeting'); // { text: 'hello' }, frozen
 * ```
 */
export class MemoryKeyValueStore extends PrefixedCacheView {
  constructor(options: MemoryKeyValueStoreOptions = {}) {
    const max = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new PlugboardError(
        'STORE_INVALID_ARGUMENT',
        `maxEntries must be a positive whole number, got ${describeValue(max)}`,
      );
    }
    super(new LRUCache<string, Entry>({ max }), '');
  }

  /** How many entries the store holds, including expired ones not yet dropped. */
  get size(): number {
    return this.cache.size;
  }

  /** Drops every entry (of every prefix view). */
  async close(): Promise<void> {
    this.cache.clear();
  }
}
