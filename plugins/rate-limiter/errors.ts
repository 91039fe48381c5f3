import { defineErrors } from '../../src/index.ts';

/**
 * The rate_limiter plugin's error codes. Messages name the limit (its kind, N per S seconds)
 * and when it resets, never the caller's key, principal id or address.
 */
export const rateLimiterErrors = defineErrors('rate_limiter', {
  LIMITED: {
    summary: 'The caller went over a rate limit (requests or tokens per window)',
    hint: 'Wait for the number of seconds in Retry-After (x-ratelimit-reset says when the window ends), or ask for a larger limit.',
    status: 429,
  },
  STORE_UNAVAILABLE: {
    summary: 'The rate limiter cannot reach its store (Redis) and is configured to refuse requests then',
    hint: 'Bring the Redis connection back (GET /health names it), or set on_store_error: open to limit per instance in memory during an outage.',
    status: 503,
  },
  STORE_MISSING: {
    summary: 'The rate limiter names a Redis connection, but no connections: section is configured',
    hint: 'Add the connection under connections.redis in the configuration, or use store: { type: memory }.',
    status: 500,
  },
});
