/**
 * How the dashboard writes numbers and times: short, and the same everywhere.
 *
 * @example
 * ```ts
 * formatUptime(93784); // '1 d 2 h 3 min'
 * formatRate(0.25);    // '0.25'
 * formatMs(1.234);     // '1.23 ms'
 * ```
 */

/** A rate per second: more digits for small values, none for large ones. */
export function formatRate(value: number): string {
  if (!Number.isFinite(value) || value === 0) return '0';
  if (value >= 100) return String(Math.round(value));
  if (value >= 10) return value.toFixed(1);
  return String(Number(value.toFixed(2)));
}

/** A duration in milliseconds. */
export function formatMs(value: number): string {
  if (!Number.isFinite(value)) return '–';
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 10) return `${Math.round(value)} ms`;
  return `${Number(value.toFixed(2))} ms`;
}

/** An uptime in seconds, to the minute (to the second under a minute). */
export function formatUptime(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 60) return `${Math.floor(seconds)} s`;
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return [days > 0 ? `${days} d` : '', hours > 0 ? `${hours} h` : '', `${minutes} min`].filter(Boolean).join(' ');
}

/** A whole count with thousands separators. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** A time of day (local), with seconds: when something happened while the page was open. */
export function formatClock(at: number | string): string {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? String(at) : date.toLocaleTimeString([], { hour12: false });
}

/** A server timestamp: its time of day when it is today, else its date and time (local). */
export function formatWhen(at: string): string {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return at;
  return date.toDateString() === new Date().toDateString() ? formatClock(at) : formatDateTime(at);
}

/** A date and time (local) for server timestamps that may be days old. */
export function formatDateTime(at: string): string {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? at : date.toLocaleString([], { hour12: false });
}

/** `message-processor` → `message processor`. */
export function formatKind(kind: string): string {
  return kind.replace(/-/g, ' ');
}
