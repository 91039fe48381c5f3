import { useRef, useState } from 'preact/hooks';
import { ApiError } from '../api/api-error.ts';
import { fetchHealth, fetchPluginMetrics, fetchPrometheusText, fetchStatus } from './fetch-reports.ts';
import { type ObservedChange, observeChanges } from './observed-transitions.ts';
import { addPluginSamples, type PluginSamples, SAMPLE_CAPACITY } from './plugin-samples.ts';
import { declaredMetrics, parsePrometheusText } from './prometheus-text.ts';
import { RingBuffer } from './ring-buffer.ts';
import { ratesBetween, type TrafficRates, type TrafficTotals, trafficTotals } from './traffic-rates.ts';
import type { HealthReport, MetricsReport, PluginStatus, StatusReport } from './types.ts';
import { usePolling } from './use-polling.ts';

/** How often the dashboard polls (ms). */
export const POLL_INTERVAL_MS = 2000;

/** Everything the dashboard shows, as of its last poll. */
export interface DashboardData {
  readonly status?: StatusReport;
  readonly metrics?: MetricsReport;
  readonly health?: HealthReport;
  /** Per plugin: calls, failures and latency over the last polls. */
  readonly samples: PluginSamples;
  /** Requests and tokens per second over the last polls. */
  readonly traffic: RingBuffer<TrafficRates>;
  readonly tokenSource?: TrafficTotals['tokenSource'];
  /** False when the server has `GET /metrics` turned off. */
  readonly prometheus: boolean;
  /** Changes seen between polls, newest last. */
  readonly changes: RingBuffer<ObservedChange>;
  /** The last poll's failures, by what was read ("plugins", "health" …). */
  readonly errors: Readonly<Record<string, ApiError>>;
  /** When the last poll ended (ms since the epoch). */
  readonly updatedAt?: number;
}

const INITIAL: DashboardData = {
  samples: {},
  traffic: RingBuffer.empty(SAMPLE_CAPACITY),
  prometheus: true,
  changes: RingBuffer.empty(50),
  errors: {},
};

/**
 * Polls the server's reports every POLL_INTERVAL_MS while the tab is visible, and keeps what
 * the charts need between polls (ring buffers of samples, the previous counter totals).
 * `onChanges` hears the changes each poll observed (the page announces them). Returns the
 * data and `refresh`, which polls at once.
 */
export function useDashboardData(onChanges: (changes: readonly ObservedChange[]) => void): {
  readonly data: DashboardData;
  readonly refresh: () => void;
  /** Shows a plugin's status an admin action answered with, before the next poll. */
  readonly showStatus: (status: PluginStatus) => void;
} {
  const [data, setData] = useState<DashboardData>(INITIAL);
  const previous = useRef<{ metrics?: { at: number; report: MetricsReport }; totals?: TrafficTotals }>({});
  const current = useRef(data);
  const shownAt = useRef(0);
  current.current = data;

  const refresh = usePolling(async (signal) => {
    const started = Date.now();
    const [status, metrics, health, prometheus] = await Promise.allSettled([
      fetchStatus(signal),
      fetchPluginMetrics(signal),
      fetchHealth(signal),
      fetchPrometheusText(signal),
    ]);
    if (signal.aborted) return;
    const at = Date.now();
    const before = current.current;
    const errors: Record<string, ApiError> = {};
    const failed = (what: string, result: PromiseSettledResult<unknown>) => {
      if (result.status === 'rejected')
        errors[what] =
          result.reason instanceof ApiError
            ? result.reason
            : // The page writes "Could not read <what>:" before it.
              new ApiError(0, 'UI_ERROR', String(result.reason));
    };
    failed('plugins', status);
    failed('plugin metrics', metrics);
    failed('health', health);
    failed('metrics', prometheus);

    let next: DashboardData = { ...before, errors, updatedAt: at };
    if (status.status === 'fulfilled' && started > shownAt.current) {
      const changes = observeChanges(before.status, status.value, at);
      let log = before.changes;
      for (const change of changes) log = log.push(change);
      next = { ...next, status: status.value, changes: log };
      if (changes.length > 0) onChanges(changes);
    }
    if (metrics.status === 'fulfilled') {
      next = {
        ...next,
        metrics: metrics.value,
        samples: addPluginSamples(before.samples, previous.current.metrics, metrics.value, at),
      };
      previous.current.metrics = { at, report: metrics.value };
    }
    if (health.status === 'fulfilled') next = { ...next, health: health.value };
    if (prometheus.status === 'fulfilled') {
      if (prometheus.value === undefined) next = { ...next, prometheus: false };
      else {
        const totals = trafficTotals(parsePrometheusText(prometheus.value), at, declaredMetrics(prometheus.value));
        const rates = previous.current.totals === undefined ? undefined : ratesBetween(previous.current.totals, totals);
        previous.current.totals = totals;
        next = {
          ...next,
          prometheus: true,
          tokenSource: totals.tokenSource,
          traffic: rates === undefined ? before.traffic : before.traffic.push(rates),
        };
      }
    }
    current.current = next;
    setData(next);
  }, POLL_INTERVAL_MS);

  const showStatus = (status: PluginStatus): void => {
    const before = current.current;
    if (before.status === undefined || !(status.name in before.status.plugins)) return;
    const at = Date.now();
    // A poll that started before this answer must not put the older status back.
    shownAt.current = at;
    const report = { ...before.status, plugins: { ...before.status.plugins, [status.name]: status } };
    const changes = observeChanges(before.status, report, at);
    let log = before.changes;
    for (const change of changes) log = log.push(change);
    const next = { ...before, status: report, changes: log };
    current.current = next;
    setData(next);
    if (changes.length > 0) onChanges(changes);
  };

  return { data, refresh, showStatus };
}
