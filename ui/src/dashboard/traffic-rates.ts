import { type Sample, sumSamples } from './prometheus-text.ts';

/**
 * Requests and tokens per second, from two scrapes of `GET /metrics`: the counters' increase
 * between them over the time between them — what Prometheus' `rate()` does, over one poll.
 */

export const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/**
 * The routes the dashboard itself polls: left out of the request rate, or the chart would show
 * mostly the page's own polling.
 */
export const DASHBOARD_ROUTES: ReadonlySet<string> = new Set(['/plugins', '/plugins/metrics', '/health', '/metrics']);

/** Counter totals read from one scrape, at `at` (ms since the epoch). */
export interface TrafficTotals {
  readonly at: number;
  readonly requests: Readonly<Record<StatusClass, number>>;
  readonly tokens: { readonly prompt: number; readonly completion: number };
  /**
   * Whose token counts: `token_counter` (the plugin's counts, estimated when a backend reports
   * none) when it runs, else `backend` (Plugboard's own counter of what backends reported).
   */
  readonly tokenSource: 'token_counter' | 'backend';
}

/** Per-second rates between two scrapes. */
export interface TrafficRates {
  readonly at: number;
  readonly requests: Readonly<Record<StatusClass, number>>;
  readonly tokens: { readonly prompt: number; readonly completion: number };
}

/**
 * The totals the charts need from one scrape's samples; `declared` (the scrape's `# TYPE`
 * names) tells that token_counter runs before it counted anything.
 */
export function trafficTotals(
  samples: readonly Sample[],
  at: number,
  declared: ReadonlySet<string> = new Set(),
): TrafficTotals {
  const requests: Record<StatusClass, number> = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
  for (const sample of samples) {
    if (sample.name !== 'plugboard_http_requests_total') continue;
    if (DASHBOARD_ROUTES.has(sample.labels.route ?? '')) continue;
    const statusClass = `${(sample.labels.status ?? '')[0] ?? ''}xx` as StatusClass;
    if (statusClass in requests) requests[statusClass] += sample.value;
  }
  const hasTokenCounter =
    declared.has('token_counter_tokens_total') ||
    samples.some((sample) => sample.name === 'token_counter_tokens_total');
  const tokens = hasTokenCounter
    ? {
        prompt: sumSamples(samples, 'token_counter_tokens_total', { direction: 'prompt' }),
        completion: sumSamples(samples, 'token_counter_tokens_total', { direction: 'completion' }),
      }
    : {
        prompt: sumSamples(samples, 'plugboard_tokens_total', { direction: 'in' }),
        completion: sumSamples(samples, 'plugboard_tokens_total', { direction: 'out' }),
      };
  return { at, requests, tokens, tokenSource: hasTokenCounter ? 'token_counter' : 'backend' };
}

/**
 * The rates between two scrapes (undefined when no time passed between them). A counter that
 * went down was reset (a plugin reloaded starts its counters at 0): its increase is then its
 * new value, as Prometheus counts it.
 *
 * @example
 * ```ts
 * ratesBetween(totalsAt0s, totalsAt2s)?.requests['2xx']; // 1.5 when 3 requests succeeded in 2 s
 * ```
 */
export function ratesBetween(previous: TrafficTotals, current: TrafficTotals): TrafficRates | undefined {
  const seconds = (current.at - previous.at) / 1000;
  if (!(seconds > 0)) return undefined;
  const rate = (before: number, after: number) => increase(before, after) / seconds;
  const requests = Object.fromEntries(
    STATUS_CLASSES.map((statusClass) => [
      statusClass,
      rate(previous.requests[statusClass], current.requests[statusClass]),
    ]),
  ) as Record<StatusClass, number>;
  // A switch of source (token_counter loaded or unloaded) is not traffic: no token rate then.
  const sameSource = previous.tokenSource === current.tokenSource;
  return {
    at: current.at,
    requests,
    tokens: {
      prompt: sameSource ? rate(previous.tokens.prompt, current.tokens.prompt) : 0,
      completion: sameSource ? rate(previous.tokens.completion, current.tokens.completion) : 0,
    },
  };
}

/** How much a counter grew; after a reset (it went down) its whole new value. */
export function increase(before: number, after: number): number {
  return after >= before ? after - before : after;
}
