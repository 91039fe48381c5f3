/**
 * Bytes per second over the last few seconds of a transfer: steadier than the last chunk's
 * rate, and it follows a change of speed sooner than the average since the start.
 *
 * @example
 * ```ts
 * const rate = new TransferRate();
 * rate.add(received); // after each chunk
 * rate.bytesPerSecond(); // 1_234_567
 * ```
 */
export class TransferRate {
  readonly #samples: { at: number; bytes: number }[] = [];
  #latest: { at: number; bytes: number } | undefined;
  readonly #windowMs: number;
  readonly #now: () => number;

  constructor(windowMs = 5000, now: () => number = () => performance.now()) {
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** Records that `bytes` have been transferred in all (a running total, not a chunk). */
  add(bytes: number): void {
    const at = this.#now();
    this.#latest = { at, bytes };
    // One sample per 100 ms is plenty: thousands of chunks a second must not grow the list.
    const last = this.#samples.at(-1);
    if (last === undefined || at - last.at >= 100) this.#samples.push({ at, bytes });
    while (this.#samples.length > 2 && at - (this.#samples[0]?.at ?? at) > this.#windowMs) this.#samples.shift();
  }

  /** 0 until two records are at least a millisecond apart. */
  bytesPerSecond(): number {
    const first = this.#samples[0];
    const latest = this.#latest;
    if (first === undefined || latest === undefined || latest.at - first.at < 1) return 0;
    return Math.round(((latest.bytes - first.bytes) * 1000) / (latest.at - first.at));
  }
}
