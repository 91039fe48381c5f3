import { type ChartSeries, RateChart } from './rate-chart.tsx';
import type { RingBuffer } from './ring-buffer.ts';
import type { TrafficRates, TrafficTotals } from './traffic-rates.ts';
import { POLL_INTERVAL_MS } from './use-dashboard-data.ts';

const STATUS_TONES = {
  '2xx': 'series-ok',
  '3xx': 'series-info',
  '4xx': 'series-warning',
  '5xx': 'series-danger',
} as const;

/** Requests per second by status class and tokens per second, from `GET /metrics` between polls. */
export function TrafficCharts(props: {
  readonly traffic: RingBuffer<TrafficRates>;
  readonly tokenSource: TrafficTotals['tokenSource'] | undefined;
  readonly available: boolean;
}) {
  if (!props.available)
    return (
      <section class="panel traffic" aria-labelledby="traffic-title">
        <h2 id="traffic-title">Traffic</h2>
        <p class="muted">
          This server does not serve <code>GET /metrics</code> (<code>observability.metrics.enabled: false</code>): no
          request or token rates.
        </p>
      </section>
    );
  const samples = props.traffic.items;
  const span = (samples.length * POLL_INTERVAL_MS) / 1000;
  const requestSeries: ChartSeries[] = (['2xx', '3xx', '4xx', '5xx'] as const)
    .filter((statusClass) => statusClass === '2xx' || samples.some((sample) => sample.requests[statusClass] > 0))
    .map((statusClass) => ({
      name: statusClass,
      tone: STATUS_TONES[statusClass],
      values: samples.map((sample) => sample.requests[statusClass]),
    }));
  const tokenSeries: ChartSeries[] = [
    { name: 'prompt', tone: 'series-info', values: samples.map((sample) => sample.tokens.prompt) },
    { name: 'completion', tone: 'series-ok', values: samples.map((sample) => sample.tokens.completion) },
  ];
  return (
    <section class="panel traffic" aria-labelledby="traffic-title">
      <h2 id="traffic-title">Traffic</h2>
      <div class="charts">
        <RateChart
          title="Requests by status"
          unit="req/s"
          series={requestSeries}
          spanSeconds={span}
          note="Without the dashboard's own polling (/plugins, /health, /metrics)."
        />
        <RateChart
          title="Tokens"
          unit="tok/s"
          series={tokenSeries}
          spanSeconds={span}
          note={
            props.tokenSource === 'token_counter'
              ? 'Counted by token_counter (estimated when the backend reports none).'
              : 'As backends reported them (token_counter is not running).'
          }
        />
      </div>
    </section>
  );
}
