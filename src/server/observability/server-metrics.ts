import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PluginManager } from '../../core/manager/plugin-manager.ts';
import type { MetricsReport } from '../../core/manager/reports.ts';
import type { ChatResponse } from '../../core/model/reply.ts';

/** Which chat API a request came through. */
export type ChatApi = 'openai' | 'ollama';

/** What the HTTP layer records for GET /metrics (Prometheus). */
export interface ServerMetrics {
  readonly registry: Registry;
  /** One finished HTTP request. `route` is the route pattern (`/v1/models/:id`), never the raw URL. */
  httpRequest(method: string, route: string, status: number, durationSeconds: number): void;
  /** A chat request that completed (tokens in/out by backend). */
  chatCompleted(response: ChatResponse, api: ChatApi): void;
  /** A chat request that failed or was aborted; `code` is the PlugboardError code. */
  chatFailed(api: ChatApi, code: string): void;
  streamOpened(): void;
  streamClosed(): void;
}

const BREAKER_VALUE = { closed: 0, 'half-open': 1, open: 2, disabled: 3 } as const;

/**
 * Prometheus metrics of one server, in a registry of its own (several servers in one
 * process, as in tests, do not collide). HTTP and chat metrics are recorded as requests
 * finish; plugin metrics are read from the core's counters at scrape time, so the request
 * path pays nothing for them. Metric names and labels: docs/api/observability.md.
 */
export function createServerMetrics(manager: PluginManager, version = 'unknown'): ServerMetrics {
  const registry = new Registry();
  // Standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes …): stock
  // Node.js dashboards work unchanged.
  collectDefaultMetrics({ register: registry });
  // One report per scrape, shared by every plugin metric below (not one per metric).
  const report = scrapeSnapshot(() => manager.getMetrics());

  new Gauge({
    name: 'plugboard_build_info',
    help: 'Always 1; the version label says which Plugboard runs',
    labelNames: ['version'] as const,
    registers: [registry],
  }).set({ version }, 1);

  const requests = new Counter({
    name: 'plugboard_http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'plugboard_http_request_duration_seconds',
    help: 'HTTP request duration (for streams: until the last byte)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'plugboard_tokens_total',
    help: 'Tokens by direction (in = prompt, out = completion), backend and API',
    labelNames: ['direction', 'backend', 'api'] as const,
    registers: [registry],
  });
  const chats = new Counter({
    name: 'plugboard_chat_requests_total',
    help: 'Completed chat requests by backend, API and finish reason',
    labelNames: ['backend', 'api', 'finish_reason'] as const,
    registers: [registry],
  });
  const chatFailures = new Counter({
    name: 'plugboard_chat_failures_total',
    help: 'Chat requests that failed or were aborted, by API and error code',
    labelNames: ['api', 'code'] as const,
    registers: [registry],
  });
  const backendAttempts = new Counter({
    name: 'plugboard_backend_attempts_failed_total',
    help: 'Failed backend calls of requests that still got an answer, by backend, error code and what followed (retry, or the fallback backend)',
    labelNames: ['backend', 'code', 'next'] as const,
    registers: [registry],
  });
  const activeStreams = new Gauge({
    name: 'plugboard_active_streams',
    help: 'Streamed chat responses currently open',
    registers: [registry],
  });

  new Counter({
    name: 'plugboard_plugin_invocations_total',
    help: 'Plugin calls by plugin, operation and outcome (since the plugin loaded)',
    labelNames: ['plugin', 'operation', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [plugin, stats] of Object.entries(report().plugins)) {
        for (const [operation, op] of Object.entries(stats.operations)) {
          // The core keeps the running totals; the counter mirrors them at each scrape.
          this.inc({ plugin, operation, outcome: 'success' }, op.successes);
          this.inc({ plugin, operation, outcome: 'failure' }, op.failures);
          this.inc({ plugin, operation, outcome: 'timeout' }, op.timeouts);
          this.inc({ plugin, operation, outcome: 'skipped' }, op.skipped);
        }
      }
    },
  });
  new Gauge({
    name: 'plugboard_plugin_latency_seconds',
    help: 'Plugin call latency by plugin, operation and quantile (0.5, 0.99; since the plugin loaded)',
    labelNames: ['plugin', 'operation', 'quantile'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [plugin, stats] of Object.entries(report().plugins)) {
        for (const [operation, op] of Object.entries(stats.operations)) {
          if (op.invocations === 0) continue;
          this.set({ plugin, operation, quantile: '0.5' }, op.latencyMs.p50 / 1000);
          this.set({ plugin, operation, quantile: '0.99' }, op.latencyMs.p99 / 1000);
        }
      }
    },
  });
  new Gauge({
    name: 'plugboard_plugin_last_invocation_timestamp_seconds',
    help: 'When the plugin last ran (Unix time), by plugin',
    labelNames: ['plugin'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [plugin, stats] of Object.entries(report().plugins)) {
        if (stats.lastExecutedAt !== undefined) this.set({ plugin }, Date.parse(stats.lastExecutedAt) / 1000);
      }
    },
  });
  new Gauge({
    name: 'plugboard_plugin_breaker_state',
    help: 'Circuit breaker state per plugin: 0 closed, 1 half-open, 2 open, 3 disabled (breakers off)',
    labelNames: ['plugin'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [plugin, stats] of Object.entries(report().plugins)) {
        this.set({ plugin }, BREAKER_VALUE[stats.breaker.state]);
      }
    },
  });
  new Counter({
    name: 'plugboard_plugin_breaker_opened_total',
    help: 'Times the circuit breaker of a plugin opened (since the plugin loaded)',
    labelNames: ['plugin'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [plugin, stats] of Object.entries(report().plugins)) this.inc({ plugin }, stats.breaker.opened);
    },
  });
  new Gauge({
    name: 'plugboard_plugins',
    help: 'Plugins by state',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [state, count] of Object.entries(report().system.plugins)) {
        if (state !== 'total') this.set({ state }, count);
      }
    },
  });
  new Counter({
    name: 'plugboard_hook_dispatches_total',
    help: 'Hook dispatches since start, by hook',
    labelNames: ['hook'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [hook, count] of Object.entries(report().hooks.dispatches)) this.inc({ hook }, count ?? 0);
    },
  });
  new Counter({
    name: 'plugboard_unattributed_stray_errors_total',
    help: 'Errors that escaped every plugin call (unhandled rejections, uncaught exceptions) whose stack named no plugin; attributed ones count as their plugin\'s operation "background"',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(report().system.unattributedStrayErrors);
    },
  });
  new Counter({
    name: 'plugboard_monitoring_hooks_dropped_total',
    help: 'MONITORING hook handlers dropped because too many were waiting',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(report().system.droppedMonitoringHooks);
    },
  });

  // Label children, cached: resolving labels hashes them on every call, which costs more
  // than the increment itself on a path every request takes.
  const httpChildren = new Map<
    string,
    { requests: Counter.Internal; duration: Histogram.Internal<'method' | 'route' | 'status'> }
  >();
  const chatChildren = new Map<string, { chats: Counter.Internal; in: Counter.Internal; out: Counter.Internal }>();

  return {
    registry,
    httpRequest(method, route, status, durationSeconds) {
      const key = `${method} ${route} ${status}`;
      let child = httpChildren.get(key);
      if (child === undefined) {
        const labels = { method, route, status: String(status) };
        child = { requests: requests.labels(labels), duration: duration.labels(labels) };
        httpChildren.set(key, child);
      }
      child.requests.inc();
      child.duration.observe(durationSeconds);
    },
    chatCompleted(response, api) {
      const backend = response.backend ?? 'none';
      const finishReason = response.finishReason ?? 'stop';
      const key = `${backend} ${api} ${finishReason}`;
      let child = chatChildren.get(key);
      if (child === undefined) {
        child = {
          chats: chats.labels({ backend, api, finish_reason: finishReason }),
          in: tokens.labels({ direction: 'in', backend, api }),
          out: tokens.labels({ direction: 'out', backend, api }),
        };
        chatChildren.set(key, child);
      }
      child.chats.inc();
      const attempts = response.metadata.backendAttempts;
      if (Array.isArray(attempts)) {
        for (const attempt of attempts as { backend: string; code: string; next: string }[]) {
          backendAttempts.inc({ backend: attempt.backend, code: attempt.code, next: attempt.next });
        }
      }
      const usage = response.usage;
      if (usage === undefined) return;
      if (isCount(usage.promptTokens)) child.in.inc(usage.promptTokens);
      if (isCount(usage.completionTokens)) child.out.inc(usage.completionTokens);
    },
    chatFailed(api, code) {
      chatFailures.inc({ api, code });
    },
    streamOpened: () => activeStreams.inc(),
    streamClosed: () => activeStreams.dec(),
  };
}

/** prom-client throws on a negative or non-finite increment; a backend's usage is not trusted that far. */
function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/**
 * The manager's metrics report, read once per scrape: the first metric that needs it reads
 * it, the others reuse it, and it is dropped before the next turn of the event loop.
 */
function scrapeSnapshot(read: () => MetricsReport): () => MetricsReport {
  let current: MetricsReport | undefined;
  return () => {
    if (current === undefined) {
      current = read();
      setImmediate(() => {
        current = undefined;
      });
    }
    return current;
  };
}
