import type { ChatContext, ChatResponse, Logger, PlugboardError } from '../../src/index.ts';
import { type LimitConfig, limitName, type RateLimiterConfig } from './config.ts';
import { rateLimiterErrors } from './errors.ts';
import { limitHeaders, resetSeconds, type WindowState } from './headers.ts';
import { subjectOf } from './keys.ts';
import type { Count, Counter, LimiterStore } from './limiter-store.ts';

/** One configured limit, with its counters. */
interface Limit {
  readonly config: LimitConfig;
  readonly name: string;
  readonly requests: Counter | undefined;
  readonly tokens: Counter | undefined;
}

/** A limit a request went over, and where it stands. */
interface Overrun {
  readonly limit: Limit;
  readonly unit: 'requests' | 'tokens';
  readonly described: string;
  readonly state: WindowState;
}

/**
 * Applies the configured limits to requests: counts each request against every limit whose
 * `operations` match, refuses it when one is exceeded (or a token budget is spent), and counts
 * the tokens a reply used afterwards.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter(config, memoryStore());
 * const refusal = await limiter.admit(context); // a PlugboardError (429 or 503), or undefined
 * ```
 */
export class RateLimiter {
  readonly #limits: readonly Limit[];
  readonly #ipHeader: string | undefined;

  constructor(config: RateLimiterConfig, store: LimiterStore) {
    this.#ipHeader = config.ip_header;
    this.#limits = config.limits.map((limit) => {
      const name = limitName(limit);
      return {
        config: limit,
        name,
        requests:
          limit.requests === undefined ? undefined : store.counter(`${name}:req`, limit.requests, limit.per_seconds),
        tokens: limit.tokens === undefined ? undefined : store.counter(`${name}:tok`, limit.tokens, limit.per_seconds),
      };
    });
  }

  /** The limits that apply to this request's operation. */
  #applicable(context: ChatContext): readonly Limit[] {
    return this.#limits.filter((limit) => limit.config.operations?.includes(context.operation) ?? true);
  }

  /**
   * Counts the request; returns the error to refuse it with, or `undefined` to let it pass.
   * Token budgets are only looked at (tokens are counted after the reply); request counts are
   * taken in parallel, and given back to the other limits when one limit refuses.
   */
  async admit(context: ChatContext): Promise<PlugboardError | undefined> {
    const limits = this.#applicable(context);
    if (limits.length === 0) return undefined;
    const subjects = new Map(limits.map((limit) => [limit, subjectOf(limit.config.key, context, this.#ipHeader)]));

    const budgets = await Promise.all(
      limits.flatMap((limit) => (limit.tokens === undefined ? [] : [this.#budget(limit, subjects.get(limit)!.id)])),
    );
    const unavailable = budgets.find((count) => count?.kind === 'unavailable');
    if (unavailable !== undefined) return this.#unavailable();
    const spent = limits
      .filter((limit) => limit.tokens !== undefined)
      .flatMap((limit, index): Overrun[] => {
        const count = budgets[index];
        return count?.kind === 'over'
          ? [{ limit, unit: 'tokens', described: subjects.get(limit)!.described, state: count.state }]
          : [];
      });
    if (spent.length > 0) return this.#refusal(spent);

    const counted = limits.filter((limit) => limit.requests !== undefined);
    const counts = await Promise.all(counted.map((limit) => limit.requests!.consume(subjects.get(limit)!.id, 1)));
    const passed = counted.filter((_, index) => counts[index]?.kind === 'counted');
    const refund = () =>
      Promise.all(passed.map((limit) => limit.requests!.refund(subjects.get(limit)!.id, 1))).then(() => undefined);

    if (counts.some((count) => count.kind === 'unavailable')) {
      await refund();
      return this.#unavailable();
    }
    const over = counted.flatMap((limit, index): Overrun[] => {
      const count = counts[index];
      return count?.kind === 'over'
        ? [{ limit, unit: 'requests', described: subjects.get(limit)!.described, state: count.state }]
        : [];
    });
    if (over.length === 0) return undefined;
    // A refused request should not use up the caller's other limits.
    await refund();
    return this.#refusal(over);
  }

  /** A token budget's state: `over` once the tokens counted in this window reach the limit. */
  async #budget(limit: Limit, key: string): Promise<Count> {
    const count = await limit.tokens!.peek(key);
    if (count.kind === 'counted' && count.state.consumed >= count.state.limit) return { ...count, kind: 'over' };
    return count;
  }

  /**
   * Counts the tokens a reply used (prompt + completion, from its `usage`) against the token
   * budgets of the limits that apply. A reply without usage counts nothing.
   */
  async record(response: ChatResponse, context: ChatContext, logger: Logger): Promise<void> {
    const used = (response.usage?.promptTokens ?? 0) + (response.usage?.completionTokens ?? 0);
    if (used <= 0) return;
    const limits = this.#applicable(context).filter((limit) => limit.tokens !== undefined);
    const counts = await Promise.all(
      limits.map((limit) =>
        limit.tokens!.add(subjectOf(limit.config.key, context, this.#ipHeader).id, Math.round(used)),
      ),
    );
    // The reply is already made: with the store down and on_store_error: closed, these tokens are lost.
    if (counts.some((count) => count.kind === 'unavailable')) {
      logger.debug({ tokens: used }, 'rate limiter: tokens not counted, the store is unreachable');
    }
  }

  /** The 429 for the overrun the caller must wait longest for (it is the one that decides). */
  #refusal(overruns: readonly Overrun[]): PlugboardError {
    const worst = overruns.reduce((longest, overrun) =>
      overrun.state.resetMs > longest.state.resetMs ? overrun : longest,
    );
    const { limit, unit, described, state } = worst;
    const label = limit.config.name === undefined ? '' : ` "${limit.config.name}"`;
    const what =
      unit === 'requests'
        ? `Rate limit${label} exceeded: ${state.limit} requests`
        : `Token limit${label} exceeded: ${state.limit} tokens`;
    const seconds = resetSeconds(state);
    return rateLimiterErrors.LIMITED(
      `${what} per ${limit.config.per_seconds} seconds per ${described}. Resets in ${seconds} s.`,
      { headers: limitHeaders(state) },
    );
  }

  #unavailable(): PlugboardError {
    // The reason goes to the log and /health only, not to the client: it names hosts and ports.
    return rateLimiterErrors.STORE_UNAVAILABLE(
      'The rate limiter cannot reach its store, and refuses requests until it is back (on_store_error: closed).',
    );
  }
}
