/**
 * The last `capacity` items pushed, oldest first: the samples a sparkline or a chart draws.
 * Immutable (push returns a new buffer) so a Preact state holding one re-renders on change.
 *
 * @example
 * ```ts
 * let samples = RingBuffer.empty<number>(3);
 * for (const n of [1, 2, 3, 4]) samples = samples.push(n);
 * samples.items; // [2, 3, 4]
 * ```
 */
export class RingBuffer<T> {
  private constructor(
    readonly capacity: number,
    readonly items: readonly T[],
  ) {}

  static empty<T>(capacity: number): RingBuffer<T> {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    return new RingBuffer<T>(capacity, []);
  }

  push(item: T): RingBuffer<T> {
    const kept =
      this.items.length < this.capacity ? this.items : this.items.slice(this.items.length - this.capacity + 1);
    return new RingBuffer(this.capacity, [...kept, item]);
  }

  get last(): T | undefined {
    return this.items[this.items.length - 1];
  }

  get size(): number {
    return this.items.length;
  }
}
