/**
 * The cache middleware: an exact-match response cache. A chat request, once prepared (after
 * input processors, memory and retrieval) and routed, is looked up by a hash of its backend,
 * model, messages, options and (by default) principal; a hit is answered without the model and
 * passes the output processors like a fresh reply, streamed in the request's own protocol.
 * Entries live in memory (lru-cache) or in the shared key-value store (Redis). See README.md.
 */
import {
  defineMiddleware,
  keyValueStoreRef,
  MemoryKeyValueStore,
  type Middleware,
  metricsRef,
} from '../../src/index.ts';
import { defineCacheMetrics } from './cache-metrics.ts';
import { type CacheConfig, cacheConfigSchema } from './config.ts';
import { type EntryStore, memoryStore, sharedStore } from './entry-store.ts';
import { ResponseCache } from './response-cache.ts';

/** What an embedder or a test may give the plugin besides its config. */
export interface CachePluginOptions {
  /** The clock (ms) that expires entries of the memory store: makes `ttl_seconds` testable without waiting. */
  readonly now?: () => number;
}

/**
 * A fresh cache plugin (each instance — a config reload makes a new one next to the running
 * one — has its own memory store; a shared store's entries outlive it).
 *
 * Fail-open: a broken cache (a bug, a timeout, an unreachable store) never fails a chat; the
 * model answers instead.
 *
 * @example
 * ```ts
 * // plugins/config.yaml: middleware: { cache: { config: { ttl_seconds: 600 } } }
 * const manager = await startManager([backend, [createCachePlugin, { config: { ttl_seconds: 600 } }]]);
 * ```
 */
export function createCachePlugin(options: CachePluginOptions = {}): Middleware<CacheConfig> {
  let cache: ResponseCache | undefined;
  return defineMiddleware<CacheConfig>({
    metadata: {
      name: 'cache',
      version: '1.0.0',
      description: 'Answers repeated deterministic chat requests from an exact-match cache, in memory or shared',
      configSchema: cacheConfigSchema,
      // The key-value store is read only with `store: shared`; without a provider it is the
      // in-memory default (and the plugin says so in its health).
      consumes: [keyValueStoreRef, metricsRef],
      // A cache is an optimisation: when it fails, the model answers.
      failurePolicy: 'open',
    },
    initialize(config, call) {
      const settings = config.config;
      const metrics = defineCacheMetrics(call.services.get(metricsRef));
      const ttlMs = settings.ttl_seconds * 1000;
      let store: EntryStore;
      let notShared: string | undefined;
      if (settings.store === 'shared') {
        const shared = call.services.get(keyValueStoreRef);
        if (shared instanceof MemoryKeyValueStore) {
          notShared =
            'store: shared, but the key-value store is the in-memory one: entries are kept in this process only (a plugin such as redis_store provides a shared one)';
          call.logger.warn({}, `cache: ${notShared}`);
        }
        store = sharedStore(shared.withPrefix(settings.key_prefix), {
          ttlMs,
          lookupTimeoutMs: settings.lookup_timeout_ms,
        });
      } else {
        store = memoryStore({
          maxBytes: settings.memory_max_bytes,
          ttlMs,
          ...(options.now === undefined ? {} : { now: options.now }),
          onChange: (stats) => {
            metrics.memoryEntries.set({}, stats.entries);
            metrics.memoryBytes.set({}, stats.bytes);
          },
        });
      }
      cache = new ResponseCache({
        config: settings,
        store,
        metrics,
        logger: call.logger,
        ...(notShared === undefined ? {} : { notShared }),
      });
    },
    answerRequest: (context, call) => cache?.lookup(context, call),
    processResponse: (response) => cache?.settle(response) ?? response,
    onAfterModelCall(payload) {
      cache?.turn(payload);
    },
    onRequestEnd(payload) {
      cache?.end(payload.context.requestId);
    },
    healthCheck() {
      return cache?.health() ?? { status: 'unhealthy', message: 'not initialized' };
    },
    async shutdown() {
      await cache?.drain();
    },
  });
}

export default createCachePlugin;
