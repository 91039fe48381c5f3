import { PlugboardError } from '../errors/plugboard-error.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import type { RequestScope } from './request-scope.ts';

/** Gives back a slot. Idempotent. */
export type Release = () => void;

/**
 * Limits how many calls to one backend are in flight (a bulkhead): a backend that can serve
 * four requests at a time is not sent forty. Calls over the limit wait in order, up to
 * `maxQueued` of them; beyond that a call is refused with `BACKEND_UNAVAILABLE` (503), which
 * the pipeline treats like an unreachable backend: retried, then handed to the fallback.
 *
 * A slot is held for the whole model turn — for a stream, until its last chunk — because
 * that is how long the backend is busy with it.
 *
 * Written here rather than taken from cockatiel: cockatiel's bulkhead runs a function, and a
 * slot held across the yields of the streaming pipeline is not a function call.
 *
 * @example
 * ```ts
 * const release = await bulkhead.acquire(scope);
 * try { … } finally { release(); }
 * ```
 */
export class Bulkhead {
  readonly limit: number;
  readonly maxQueued: number;
  readonly #backend: string;
  #active = 0;
  readonly #waiting: { grant: (release: Release) => void; cancel: () => void }[] = [];

  constructor(backend: string, limit: number, maxQueued: number) {
    this.#backend = backend;
    this.limit = limit;
    this.maxQueued = maxQueued;
  }

  /** Calls in flight. */
  get active(): number {
    return this.#active;
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.#waiting.length;
  }

  /** A slot: at once when one is free, after the calls ahead of it otherwise. */
  acquire(scope: RequestScope): Release | Promise<Release> {
    if (this.#active < this.limit) {
      this.#active++;
      return this.#releaser();
    }
    if (this.#waiting.length >= this.maxQueued) {
      return Promise.reject(
        new PlugboardError(
          'BACKEND_UNAVAILABLE',
          `${this.#backend}: busy — ${this.#active} requests in flight (max_concurrent ${this.limit}) and ${this.#waiting.length} waiting (max_queued ${this.maxQueued})`,
          { plugin: this.#backend, details: { active: this.#active, queued: this.#waiting.length } },
        ),
      );
    }
    return new Promise<Release>((resolve, reject) => {
      const entry = {
        grant: (release: Release) => {
          stop();
          resolve(release);
        },
        cancel: () => {
          const index = this.#waiting.indexOf(entry);
          if (index >= 0) this.#waiting.splice(index, 1);
        },
      };
      const stop = scope.onAbort((error) => {
        entry.cancel();
        reject(error);
      });
      this.#waiting.push(entry);
    });
  }

  #releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      // The slot passes straight to the next caller: the count stays the same.
      if (next !== undefined) next.grant(this.#releaser());
      else this.#active--;
    };
  }
}

const bulkheads = new WeakMap<PluginRecord, Bulkhead>();

/** The bulkhead of a backend, if its settings set `maxConcurrent` (rebuilt when they change). */
export function bulkheadFor(record: PluginRecord): Bulkhead | undefined {
  const { maxConcurrent, maxQueued } = record.config.backend;
  if (maxConcurrent === undefined) return undefined;
  const existing = bulkheads.get(record);
  if (existing !== undefined && existing.limit === maxConcurrent && existing.maxQueued === maxQueued) return existing;
  const created = new Bulkhead(record.name, maxConcurrent, maxQueued);
  bulkheads.set(record, created);
  return created;
}
