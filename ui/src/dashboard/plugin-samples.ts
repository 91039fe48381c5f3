import { RingBuffer } from './ring-buffer.ts';
import { increase } from './traffic-rates.ts';
import type { CallStats, MetricsReport } from './types.ts';

/** How many polls a sparkline or a chart shows (2 s apart: the last two minutes). */
export const SAMPLE_CAPACITY = 60;

/** One plugin's figures at one poll: call and failure rates since the poll before, latency now. */
export interface PluginSample {
  readonly at: number;
  readonly callsPerSecond: number;
  /** Failures and timeouts per second. */
  readonly failuresPerSecond: number;
  /** Median call latency since the plugin loaded (ms). */
  readonly p50: number;
}

export type PluginSamples = Readonly<Record<string, RingBuffer<PluginSample>>>;

/**
 * Adds one poll of `GET /plugins/metrics` to each plugin's ring buffer of samples. The rates
 * need the previous poll's counts (`previous`); the first poll only sets them. Plugins no
 * longer reported are dropped.
 */
export function addPluginSamples(
  samples: PluginSamples,
  previous: { readonly at: number; readonly report: MetricsReport } | undefined,
  report: MetricsReport,
  at: number,
): PluginSamples {
  const next: Record<string, RingBuffer<PluginSample>> = {};
  const seconds = previous === undefined ? 0 : (at - previous.at) / 1000;
  for (const [name, stats] of Object.entries(report.plugins)) {
    const buffer = samples[name] ?? RingBuffer.empty<PluginSample>(SAMPLE_CAPACITY);
    const before = previous?.report.plugins[name];
    if (before === undefined || !(seconds > 0)) {
      next[name] = buffer;
      continue;
    }
    next[name] = buffer.push({
      at,
      callsPerSecond: increase(before.invocations, stats.invocations) / seconds,
      failuresPerSecond: increase(failed(before), failed(stats)) / seconds,
      p50: stats.latencyMs.p50,
    });
  }
  return next;
}

function failed(stats: CallStats): number {
  return stats.failures + stats.timeouts;
}
