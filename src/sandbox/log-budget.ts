/**
 * How many log lines a sandboxed plugin may put in the server's log: a token bucket (`perSecond`
 * refilled, `burst` at most). A plugin flooding the log (its own `call.logger`, or stderr) cannot
 * drown the server's lines or fill its disk; what was dropped is said once the flood stops.
 *
 * @example
 * ```ts
 * const budget = new LogBudget(100, 200);
 * if (budget.take()) logger.info(fields, message);
 * const dropped = budget.dropped(); // lines refused since the last call
 * ```
 */
export class LogBudget {
  #tokens: number;
  #at = Date.now();
  #dropped = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.#tokens = burst;
  }

  /** True when one more line may be logged now. */
  take(): boolean {
    const now = Date.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.perSecond);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    this.#dropped++;
    return false;
  }

  /** Lines refused since the last call (and resets the count). */
  dropped(): number {
    const dropped = this.#dropped;
    this.#dropped = 0;
    return dropped;
  }
}
