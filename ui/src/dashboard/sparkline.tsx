import { linePoints } from './chart-geometry.ts';
import './charts.css';

const WIDTH = 96;
const HEIGHT = 24;

/**
 * A word-sized line chart (inline SVG, no script): `values` left to right, and optionally
 * `alert` (e.g. failures) on the same scale in the danger colour. `label` says in words what
 * it shows, for screen readers and as a tooltip.
 */
export function Sparkline(props: {
  readonly values: readonly number[];
  readonly alert?: readonly number[];
  readonly label: string;
}) {
  const max = Math.max(0, ...props.values, ...(props.alert ?? []));
  return (
    <svg
      class="sparkline"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      width={WIDTH}
      height={HEIGHT}
      role="img"
      aria-label={props.label}
      preserveAspectRatio="none"
    >
      <title>{props.label}</title>
      <line class="sparkline-base" x1="0" y1={HEIGHT - 0.5} x2={WIDTH} y2={HEIGHT - 0.5} />
      {props.values.length > 1 ? (
        <polyline class="sparkline-line" points={linePoints(props.values, max, WIDTH, HEIGHT - 2)} />
      ) : null}
      {props.alert?.some((value) => value > 0) ? (
        <polyline class="sparkline-alert" points={linePoints(props.alert, max, WIDTH, HEIGHT - 2)} />
      ) : null}
    </svg>
  );
}
