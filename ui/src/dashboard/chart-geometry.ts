/**
 * Points of a line chart in an SVG viewBox of `width` × `height`: `values` spread evenly from
 * left to right (the newest at the right edge), 0 at the bottom and `max` at the top.
 *
 * @example
 * ```ts
 * linePoints([0, 1, 2], 2, 100, 20); // '0,20 50,10 100,0'
 * ```
 */
export function linePoints(values: readonly number[], max: number, width: number, height: number): string {
  if (values.length === 0) return '';
  const top = max > 0 ? max : 1;
  const step = values.length === 1 ? 0 : width / (values.length - 1);
  return values
    .map((value, index) => {
      const x = values.length === 1 ? width : index * step;
      const y = height - (Math.max(0, Math.min(value, top)) / top) * height;
      return `${round(x)},${round(y)}`;
    })
    .join(' ');
}

/** A round upper bound for a chart's scale: 1, 2 or 5 times a power of ten, at least `value`. */
export function niceMax(value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= value) return factor * power;
  return 10 * power;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
