import { LRUCache } from 'lru-cache';
import type { JsonObject, KeyValueStore } from '../../src/index.ts';
import type { StoreKind } from './config.ts';
import { type CachedReply, entryBytes, parseEntry } from './entry.ts';

/** An entry and its size (its JSON's UTF-8 length): what the memory store holds, and what a lookup finds. */
export interface Found {
  readonly entry: CachedReply;
  readonly bytes: number;
}

/** How many entries and bytes a store holds, when it can tell (the memory store). */
export interface StoreStats {
  readonly entries: number;
  readonly bytes: number;
}

/**
 * Where the cache keeps its entries. The memory store answers synchronously (a hit costs no
 * promise); the shared one asynchronously, and may fail: the caller treats a failure as a miss.
 */
export interface EntryStore {
  readonly kind: StoreKind;
  /** The entry under `key`, or `undefined` (absent, expired, or not an entry this version reads). */
  get(key: string): Found | undefined | Promise<Found | undefined>;
  /** Stores an entry whose JSON (`json`) is `bytes` long, for `ttl_seconds`. */
  set(key: string, entry: CachedReply, json: JsonObject, bytes: number): void | Promise<void>;
  /** What the store holds now, when it knows (memory only: a shared store is not ours to count). */
  stats(): StoreStats | undefined;
}

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  readonly maxBytes: number;
  readonly ttlMs: number;
  /** The clock for expiry (tests); lru-cache's own (`performance.now`) by default. */
  readonly now?: () => number;
  /** Called after the store's contents changed (a set, an eviction, an expiry seen by a get). */
  readonly onChange?: (stats: StoreStats) => void;
}

/**
 * Entries in this process's memory: an LRU bounded by the total size of its entries
 * (`memory_max_bytes`), each kept for `ttl_seconds`. Lost on restart and on a config reload of
 * the plugin (a new instance starts empty).
 *
 * @example
 * ```ts
 * const store = memoryStore({ maxBytes: 64 * 1024 * 1024, ttlMs: 3_600_000 });
 * ```
 */
export function memoryStore(options: MemoryStoreOptions): EntryStore {
  const cache = new LRUCache<string, Found>({
    maxSize: options.maxBytes,
    sizeCalculation: (held) => Math.max(1, held.bytes),
    ttl: options.ttlMs,
    // Expired entries are dropped when read, and evicted first when space is needed; no timer per entry.
    ttlAutopurge: false,
    // A clock of one's own is read on every check: lru-cache otherwise caches the time until a
    // timer clears it, which a test that never yields to timers would not see change.
    ...(options.now === undefined ? {} : { perf: { now: options.now }, ttlResolution: 0 }),
  });
  const stats = (): StoreStats => ({ entries: cache.size, bytes: cache.calculatedSize });
  const changed = options.onChange;
  return {
    kind: 'memory',
    get(key) {
      const size = cache.size;
      const found = cache.get(key);
      // A get that finds an expired entry removes it.
      if (changed !== undefined && cache.size !== size) changed(stats());
      return found;
    },
    set(key, entry, _json, bytes) {
      cache.set(key, { entry: Object.freeze(entry), bytes });
      changed?.(stats());
    },
    stats,
  };
}

/** Options of {@link sharedStore}. */
export interface SharedStoreOptions {
  readonly ttlMs: number;
  /** A lookup slower than this is given up (a miss), so a slow store never slows chats down much. */
  readonly lookupTimeoutMs: number;
}

/**
 * Entries in the key-value store service (`keyValueStoreRef`): with a plugin that provides it on
 * Redis (`redis_store`), every Plugboard instance on that Redis shares them. `store` is already
 * prefixed (`key_prefix`).
 *
 * @example
 * ```ts
 * const store = sharedStore(call.services.get(keyValueStoreRef).withPrefix('cache:'), { ttlMs, lookupTimeoutMs: 200 });
 * ```
 */
export function sharedStore(store: KeyValueStore, options: SharedStoreOptions): EntryStore {
  return {
    kind: 'shared',
    async get(key) {
      const value = await withTimeout(store.get(key), options.lookupTimeoutMs);
      const entry = parseEntry(value);
      return entry === undefined ? undefined : { entry, bytes: entryBytes(value as JsonObject) };
    },
    set(key, _entry, json) {
      return store.set(key, json, { ttlMs: options.ttlMs });
    },
    stats: () => undefined,
  };
}

/** `promise`, or a rejection after `ms` milliseconds (its timer does not keep the process alive). */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
