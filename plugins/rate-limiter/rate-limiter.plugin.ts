/**
 * The rate_limiter middleware: requests and tokens per window, keyed by principal, client
 * address, model, principal and model, or globally; counted in memory or in a Redis shared by
 * every instance; 429 with Retry-After and x-ratelimit-* headers. See README.md.
 */
import { connectionsRef, defineMiddleware, type Middleware, optionalService } from '../../src/index.ts';
import { type RateLimiterConfig, rateLimiterConfigSchema } from './config.ts';
import { rateLimiterErrors } from './errors.ts';
import { type LimiterStore, memoryStore, redisStore } from './limiter-store.ts';
import { RateLimiter } from './rate-limiter.ts';

/**
 * A fresh rate_limiter plugin (each instance — a config reload makes a new one next to the
 * running one — has its own counters in memory; Redis counters are shared).
 *
 * @example
 * ```ts
 * const manager = await startManager([
 *   backend,
 *   [createRateLimiterPlugin, { config: { limits: [{ key: 'principal', requests: 60, per_seconds: 60 }] } }],
 * ]);
 * ```
 */
export function createRateLimiterPlugin(): Middleware<RateLimiterConfig> {
  let limiter: RateLimiter | undefined;
  let store: LimiterStore | undefined;
  const started = (): RateLimiter => {
    // The runtime calls no method of a plugin that did not start; reaching this is a bug, and
    // throwing makes the fail-closed policy refuse the request rather than let it through.
    if (limiter === undefined) throw new Error('rate_limiter: called before it was initialized');
    return limiter;
  };
  return defineMiddleware<RateLimiterConfig>({
    metadata: {
      name: 'rate_limiter',
      version: '1.0.0',
      description: 'Limits requests and tokens per principal, address or model, in memory or in Redis',
      configSchema: rateLimiterConfigSchema,
      errors: rateLimiterErrors,
      // Optional: the runtime provides connections only when the configuration has a
      // connections: section, and the in-memory store needs none.
      consumes: [optionalService(connectionsRef)],
      // A protection: a bug in it must refuse requests, not open the gates silently. A Redis
      // outage is not a bug: on_store_error decides that case, and never reaches this policy.
      failurePolicy: 'closed',
      // After auth (CRITICAL), so the principal is known; before the other middleware.
      priority: 'HIGH',
    },
    async initialize(config, call) {
      const settings = config.config;
      store =
        settings.store.type === 'redis'
          ? await redisStore(settings.store, settings.on_store_error, call.services, call.logger)
          : memoryStore();
      limiter = new RateLimiter(settings, store);
    },
    async processRequest(context) {
      const refusal = await started().admit(context);
      return refusal === undefined ? context : { decision: 'reject', error: refusal };
    },
    async processResponse(response, context, call) {
      try {
        await started().record(response, context, call.logger);
      } catch (error) {
        // The reply is made and the gate already passed: failing it now would refuse an answer
        // that was paid for. Loud in the log, not silent; the next request is checked as usual.
        call.logger.error({ error: String(error) }, 'rate limiter: could not count the reply’s tokens');
      }
      return response;
    },
    healthCheck() {
      return store?.health() ?? { status: 'unhealthy', message: 'not initialized' };
    },
    shutdown() {
      store?.close();
    },
  });
}

export default createRateLimiterPlugin;
