/**
 * Test support: a metrics service that keeps every value in a map, provided to the manager
 * by a plugin, so a test reads what the cache counted without scraping /metrics.
 */
import { definePlugin, type MetricLabels, type MetricsService, metricsRef } from '../../../src/index.ts';

/** A {@link MetricsService} whose values a test reads back with `value(name, labels)`. */
export interface RecordingMetrics extends MetricsService {
  /** The value of `name` for these labels (0 when never recorded). */
  value(name: string, labels?: Readonly<Record<string, string>>): number;
}

const seriesOf = (name: string, labels: MetricLabels<string> | undefined) =>
  `${name}${JSON.stringify(Object.entries(labels ?? {}).sort(([a], [b]) => a.localeCompare(b)))}`;

/** A fresh recording metrics service. */
export function recordingMetrics(): RecordingMetrics {
  const values = new Map<string, number>();
  const add = (name: string, labels: MetricLabels<string> | undefined, delta: number) => {
    const series = seriesOf(name, labels);
    values.set(series, (values.get(series) ?? 0) + delta);
  };
  return {
    counter: ({ name }) => ({ inc: (labels, value = 1) => add(name, labels, value) }),
    gauge: ({ name }) => ({
      set: (labels, value) => values.set(seriesOf(name, labels), value),
      inc: (labels, value = 1) => add(name, labels, value),
      dec: (labels, value = 1) => add(name, labels, -value),
    }),
    histogram: ({ name }) => ({ observe: (labels, value) => add(name, labels, value) }),
    value: (name, labels = {}) => values.get(seriesOf(name, labels)) ?? 0,
  };
}

/** A plugin that provides `metrics` as the metrics service. */
export function metricsProvider(metrics: MetricsService) {
  return definePlugin({
    metadata: { name: 'test-metrics', version: '1.0.0', provides: [metricsRef] },
    initialize: (_config, call) => call.provide(metricsRef, metrics),
  });
}
