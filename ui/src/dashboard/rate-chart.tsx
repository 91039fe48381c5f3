import { linePoints, niceMax } from './chart-geometry.ts';
import { formatRate } from './format.ts';
import './charts.css';

const WIDTH = 300;
const HEIGHT = 90;

export interface ChartSeries {
  readonly name: string;
  /** A class of dashboard.css giving the line its colour (`series-ok`, `series-danger` …). */
  readonly tone: string;
  readonly values: readonly number[];
}

/**
 * A small line chart of rates over the last polls (inline SVG), with its scale, a legend
 * giving each series' latest value, and a description of the same for screen readers.
 */
export function RateChart(props: {
  readonly title: string;
  readonly unit: string;
  readonly series: readonly ChartSeries[];
  /** Seconds the chart spans, for its caption. */
  readonly spanSeconds: number;
  readonly note?: string;
}) {
  const max = niceMax(Math.max(0, ...props.series.flatMap((series) => series.values)));
  const points = Math.max(0, ...props.series.map((series) => series.values.length));
  const latest = props.series
    .map((series) => `${series.name} ${formatRate(series.values[series.values.length - 1] ?? 0)} ${props.unit}`)
    .join(', ');
  const description =
    points < 2
      ? `${props.title}: collecting samples`
      : `${props.title}, last ${Math.round(props.spanSeconds)} s. Now: ${latest}`;
  return (
    <figure class="rate-chart">
      <figcaption>
        <span class="rate-chart-title">{props.title}</span>
        <span class="rate-chart-scale">
          max {formatRate(max)} {props.unit}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" role="img" aria-label={description}>
        <title>{description}</title>
        <line class="chart-grid" x1="0" y1={HEIGHT / 2} x2={WIDTH} y2={HEIGHT / 2} />
        <line class="chart-axis" x1="0" y1={HEIGHT - 0.5} x2={WIDTH} y2={HEIGHT - 0.5} />
        {props.series.map((series) =>
          series.values.length > 1 ? (
            <polyline
              key={series.name}
              class={`chart-line ${series.tone}`}
              points={linePoints(series.values, max, WIDTH, HEIGHT - 1)}
            />
          ) : null,
        )}
      </svg>
      <ul class="chart-legend">
        {props.series.map((series) => (
          <li key={series.name}>
            <span class={`legend-swatch ${series.tone}`} aria-hidden="true" />
            {series.name} <strong>{formatRate(series.values[series.values.length - 1] ?? 0)}</strong> {props.unit}
          </li>
        ))}
      </ul>
      {points < 2 ? <p class="chart-note">Collecting samples…</p> : null}
      {props.note === undefined ? null : <p class="chart-note">{props.note}</p>}
    </figure>
  );
}
