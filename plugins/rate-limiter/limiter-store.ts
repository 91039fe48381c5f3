import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import {
  type Connections,
  connectionsRef,
  type HealthReport,
  type Logger,
  redactText,
  type ServiceAccess,
} from '../../src/index.ts';
import type { RateLimiterConfig } from './config.ts';
import { rateLimiterErrors } from './errors.ts';
import type { WindowState } from './headers.ts';

type RedisClient = ReturnType<Connections['redis']>;
type Limiter = RateLimiterMemory | RateLimiterRedis;

/** What one count against a store gave. */
export type Count =
  | { readonly kind: 'counted'; readonly state: WindowState }
  /** Over the limit: the request is to be refused. */
  | { readonly kind: 'over'; readonly state: WindowState }
  /** The store cannot be reached and the policy is `closed`. */
  | { readonly kind: 'unavailable'; readonly reason: string };

/** One window counter (requests or tokens of one limit), whatever the store. */
export interface Counter {
  /** Adds `points`; `over` when that passes the limit (the points still count until the window ends). */
  consume(key: string, points: number): Promise<Count>;
  /** Adds `points` and never refuses: for tokens, counted after the reply. */
  add(key: string, points: number): Promise<Count>;
  /** Where the key stands, without counting anything. */
  peek(key: string): Promise<Count>;
  /** Takes `points` back (a request another limit refused). Best effort. */
  refund(key: string, points: number): Promise<void>;
}

/** Where the counters live: the process's memory, or a Redis shared by every instance. */
export interface LimiterStore {
  counter(name: string, points: number, perSeconds: number): Counter;
  health(): HealthReport;
  close(): void;
}

/** How long `initialize` waits for a Redis connection that is still connecting. */
const READY_WAIT_MS = 2_000;

/**
 * Remembers whether the store is down, so that an outage is logged once when it starts and
 * once when it ends (not per request), and shown by the health check with its reason.
 */
class OutageMonitor {
  #down: { readonly reason: string; readonly since: Date } | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly connection: string,
    private readonly policy: 'open' | 'closed',
  ) {}

  get down(): { readonly reason: string; readonly since: Date } | undefined {
    return this.#down;
  }

  markDown(reason: string): void {
    if (this.#down !== undefined) return;
    this.#down = { reason, since: new Date() };
    this.logger.warn(
      { connection: this.connection, on_store_error: this.policy, reason },
      this.policy === 'open'
        ? 'rate limiter: Redis unreachable; each instance now limits alone, in memory, until it is back'
        : 'rate limiter: Redis unreachable; requests are refused with 503 until it is back',
    );
  }

  markUp(): void {
    if (this.#down === undefined) return;
    const seconds = Math.round((Date.now() - this.#down.since.getTime()) / 1000);
    this.#down = undefined;
    this.logger.info({ connection: this.connection, outage_seconds: seconds }, 'rate limiter: Redis is back');
  }
}

function stateOf(result: RateLimiterRes | null, limit: number): WindowState {
  return { limit, consumed: result?.consumedPoints ?? 0, resetMs: result?.msBeforeNext ?? 0 };
}

/**
 * A counter over a primary limiter and, for Redis with `on_store_error: open`, an in-memory
 * fallback: the same thing rate-limiter-flexible's `insuranceLimiter` does, done here so that
 * the store's failure is seen (logged once, shown in health) instead of swallowed.
 */
class WindowCounter implements Counter {
  constructor(
    private readonly primary: Limiter,
    private readonly fallback: RateLimiterMemory | undefined,
    private readonly monitor: OutageMonitor | undefined,
    private readonly reason: (error: unknown) => string,
  ) {}

  consume(key: string, points: number): Promise<Count> {
    return this.#run((limiter) => limiter.consume(key, points));
  }

  add(key: string, points: number): Promise<Count> {
    return this.#run((limiter) => limiter.penalty(key, points));
  }

  peek(key: string): Promise<Count> {
    return this.#run((limiter) => limiter.get(key));
  }

  async refund(key: string, points: number): Promise<void> {
    await this.#run((limiter) => limiter.reward(key, points));
  }

  async #run(operation: (limiter: Limiter) => Promise<RateLimiterRes | null>): Promise<Count> {
    const limit = this.primary.points;
    try {
      const result = await operation(this.primary);
      this.monitor?.markUp();
      return { kind: 'counted', state: stateOf(result, limit) };
    } catch (error) {
      // rate-limiter-flexible refuses with a RateLimiterRes: the store answered, the caller is over.
      if (error instanceof RateLimiterRes) {
        this.monitor?.markUp();
        return { kind: 'over', state: stateOf(error, limit) };
      }
      // Memory cannot be "down": anything else is a bug, and it must fail the call (fail-closed).
      if (this.monitor === undefined) throw error;
      const reason = this.reason(error);
      this.monitor.markDown(reason);
      if (this.fallback === undefined) return { kind: 'unavailable', reason };
      try {
        return { kind: 'counted', state: stateOf(await operation(this.fallback), limit) };
      } catch (fallbackError) {
        if (fallbackError instanceof RateLimiterRes) return { kind: 'over', state: stateOf(fallbackError, limit) };
        throw fallbackError;
      }
    }
  }
}

/** Counters in this process's memory: exact for one instance, gone on restart or reload. */
export function memoryStore(): LimiterStore {
  return {
    counter: (name, points, perSeconds) =>
      new WindowCounter(
        new RateLimiterMemory({ keyPrefix: name, points, duration: perSeconds }),
        undefined,
        undefined,
        String,
      ),
    health: () => ({ status: 'healthy', details: { store: 'memory' } }),
    close: () => {},
  };
}

/**
 * Counters in Redis, through the named shared connection: every instance pointing at the same
 * Redis counts together, atomically (rate-limiter-flexible increments with a Lua script).
 * Does not throw when Redis is down at start: the outage policy applies from the first request.
 *
 * @throws PlugboardError `rate_limiter/STORE_MISSING` when no `connections:` section exists;
 *   `CONNECTION_UNKNOWN` when the connection is not configured.
 */
export async function redisStore(
  config: Extract<RateLimiterConfig['store'], { type: 'redis' }>,
  policy: 'open' | 'closed',
  services: ServiceAccess,
  logger: Logger,
): Promise<LimiterStore> {
  const connections = services.find(connectionsRef);
  if (connections === undefined) {
    throw rateLimiterErrors.STORE_MISSING(
      `rate_limiter: store.connection is "${config.connection}", but the configuration has no connections: section`,
    );
  }
  const client = connections.redis(config.connection);
  // The client's own last error says more ("connect ECONNREFUSED …") than "connection is not ready".
  let lastClientError: string | undefined;
  const onError = (error: unknown) => {
    lastClientError = redactText(error instanceof Error ? error.message : String(error));
  };
  const onReady = () => {
    lastClientError = undefined;
  };
  client.on('error', onError);
  client.on('ready', onReady);
  await settled(client);
  const monitor = new OutageMonitor(logger, config.connection, policy);
  const reason = (error: unknown) => {
    const own = redactText(error instanceof Error ? error.message : String(error));
    return lastClientError === undefined ? own : `${own} (${lastClientError})`;
  };
  return {
    counter: (name, points, perSeconds) =>
      new WindowCounter(
        new RateLimiterRedis({
          storeClient: client,
          keyPrefix: `${config.key_prefix}${name}`,
          points,
          duration: perSeconds,
          // Fail at once while ioredis reconnects, instead of holding every request for its retries.
          rejectIfRedisNotReady: true,
        }),
        policy === 'open' ? new RateLimiterMemory({ keyPrefix: name, points, duration: perSeconds }) : undefined,
        monitor,
        reason,
      ),
    health: () => {
      // A Redis that dropped while no request came is an outage too.
      if (monitor.down === undefined && ['reconnecting', 'close', 'end'].includes(client.status)) {
        monitor.markDown(lastClientError ?? `the connection is ${client.status}`);
      }
      const down = monitor.down;
      const details = { store: 'redis', connection: config.connection, on_store_error: policy };
      if (down === undefined) return { status: 'healthy', details };
      return {
        status: 'degraded',
        message:
          `Redis connection "${config.connection}" unreachable since ${down.since.toISOString()}: ${down.reason}; ` +
          (policy === 'open'
            ? 'each instance limits alone, in memory (on_store_error: open)'
            : 'requests are refused with 503 (on_store_error: closed)'),
        details: { ...details, down_since: down.since.toISOString(), reason: down.reason },
      };
    },
    close: () => {
      // The client is shared and the runtime closes it; only our listeners are ours to remove.
      client.off('error', onError);
      client.off('ready', onReady);
    },
  };
}

/** Resolves when the client is ready, has failed once, or after READY_WAIT_MS: never rejects. */
function settled(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      client.off('error', done);
      client.off('end', done);
      resolve();
    };
    const timer = setTimeout(done, READY_WAIT_MS);
    client.once('ready', done);
    client.once('error', done);
    client.once('end', done);
  });
}
