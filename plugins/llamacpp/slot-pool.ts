/**
 * A fixed set of slots (context sequences) handed out one request at a time. When all are
 * busy, requests wait in line, first come first served; a waiting request whose signal is
 * aborted leaves the line at once.
 */
export class SlotPool<Slot> {
  readonly #free: Slot[];
  readonly #waiting: Waiter<Slot>[] = [];
  readonly #size: number;
  #closed: Error | undefined;

  constructor(slots: readonly Slot[]) {
    this.#free = [...slots];
    this.#size = slots.length;
  }

  /** Slots in all. */
  get size(): number {
    return this.#size;
  }

  /** Slots in use. */
  get busy(): number {
    return this.#size - this.#free.length;
  }

  /** Requests waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** A free slot, or one as soon as it is released. Rejects with the signal's reason on abort. */
  acquire(signal?: AbortSignal): Promise<Slot> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const slot = this.#free.pop();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter<Slot> = { resolve, reject, signal, onAbort: undefined };
      if (signal !== undefined) {
        waiter.onAbort = () => {
          const index = this.#waiting.indexOf(waiter);
          if (index >= 0) this.#waiting.splice(index, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiting.push(waiter);
    });
  }

  /** Gives a slot back: to the first request in line, or to the free list. */
  release(slot: Slot): void {
    const next = this.#waiting.shift();
    if (next === undefined) {
      this.#free.push(slot);
      return;
    }
    if (next.onAbort !== undefined) next.signal?.removeEventListener('abort', next.onAbort);
    next.resolve(slot);
  }

  /** Refuses new requests and fails those in line with `error`. */
  close(error: Error): void {
    this.#closed = error;
    for (const waiter of this.#waiting.splice(0)) {
      if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.reject(error);
    }
  }
}

interface Waiter<Slot> {
  readonly resolve: (slot: Slot) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}
