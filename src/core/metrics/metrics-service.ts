import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { PlugboardError } from '../errors/plugboard-error.ts';
import { createServiceRef } from '../services/service-ref.ts';

/** Label values of one sample: each label the metric declares, by name. */
export type MetricLabels<L extends string> = Readonly<Partial<Record<L, string | number>>>;

/** What defines a metric: its Prometheus name, help text and label names. */
export interface MetricDefinition<L extends string> {
  /**
   * A Prometheus name, prefixed with your plugin's: `token_counter_tokens_total`
   * (`plugboard_`, `process_` and `nodejs_` are the server's).
   */
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
}

/** A histogram's definition: its buckets (upper bounds) besides the rest. */
export interface HistogramDefinition<L extends string> extends MetricDefinition<L> {
  readonly buckets?: readonly number[];
}

/** A count that only goes up (requests, tokens, bytes). */
export interface MetricCounter<L extends string> {
  /** Adds `value` (default 1); a negative or non-finite value is ignored, never thrown. */
  inc(labels?: MetricLabels<L>, value?: number): void;
}

/** A value that goes up and down (entries held, bytes cached). */
export interface MetricGauge<L extends string> {
  set(labels: MetricLabels<L>, value: number): void;
  inc(labels?: MetricLabels<L>, value?: number): void;
  dec(labels?: MetricLabels<L>, value?: number): void;
}

/** A distribution of observed values (durations, sizes). */
export interface MetricHistogram<L extends string> {
  observe(labels: MetricLabels<L>, value: number): void;
}

/**
 * Metrics a plugin records for the server's `GET /metrics` (Prometheus). Defining a metric
 * that exists returns it, so a reloaded plugin keeps counting on the same series; defining
 * the same name with another kind, help or label set is an error. Recording never throws:
 * a metric must not fail a request.
 *
 * @example
 * ```ts
 * defineMiddleware({
 *   metadata: { name: 'quota', version: '1.0.0', consumes: [metricsRef] },
 *   initialize(_config, call) {
 *     this.refused = call.services.get(metricsRef).counter({
 *       name: 'quota_refused_total', help: 'Requests refused by the quota', labelNames: ['model'],
 *     });
 *   },
 * });
 * // later: this.refused.inc({ model: context.model ?? 'default' });
 * ```
 */
export interface MetricsService {
  /** @throws PlugboardError `METRIC_INVALID` for a malformed name or a clash with an existing metric. */
  counter<L extends string = never>(definition: MetricDefinition<L>): MetricCounter<L>;
  /** @throws PlugboardError `METRIC_INVALID` as {@link counter}. */
  gauge<L extends string = never>(definition: MetricDefinition<L>): MetricGauge<L>;
  /** @throws PlugboardError `METRIC_INVALID` as {@link counter}. */
  histogram<L extends string = never>(definition: HistogramDefinition<L>): MetricHistogram<L>;
}

/**
 * The plugins' metrics service. Without a provider, every consumer shares one in-process
 * registry, which the HTTP server appends to `GET /metrics`.
 */
export const metricsRef = createServiceRef<MetricsService>({
  id: 'plugboard.metrics',
  description: "Counters, gauges and histograms plugins record for the server's GET /metrics (Prometheus)",
  members: ['counter', 'gauge', 'histogram'],
  defaultFactory: () => new PrometheusMetrics(),
});

type Kind = 'counter' | 'gauge' | 'histogram';
type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** The server's own metrics (and Node's defaults) use these: a plugin's may not, so a scrape never holds two families of one name. */
const RESERVED_PREFIXES = ['plugboard_', 'process_', 'nodejs_'] as const;

/**
 * {@link MetricsService} on a prom-client registry of its own (several managers in one
 * process, as in tests, do not collide); `registry.metrics()` renders it for a scrape.
 */
export class PrometheusMetrics implements MetricsService {
  readonly registry = new Registry();
  readonly #defined = new Map<string, { kind: Kind; signature: string; metric: AnyMetric }>();

  counter<L extends string = never>(definition: MetricDefinition<L>): MetricCounter<L> {
    const counter = this.#define('counter', definition, (config) => new Counter(config)) as Counter<string>;
    return {
      inc: (labels, value = 1) => {
        if (isAmount(value)) safely(() => counter.inc(labelsOf(labels), value));
      },
    };
  }

  gauge<L extends string = never>(definition: MetricDefinition<L>): MetricGauge<L> {
    const gauge = this.#define('gauge', definition, (config) => new Gauge(config)) as Gauge<string>;
    return {
      set: (labels, value) => {
        if (Number.isFinite(value)) safely(() => gauge.set(labelsOf(labels), value));
      },
      inc: (labels, value = 1) => {
        if (Number.isFinite(value)) safely(() => gauge.inc(labelsOf(labels), value));
      },
      dec: (labels, value = 1) => {
        if (Number.isFinite(value)) safely(() => gauge.dec(labelsOf(labels), value));
      },
    };
  }

  histogram<L extends string = never>(definition: HistogramDefinition<L>): MetricHistogram<L> {
    const buckets = definition.buckets === undefined ? undefined : [...definition.buckets];
    const histogram = this.#define(
      'histogram',
      definition,
      (config) => new Histogram({ ...config, ...(buckets ? { buckets } : {}) }),
      buckets?.join(','),
    ) as Histogram<string>;
    return {
      observe: (labels, value) => {
        if (Number.isFinite(value)) safely(() => histogram.observe(labelsOf(labels), value));
      },
    };
  }

  #define(
    kind: Kind,
    definition: MetricDefinition<string>,
    create: (config: { name: string; help: string; labelNames: string[]; registers: Registry[] }) => AnyMetric,
    extra = '',
  ): AnyMetric {
    const { name, help } = definition;
    const labelNames = [...(definition.labelNames ?? [])];
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw metricInvalid(`Metric name ${JSON.stringify(name)} is not a Prometheus name ([a-zA-Z_:][a-zA-Z0-9_:]*)`);
    }
    const reserved = RESERVED_PREFIXES.find((prefix) => name.startsWith(prefix));
    if (reserved !== undefined) {
      throw metricInvalid(
        `Metric "${name}": names starting "${reserved}" are the server's; prefix yours with your plugin's name`,
      );
    }
    if (typeof help !== 'string' || help === '') throw metricInvalid(`Metric "${name}" needs a help text`);
    const badLabel = labelNames.find(
      (label) => typeof label !== 'string' || !LABEL.test(label) || label.startsWith('__'),
    );
    if (badLabel !== undefined)
      throw metricInvalid(`Metric "${name}": ${JSON.stringify(badLabel)} is not a label name`);
    const signature = `${help}\n${labelNames.join(',')}\n${extra}`;
    const existing = this.#defined.get(name);
    if (existing !== undefined) {
      if (existing.kind === kind && existing.signature === signature) return existing.metric;
      throw metricInvalid(
        `Metric "${name}" is already defined as a ${existing.kind} with other help, labels or buckets; one name has one definition (prefix yours with your plugin's name)`,
      );
    }
    const metric = create({ name, help, labelNames, registers: [this.registry] });
    this.#defined.set(name, { kind, signature, metric });
    return metric;
  }
}

function metricInvalid(message: string): PlugboardError {
  return new PlugboardError('METRIC_INVALID', message);
}

function isAmount(value: number): boolean {
  return Number.isFinite(value) && value >= 0;
}

/** Label values as prom-client takes them; undefined ones left out. */
function labelsOf(
  labels: Readonly<Record<string, string | number | undefined>> | undefined,
): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  if (labels === undefined) return out;
  for (const [key, value] of Object.entries(labels)) if (value !== undefined) out[key] = value;
  return out;
}

/** prom-client throws on an undeclared label: a plugin's slip costs a sample, not its request. */
function safely(record: () => void): void {
  try {
    record();
  } catch {
    // Dropped on purpose (see MetricsService: recording never throws).
  }
}
