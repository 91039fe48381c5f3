/**
 * Ollama's `keep_alive`: how long the backend should keep a model loaded after a request.
 * Plugboard forwards it to the backend (`options.keepAlive`) and uses it to estimate which
 * models are "running" for `GET /api/ps`.
 */

/** Ollama's default when a request gives no `keep_alive`. */
export const DEFAULT_KEEP_ALIVE_MS = 5 * 60_000;

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

// Go's time.ParseDuration syntax, which Ollama uses for string values: "5m", "1h30m", "300ms".
const GO_DURATION = /^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const GO_DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
// Ollama rejects unit-less strings other than "0", but its own OLLAMA_KEEP_ALIVE variable
// accepts "-1" and "300": clients copy those into requests, so Plugboard reads them as seconds.
const SECONDS = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/**
 * A `keep_alive` value in milliseconds: a number is seconds, a string a Go duration or a
 * number of seconds; any negative value means "forever" (`Infinity`), 0 "unload now".
 * `undefined` (absent) gives Ollama's default of 5 minutes.
 *
 * @returns `undefined` when the value is not a duration (the request is then invalid).
 * @example
 * ```ts
 * keepAliveMs('1h30m'); // 5_400_000
 * keepAliveMs(-1); // Infinity
 * keepAliveMs('soon'); // undefined
 * ```
 */
export function keepAliveMs(value: string | number | null | undefined): number | undefined {
  if (value === undefined || value === null) return DEFAULT_KEEP_ALIVE_MS;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    return value < 0 ? Number.POSITIVE_INFINITY : value * 1000;
  }
  const text = value.trim();
  if (SECONDS.test(text)) return keepAliveMs(Number(text));
  if (!GO_DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(GO_DURATION_PART)) total += Number(amount) * UNIT_MS[unit!]!;
  return text.startsWith('-') && total > 0 ? Number.POSITIVE_INFINITY : total;
}
