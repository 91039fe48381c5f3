/** Where a caller stands in one limit's window. */
export interface WindowState {
  /** The limit: requests or tokens per window. */
  readonly limit: number;
  /** Used in this window (may exceed `limit`: refused requests count too, until the window ends). */
  readonly consumed: number;
  /** Milliseconds until the window ends and the count starts over. */
  readonly resetMs: number;
}

/** Whole seconds until the window ends, at least 1: a client told "0" would retry at once, and be refused. */
export function resetSeconds(state: Pick<WindowState, 'resetMs'>): number {
  return Math.max(1, Math.ceil(state.resetMs / 1000));
}

/**
 * The headers of a refusal: `Retry-After` (RFC 9110, seconds) and `x-ratelimit-limit`,
 * `x-ratelimit-remaining`, `x-ratelimit-reset` (seconds until the window ends, as in the
 * IETF RateLimit-headers draft — not an epoch, so clocks need not agree).
 *
 * @example
 * ```ts
 * limitHeaders({ limit: 5, consumed: 6, resetMs: 41_200 });
 * // { 'retry-after': '42', 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '42' }
 * ```
 */
export function limitHeaders(state: WindowState): Record<string, string> {
  const reset = String(resetSeconds(state));
  return {
    'retry-after': reset,
    'x-ratelimit-limit': String(state.limit),
    'x-ratelimit-remaining': String(Math.max(0, state.limit - state.consumed)),
    'x-ratelimit-reset': reset,
  };
}
