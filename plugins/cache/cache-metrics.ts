import type { MetricCounter, MetricGauge, MetricsService } from '../../src/index.ts';

/** What the cache said about a request: the `x-plugboard-cache` header's value and the metric's `result` label. */
export type LookupResult = 'hit' | 'miss' | 'refresh' | 'bypass' | 'skip';

/**
 * What became of a reply the cache could have stored (a miss, or a refresh): `stored`, or why
 * not. See README.md, "What is stored".
 */
export type StoreResult =
  | 'stored'
  | 'too_large'
  | 'tool_calls'
  | 'multi_turn'
  | 'truncated'
  | 'unfinished'
  | 'degraded'
  | 'changed'
  | 'failed'
  | 'dropped';

/** The cache's Prometheus metrics (shown by `GET /metrics`). */
export interface CacheMetrics {
  readonly requests: MetricCounter<'result'>;
  readonly stores: MetricCounter<'result'>;
  readonly storedBytes: MetricCounter<never>;
  readonly servedBytes: MetricCounter<never>;
  readonly storeErrors: MetricCounter<'operation'>;
  readonly memoryEntries: MetricGauge<never>;
  readonly memoryBytes: MetricGauge<never>;
}

/**
 * Defines (or, after a reload, finds again) the cache's metrics. Names start with `cache_`,
 * the plugin's name: `plugboard_` is the server's.
 */
export function defineCacheMetrics(metrics: MetricsService): CacheMetrics {
  return {
    requests: metrics.counter({
      name: 'cache_requests_total',
      help: 'Chat requests the response cache looked at, by result (hit, miss, refresh, bypass, skip)',
      labelNames: ['result'],
    }),
    stores: metrics.counter({
      name: 'cache_stores_total',
      help: 'Replies the response cache could have stored, by result (stored, or why not)',
      labelNames: ['result'],
    }),
    storedBytes: metrics.counter({
      name: 'cache_stored_bytes_total',
      help: 'Bytes of entries written to the response cache (JSON, UTF-8)',
    }),
    servedBytes: metrics.counter({
      name: 'cache_served_bytes_total',
      help: 'Bytes of entries the response cache answered requests with (JSON, UTF-8)',
    }),
    storeErrors: metrics.counter({
      name: 'cache_store_errors_total',
      help: 'Failed or timed-out operations on the shared store, by operation (get, set)',
      labelNames: ['operation'],
    }),
    memoryEntries: metrics.gauge({
      name: 'cache_memory_entries',
      help: 'Entries held by the in-memory response cache (expired ones until they are read or evicted)',
    }),
    memoryBytes: metrics.gauge({
      name: 'cache_memory_bytes',
      help: 'Bytes held by the in-memory response cache (the sum of its entries’ JSON sizes)',
    }),
  };
}
