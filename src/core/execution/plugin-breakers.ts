import {
  type BreakerState,
  type BreakerStatus,
  type CircuitBreakerOptions,
  type DirectTicket,
  PluginCircuitBreaker,
} from './circuit-breaker.ts';

/**
 * The ticket of a call made while every breaker of its plugin is clean (see
 * {@link PluginBreakers.clean}): a failure is then reported to the operation's breaker by
 * {@link PluginBreakers.reportCleanFailure}.
 */
export const CLEAN_TICKET = Object.freeze({}) as DirectTicket;

/** The operation stray errors count against (see {@link PluginBreakers.reportStray}). */
export const STRAY_OPERATION = 'background';

const resolved = (): Promise<void> => Promise.resolve();
const ignore = (): undefined => undefined;

/** A plugin's breakers as status reports show them: the worst state, and each operation that is not closed. */
export interface PluginBreakerStatus extends BreakerStatus {
  /** Operations whose breaker is open or half-open (absent while every breaker is closed). */
  readonly operations?: Readonly<Record<string, BreakerStatus>>;
}

/** Worst first: the plugin's state is the worst of its operations'. */
const SEVERITY: Readonly<Record<BreakerState, number>> = { open: 3, 'half-open': 2, closed: 1, disabled: 0 };

/**
 * One circuit breaker per plugin operation (`processMessage.input`, `processMessage.output`,
 * `streaming.transform`, `chat`, `hook:requestStart` …). Consecutive failures are counted per
 * operation, so that the successes of one method cannot hide the failures of another: a hook
 * that always hangs opens its own circuit even while the plugin's other hook succeeds.
 * An open operation skips only that operation; the plugin's other methods keep running.
 */
export class PluginBreakers {
  readonly #options: CircuitBreakerOptions;
  readonly #byOperation = new Map<string, PluginCircuitBreaker>();
  #lastStrayAt = 0;
  readonly #dirty = (): void => {
    this.clean = false;
  };
  /**
   * True while no failure has counted against any of the plugin's breakers since the last
   * reset: every breaker is closed with nothing pending, so a call needs no breaker at all —
   * the guard skips even the lookup of its operation's breaker (the common, healthy case pays
   * nothing for having one breaker per operation).
   */
  clean = true;

  constructor(options: CircuitBreakerOptions) {
    this.#options = options;
  }

  /** The breaker of one operation, created on first use. */
  for(operation: string): PluginCircuitBreaker {
    let breaker = this.#byOperation.get(operation);
    if (breaker === undefined) {
      breaker = new PluginCircuitBreaker(this.#options, this.#dirty);
      this.#byOperation.set(operation, breaker);
    }
    return breaker;
  }

  /** True while any operation's circuit is open or half-open. */
  get isOpen(): boolean {
    for (const breaker of this.#byOperation.values()) if (breaker.isOpen) return true;
    return false;
  }

  /** The worst state over every operation, times opened in all, and the operations not closed. */
  get status(): PluginBreakerStatus {
    if (!this.#options.enabled) return { state: 'disabled', opened: 0 };
    let state: BreakerState = 'closed';
    let opened = 0;
    let lastOpenedAt: string | undefined;
    const operations: Record<string, BreakerStatus> = {};
    for (const [operation, breaker] of this.#byOperation) {
      const status = breaker.status;
      opened += status.opened;
      if (status.lastOpenedAt !== undefined && (lastOpenedAt === undefined || status.lastOpenedAt > lastOpenedAt)) {
        lastOpenedAt = status.lastOpenedAt;
      }
      if (SEVERITY[status.state] > SEVERITY[state]) state = status.state;
      if (status.state === 'open' || status.state === 'half-open') operations[operation] = status;
    }
    return {
      state,
      opened,
      ...(lastOpenedAt === undefined ? {} : { lastOpenedAt }),
      ...(Object.keys(operations).length === 0 ? {} : { operations }),
    };
  }

  /** Reports the failure of a call made with {@link CLEAN_TICKET} to its operation's breaker. */
  reportCleanFailure(operation: string, error: unknown): Promise<void> {
    const breaker = this.for(operation);
    const ticket = breaker.directTicket();
    return ticket === undefined ? Promise.resolve() : breaker.reportDirectFailure(ticket, error);
  }

  /**
   * Counts an error the plugin let escape every call (a floating rejection, a throw from its
   * timer; see `PluginManager.reportStrayError`) on its `background` circuit. Such errors
   * have no successes between them to reset the count, so a quiet spell as long as the
   * circuit's pause does: `failureThreshold` stray errors, each within `halfOpenAfterMs` of
   * the one before, open it.
   */
  reportStray(error: unknown): Promise<void> {
    const breaker = this.for(STRAY_OPERATION);
    const now = Date.now();
    if (now - this.#lastStrayAt > this.#options.halfOpenAfterMs && !breaker.isOpen) breaker.reset();
    this.#lastStrayAt = now;
    return breaker.run(() => Promise.reject(error)).catch(ignore);
  }

  /**
   * True while the plugin's stray errors hold its `background` circuit open: every call of
   * the plugin is then skipped, as an open circuit's are (the plugin is broken in a way no
   * single operation shows). Once the pause is over the circuit closes again.
   */
  strayCircuitOpen(): boolean {
    if (this.clean) return false;
    const breaker = this.#byOperation.get(STRAY_OPERATION);
    if (breaker === undefined || !breaker.isOpen) return false;
    if (!breaker.admitsCall) return true;
    void breaker.run(resolved).catch(ignore);
    return false;
  }

  /** Closes every operation's circuit and forgets past failures (FR-6 manual reset). */
  reset(): void {
    for (const breaker of this.#byOperation.values()) breaker.reset();
    this.clean = true;
  }
}
