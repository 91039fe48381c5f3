import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Latency summary in milliseconds. */
export interface LatencySummary {
  readonly min: number;
  readonly mean: number;
  readonly max: number;
  readonly p50: number;
  readonly p99: number;
}

/** Counters and latency of one plugin operation (or of all operations of a plugin). */
export interface CallStats {
  readonly invocations: number;
  readonly successes: number;
  readonly failures: number;
  readonly timeouts: number;
  /** Calls not made because the circuit was open. */
  readonly skipped: number;
  /** successes / invocations (1 when nothing ran yet). */
  readonly successRate: number;
  readonly errorRate: number;
  readonly latencyMs: LatencySummary;
  /** ISO time of the last call, if any. */
  readonly lastExecutedAt?: string;
}

/** How a call ended, for the metrics. */
export type CallOutcome = 'success' | 'failure' | 'timeout' | 'skipped';

/**
 * Accumulates call statistics. Latencies go to a native HDR histogram from node:perf_hooks
 * (records in microseconds), so recording is cheap and percentiles are exact to ~1%.
 */
export class CallMetrics {
  #successes = 0;
  #failures = 0;
  #timeouts = 0;
  #skipped = 0;
  #lastExecutedAt = 0;
  #histogram: RecordableHistogram = createHistogram();

  /** `at` is the wall time of the call's end (epoch ms); the caller may pass it to read the clock once for several records. */
  record(outcome: CallOutcome, durationMs: number, at?: number): void {
    switch (outcome) {
      case 'success':
        this.#successes++;
        break;
      case 'failure':
        this.#failures++;
        break;
      case 'timeout':
        this.#timeouts++;
        break;
      case 'skipped':
        this.#skipped++;
        return; // a skipped call did not execute: no latency, no last-execution time
    }
    this.#histogram.record(Math.max(1, Math.round(durationMs * 1000)));
    this.#lastExecutedAt = at ?? Date.now();
  }

  /**
   * The statistics of several metrics together (a plugin's total over its operations).
   * HDR histograms of the same settings merge exactly, so this equals recording every call
   * twice, which is what it replaces on the hot path.
   */
  static merge(parts: Iterable<CallMetrics>): CallMetrics {
    const merged = new CallMetrics();
    for (const part of parts) {
      merged.#successes += part.#successes;
      merged.#failures += part.#failures;
      merged.#timeouts += part.#timeouts;
      merged.#skipped += part.#skipped;
      merged.#lastExecutedAt = Math.max(merged.#lastExecutedAt, part.#lastExecutedAt);
      merged.#histogram.add(part.#histogram);
    }
    return merged;
  }

  snapshot(): CallStats {
    const invocations = this.#successes + this.#failures + this.#timeouts;
    const h = this.#histogram;
    const empty = h.count === 0;
    const toMs = (us: number) => (empty ? 0 : us / 1000);
    return {
      invocations,
      successes: this.#successes,
      failures: this.#failures,
      timeouts: this.#timeouts,
      skipped: this.#skipped,
      successRate: invocations === 0 ? 1 : this.#successes / invocations,
      errorRate: invocations === 0 ? 0 : (this.#failures + this.#timeouts) / invocations,
      latencyMs: {
        min: toMs(h.min),
        mean: toMs(h.mean),
        max: toMs(h.max),
        p50: toMs(h.percentile(50)),
        p99: toMs(h.percentile(99)),
      },
      ...(this.#lastExecutedAt === 0 ? {} : { lastExecutedAt: new Date(this.#lastExecutedAt).toISOString() }),
    };
  }
}

/** Metrics of one plugin: overall and per operation (`processMessage`, `hook:requestEnd` …). */
export class PluginMetrics {
  readonly #byOperation = new Map<string, CallMetrics>();

  /** Every operation together, merged when asked for: a call is recorded once, per operation. */
  get total(): { snapshot(): CallStats } {
    return CallMetrics.merge(this.#byOperation.values());
  }

  /**
   * `at` is the wall time of the call's end (epoch ms), for callers that read the clock
   * already (Date.now() costs about as much as the rest of a record); read here by default.
   */
  record(operation: string, outcome: CallOutcome, durationMs: number, at?: number): void {
    let metrics = this.#byOperation.get(operation);
    if (metrics === undefined) {
      metrics = new CallMetrics();
      this.#byOperation.set(operation, metrics);
    }
    metrics.record(outcome, durationMs, at);
  }

  operations(): Record<string, CallStats> {
    return Object.fromEntries([...this.#byOperation].map(([operation, metrics]) => [operation, metrics.snapshot()]));
  }
}
