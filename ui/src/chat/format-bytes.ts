/**
 * Sizes as people read them: `412.3 MB`, `1.2 GB`, `850 B` (decimal units, as download
 * pages and disks count).
 *
 * @example
 * ```ts
 * formatBytes(412_300_000); // '412.3 MB'
 * ```
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}
