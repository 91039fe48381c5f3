/**
 * Token budgets per principal and window, kept in the key-value store (`keyValueStoreRef`), so
 * that every instance sharing the store (a Redis provider) sees one budget.
 */
import { createHash } from 'node:crypto';
import type { ChatContext, KeyValueStore, Logger, PlugboardError } from '../../src/index.ts';
import { type AnonymousPolicy, type BudgetConfig, budgetName, type CountedOperation } from './config.ts';
import { tokenCounterErrors } from './errors.ts';

/** Who a budget counts for one request. */
export interface Subject {
  /** The counter's key part: prefixed by kind, so a principal named like an address never shares one. */
  readonly id: string;
  /** For messages: `principal`, `anonymous callers (shared)`, `ip (no principal)`. Never the id itself. */
  readonly described: string;
}

/** Longer key parts (a principal id is whatever the auth plugin set) are hashed, so a key stays small. */
const MAX_PART = 128;

function part(value: string): string {
  return value.length <= MAX_PART ? value : `sha256:${createHash('sha256').update(value).digest('hex')}`;
}

/**
 * The subject of the budgets for this request, or `undefined` when none applies (an anonymous
 * request with `anonymous: exempt`).
 *
 * @example
 * ```ts
 * subjectOf(context, 'shared'); // { id: 'principal:alice', described: 'principal' }, or { id: 'anonymous', … }
 * ```
 */
export function subjectOf(context: ChatContext, anonymous: AnonymousPolicy): Subject | undefined {
  const principal = context.principal?.id;
  if (principal !== undefined) return { id: `principal:${part(principal)}`, described: 'principal' };
  switch (anonymous) {
    case 'exempt':
      return undefined;
    case 'shared':
      return { id: 'anonymous', described: 'anonymous callers (shared)' };
    case 'per_ip':
      return { id: `ip:${part(context.client?.address ?? 'unknown')}`, described: 'ip (no principal)' };
  }
}

/** A window of a budget: `[start, end)` in epoch milliseconds. */
export interface Window {
  readonly start: number;
  readonly end: number;
}

/**
 * The window `now` falls in. Windows are aligned to multiples of `perSeconds` since the Unix
 * epoch (86400 → each UTC day from midnight), not to a caller's first request: every instance
 * computes the same window and its reset time without asking the store, and a client is told
 * a reset time that does not depend on when it happened to start.
 *
 * @example
 * ```ts
 * windowOf(3600, Date.parse('2026-01-01T10:20:00Z')); // 10:00 to 11:00 UTC
 * ```
 */
export function windowOf(perSeconds: number, now: number): Window {
  const size = perSeconds * 1000;
  const start = Math.floor(now / size) * size;
  return { start, end: start + size };
}

/** Where a subject stands in one budget's current window. */
export interface BudgetState {
  readonly name: string;
  readonly limit: number;
  /** Tokens counted in this window (may exceed `limit`: a request that started under budget is not cut). */
  readonly used: number;
  readonly perSeconds: number;
  /** When the window ends (epoch ms). */
  readonly resetAt: number;
}

/** What a check found. */
export type BudgetCheck =
  /** No budget applies (no budgets, another operation, an exempt caller). */
  | { readonly kind: 'none' }
  /** Within every budget; `tightest` has the least left. */
  | { readonly kind: 'within'; readonly tightest: BudgetState; readonly described: string }
  /** A budget is spent: `state` is the one that resets last (it decides when the caller may come back). */
  | { readonly kind: 'over'; readonly state: BudgetState; readonly described: string }
  /** The store failed, and `on_store_error` says what follows. */
  | { readonly kind: 'store_down'; readonly policy: 'open' | 'closed' };

interface Budget {
  readonly config: BudgetConfig;
  readonly name: string;
}

/** Settings of a {@link BudgetBook}. */
export interface BudgetBookOptions {
  readonly anonymous: AnonymousPolicy;
  readonly onStoreError: 'open' | 'closed';
  readonly logger: Logger;
  /** The clock (epoch ms); tests move it. */
  readonly now?: () => number;
}

/**
 * The configured budgets over a key-value store: checks a request against them before it runs,
 * and charges what it used after. Counters are fixed windows (`increment` with a ttl set when
 * the window's counter is created).
 *
 * @example
 * ```ts
 * const book = new BudgetBook(config.budgets.per_principal, store.withPrefix('token_counter:'), options);
 * const check = await book.check(context); // 'over' → refuse with budgetRefusal(check)
 * await book.charge(context, 120);
 * ```
 */
export class BudgetBook {
  readonly #budgets: readonly Budget[];
  readonly #store: KeyValueStore;
  readonly #options: BudgetBookOptions;
  readonly #now: () => number;
  #down: { readonly reason: string; readonly since: number } | undefined;

  constructor(budgets: readonly BudgetConfig[], store: KeyValueStore, options: BudgetBookOptions) {
    this.#budgets = budgets.map((config) => ({ config, name: budgetName(config) }));
    this.#store = store;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** How many budgets are configured. */
  get size(): number {
    return this.#budgets.length;
  }

  /** Since when and why the store fails, while it does. */
  get down(): { readonly reason: string; readonly since: number } | undefined {
    return this.#down;
  }

  #applicable(operation: string): readonly Budget[] {
    return this.#budgets.filter((budget) => budget.config.operations?.includes(operation as CountedOperation) ?? true);
  }

  #key(budget: Budget, window: Window, subject: Subject): string {
    return `${budget.name}:${window.start / 1000}:${subject.id}`;
  }

  /** Where the request's subject stands in each budget that applies to it (one read per budget, in parallel). */
  async check(context: ChatContext): Promise<BudgetCheck> {
    const budgets = this.#applicable(context.operation);
    if (budgets.length === 0) return { kind: 'none' };
    const subject = subjectOf(context, this.#options.anonymous);
    if (subject === undefined) return { kind: 'none' };
    const now = this.#now();
    const windows = budgets.map((budget) => windowOf(budget.config.per_seconds, now));
    let values: unknown[];
    try {
      values = await Promise.all(
        budgets.map((budget, index) => this.#store.get(this.#key(budget, windows[index]!, subject))),
      );
      this.#markUp();
    } catch (error) {
      this.#markDown(error);
      return { kind: 'store_down', policy: this.#options.onStoreError };
    }
    const states = budgets.map(
      (budget, index): BudgetState => ({
        name: budget.name,
        limit: budget.config.tokens,
        used: typeof values[index] === 'number' ? (values[index] as number) : 0,
        perSeconds: budget.config.per_seconds,
        resetAt: windows[index]!.end,
      }),
    );
    const over = states.filter((state) => state.used >= state.limit);
    if (over.length > 0) {
      const last = over.reduce((latest, state) => (state.resetAt > latest.resetAt ? state : latest));
      return { kind: 'over', state: last, described: subject.described };
    }
    const tightest = states.reduce((least, state) =>
      state.limit - state.used < least.limit - least.used ? state : least,
    );
    return { kind: 'within', tightest, described: subject.described };
  }

  /**
   * Adds `tokens` to every budget that applies to the request, in the window of `at` (the
   * request's end): `charged`; `nothing` when no budget applies (or no tokens); `failed` when
   * the store failed (logged once per outage, shown in health).
   */
  async charge(context: ChatContext, tokens: number, at = this.#now()): Promise<'charged' | 'nothing' | 'failed'> {
    const amount = Math.round(tokens);
    if (!(amount > 0)) return 'nothing';
    const budgets = this.#applicable(context.operation);
    const subject = budgets.length === 0 ? undefined : subjectOf(context, this.#options.anonymous);
    if (subject === undefined) return 'nothing';
    try {
      await Promise.all(
        budgets.map((budget) => {
          const window = windowOf(budget.config.per_seconds, at);
          // Kept a little past its window (at most a minute), for an instance whose clock is behind.
          const ttlMs = Math.ceil(window.end - at + Math.min(60_000, budget.config.per_seconds * 1000));
          return this.#store.increment(this.#key(budget, window, subject), amount, { ttlMs });
        }),
      );
      this.#markUp();
      return 'charged';
    } catch (error) {
      this.#markDown(error);
      return 'failed';
    }
  }

  #markDown(error: unknown): void {
    if (this.#down !== undefined) return;
    const reason = error instanceof Error ? error.message : String(error);
    this.#down = { reason, since: this.#now() };
    this.#options.logger.warn(
      { on_store_error: this.#options.onStoreError, reason },
      this.#options.onStoreError === 'open'
        ? 'token counter: the key-value store fails; budgets are not enforced until it is back'
        : 'token counter: the key-value store fails; budgeted requests are refused with 503 until it is back',
    );
  }

  #markUp(): void {
    if (this.#down === undefined) return;
    const seconds = Math.round((this.#now() - this.#down.since) / 1000);
    this.#down = undefined;
    this.#options.logger.info({ outage_seconds: seconds }, 'token counter: the key-value store is back');
  }
}

/** Whole seconds until `resetAt`, at least 1: a client told "0" would retry at once, and be refused. */
export function secondsUntil(resetAt: number, now: number): number {
  return Math.max(1, Math.ceil((resetAt - now) / 1000));
}

/**
 * The 429 for a spent budget: the limit, the use and when it resets (an ISO time, and
 * `Retry-After` in seconds), never the caller's id.
 *
 * @example
 * ```ts
 * budgetRefusal(check.state, 'principal', Date.now()).message;
 * // 'Token budget "daily" exceeded: 10250 of 10000 tokens used in this 86400-second window per principal. Resets at 2026-01-02T00:00:00.000Z (in 3600 s).'
 * ```
 */
export function budgetRefusal(state: BudgetState, described: string, now: number): PlugboardError {
  const seconds = secondsUntil(state.resetAt, now);
  return tokenCounterErrors.BUDGET_EXCEEDED(
    `Token budget "${state.name}" exceeded: ${state.used} of ${state.limit} tokens used in this ${state.perSeconds}-second window per ${described}. ` +
      `Resets at ${new Date(state.resetAt).toISOString()} (in ${seconds} s).`,
    { headers: { 'retry-after': String(seconds), ...budgetHeaders(state, now) } },
  );
}

/**
 * `x-token-budget-limit`, `x-token-budget-remaining` and `x-token-budget-reset` (seconds until
 * the window ends, as `x-ratelimit-reset` is: a delay, not a date, so clocks need not agree).
 */
export function budgetHeaders(state: BudgetState, now: number): Record<string, string> {
  return {
    'x-token-budget-limit': String(state.limit),
    'x-token-budget-remaining': String(Math.max(0, state.limit - state.used)),
    'x-token-budget-reset': String(secondsUntil(state.resetAt, now)),
  };
}
