import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  IsolatedCircuitError,
} from 'cockatiel';
import { isPlugboardError, isRefusal } from '../errors/plugboard-error.ts';

/** Circuit breaker settings (FR-6). */
export interface CircuitBreakerOptions {
  /** When false, plugins are never skipped (`enable_circuit_breaker: false`). */
  readonly enabled: boolean;
  /** Consecutive failures that open the circuit. */
  readonly failureThreshold: number;
  /** Time after which an open circuit lets one trial call through. */
  readonly halfOpenAfterMs: number;
}

export const DEFAULT_CIRCUIT_BREAKER: CircuitBreakerOptions = {
  enabled: true,
  failureThreshold: 5,
  halfOpenAfterMs: 60_000,
};

/** The state of a plugin's breaker as reported in status and metrics. */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'disabled';

/** Snapshot of a breaker for status endpoints. */
export interface BreakerStatus {
  readonly state: BreakerState;
  /** Times the circuit opened since the plugin loaded. */
  readonly opened: number;
  /** ISO time the circuit last opened. */
  readonly lastOpenedAt?: string;
}

declare const directTicketBrand: unique symbol;
/** Opaque token of a call on the breaker's fast path: see {@link PluginCircuitBreaker.directTicket}. */
export type DirectTicket = { readonly [directTicketBrand]: true };
const BREAKER_DISABLED = Object.freeze({}) as DirectTicket;

/**
 * One plugin's circuit breaker: cockatiel's consecutive breaker, with a manual reset
 * (cockatiel has none, so reset swaps in a fresh policy). Aborted requests are not the
 * plugin's fault and do not count as failures.
 */
export class PluginCircuitBreaker {
  #policy: CircuitBreakerPolicy | undefined;
  /** A failure was reported and no success has reset the consecutive count yet. */
  #failurePending = false;
  #opened = 0;
  #lastOpenedAt: string | undefined;
  #openedAtMs = 0;

  /**
   * @param onFailure told each time a failure counts against this breaker (its plugin's
   *   breakers then leave their fast path, see PluginBreakers.clean)
   */
  constructor(
    private readonly options: CircuitBreakerOptions,
    private readonly onFailure: () => void = noop,
  ) {
    this.#policy = this.#create();
  }

  /**
   * Runs `fn` through the breaker; rejects with a {@link isBreakerRejection} error while open.
   *
   * Fast path: while the circuit is closed and no failure is pending, a success changes
   * nothing in a consecutive breaker, so `fn` runs directly and only a failure is reported
   * to cockatiel (by executing a rejection through it). After a failure every call goes
   * through cockatiel until a success resets the count. cockatiel stays the one source of
   * truth for state; the fast path only saves its per-call cost (~200 ns) on the happy path.
   */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const policy = this.#policy;
    if (policy === undefined) return fn();
    if (!this.#failurePending && policy.state === CircuitState.Closed) {
      return fn().catch(async (error: unknown) => {
        await this.#reportFailure(policy, error);
        throw error;
      });
    }
    return policy.execute(fn).then(
      (value) => {
        if (this.#policy === policy) this.#failurePending = false;
        return value;
      },
      (error: unknown) => {
        if (!isBreakerRejection(error) && countsAsFailure(error) && this.#policy === policy) {
          this.#failurePending = true;
          this.onFailure();
        }
        throw error;
      },
    );
  }

  /** True while the circuit is not closed (open or half-open). A cheap check for status. */
  get isOpen(): boolean {
    return this.#policy !== undefined && this.#policy.state !== CircuitState.Closed;
  }

  /**
   * Whether a synchronous call, which cannot go through {@link run} (a streaming transform),
   * may run now: not while open, until `halfOpenAfterMs` has passed. Such a caller reports
   * outcomes through `run` (a success while {@link isOpen} is the trial that closes it).
   */
  get admitsCall(): boolean {
    const policy = this.#policy;
    if (policy === undefined || policy.state !== CircuitState.Open) return true;
    return Date.now() - this.#openedAtMs >= this.options.halfOpenAfterMs;
  }

  /**
   * The fast path of {@link run} for a caller that runs the call itself, so that a plugin
   * method answering synchronously costs no promise: a ticket when `run` would call `fn`
   * directly (breaker disabled, or closed with no failure pending), undefined when the call
   * must go through `run`. The caller reports a failed direct call with
   * {@link reportDirectFailure} and this ticket; a success needs no report, as in `run`.
   */
  directTicket(): DirectTicket | undefined {
    const policy = this.#policy;
    if (policy === undefined) return BREAKER_DISABLED;
    return !this.#failurePending && policy.state === CircuitState.Closed
      ? (policy as unknown as DirectTicket)
      : undefined;
  }

  /** Reports the failure of a call made on a {@link directTicket}, exactly as `run`'s fast path does. */
  reportDirectFailure(ticket: DirectTicket, error: unknown): Promise<void> {
    if (ticket === BREAKER_DISABLED) return Promise.resolve();
    return this.#reportFailure(ticket as unknown as CircuitBreakerPolicy, error);
  }

  async #reportFailure(policy: CircuitBreakerPolicy, error: unknown): Promise<void> {
    if (!countsAsFailure(error) || this.#policy !== policy) return;
    this.#failurePending = true;
    this.onFailure();
    await policy.execute(() => Promise.reject(error)).catch(() => undefined);
  }

  get status(): BreakerStatus {
    return {
      state: this.#state(),
      opened: this.#opened,
      ...(this.#lastOpenedAt === undefined ? {} : { lastOpenedAt: this.#lastOpenedAt }),
    };
  }

  /** Closes the circuit and forgets past failures (FR-6 manual reset). */
  reset(): void {
    this.#failurePending = false;
    this.#policy = this.#create();
  }

  #state(): BreakerState {
    if (this.#policy === undefined) return 'disabled';
    switch (this.#policy.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.HalfOpen:
        return 'half-open';
      default:
        return 'open';
    }
  }

  #create(): CircuitBreakerPolicy | undefined {
    if (!this.options.enabled) return undefined;
    const policy = circuitBreaker(handleWhen(countsAsFailure), {
      halfOpenAfter: this.options.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(this.options.failureThreshold),
    });
    policy.onBreak(() => {
      this.#opened++;
      this.#openedAtMs = Date.now();
      this.#lastOpenedAt = new Date(this.#openedAtMs).toISOString();
    });
    return policy;
  }
}

/** True for the errors a breaker throws instead of running the call. */
export function isBreakerRejection(error: unknown): boolean {
  return error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError;
}

/**
 * Errors that say nothing about the plugin's health: the request was aborted, or it was the
 * caller's to fix (an unknown model, an invalid request), or the plugin refused it on purpose
 * (`isRefusal`). Five mistyped model names in a row must not open a backend's circuit for
 * everyone, nor five blocked replies a content filter's.
 */
const NOT_THE_PLUGINS_FAULT = new Set(['REQUEST_ABORTED', 'REQUEST_INVALID', 'MODEL_NOT_FOUND']);

function countsAsFailure(error: unknown): boolean {
  return !((isPlugboardError(error) && NOT_THE_PLUGINS_FAULT.has(error.code)) || isRefusal(error));
}

function noop(): void {}
