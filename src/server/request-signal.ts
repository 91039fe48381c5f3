import type { FastifyReply } from 'fastify';
import { PlugboardError } from '../core/errors/plugboard-error.ts';

/** The cancellation signal of one HTTP request, and how to release it. */
export interface RequestSignal {
  readonly signal: AbortSignal;
  /** Stops watching the connection and the clock (call when the response is complete). */
  dispose(): void;
}

interface Watched {
  readonly controller: AbortController;
  readonly deadline: number;
}

/**
 * The requests of a server that have a pipeline running, each with the signal that cancels
 * it: when the client disconnects before its response is complete, when it outlives the
 * request timeout, or when a forced shutdown aborts everything still running. The pipeline
 * passes the signal to every plugin and to the backend, so a closed tab stops the model.
 *
 * Why a registry, not a timer and a shutdown listener per request: one coarse sweep over a
 * Set is a fraction of the cost of arming a timer and adding EventTarget listeners on every
 * request, and a request timeout of minutes does not need millisecond precision.
 *
 * @example
 * ```ts
 * const watch = inFlight.open(reply);
 * try { await manager.chat(context, { signal: watch.signal }); } finally { watch.dispose(); }
 * ```
 */
export class InFlightRequests {
  readonly #watched = new Set<Watched>();
  readonly #timeoutMs: number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    // A quarter of the timeout, between 10 ms and 1 s: a request is cut at most that late.
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(1000, Math.max(10, timeoutMs / 4)));
    this.#sweeper.unref();
  }

  /** How many requests are being watched. */
  get size(): number {
    return this.#watched.size;
  }

  /** Starts watching one request. Call `dispose()` once its response is complete. */
  open(reply: FastifyReply): RequestSignal {
    const controller = new AbortController();
    const entry: Watched = { controller, deadline: performance.now() + this.#timeoutMs };
    const response = reply.raw;
    const onClose = (): void => {
      if (!response.writableFinished) {
        controller.abort(
          new PlugboardError('REQUEST_ABORTED', 'The client disconnected before the response was complete'),
        );
      }
    };
    response.once('close', onClose);
    const watched = this.#watched;
    watched.add(entry);
    return {
      signal: controller.signal,
      dispose() {
        watched.delete(entry);
        response.off('close', onClose);
      },
    };
  }

  /** Aborts every watched request with `reason` (a forced shutdown). */
  abortAll(reason: PlugboardError): void {
    for (const entry of this.#watched) entry.controller.abort(reason);
  }

  /** Stops the sweeper (the server is closed). */
  close(): void {
    clearInterval(this.#sweeper);
  }

  #sweep(): void {
    if (this.#watched.size === 0) return;
    const now = performance.now();
    for (const entry of this.#watched) {
      if (entry.deadline <= now && !entry.controller.signal.aborted) {
        entry.controller.abort(
          new PlugboardError(
            'REQUEST_TIMEOUT',
            `The request did not finish within ${Math.round(this.#timeoutMs / 1000)} s`,
          ),
        );
      }
    }
  }
}

/**
 * The error to report for an aborted request: the signal's reason when it is one of ours
 * (timeout, shutdown, disconnect), else `fallback`.
 */
export function abortReason(signal: AbortSignal, fallback: unknown): unknown {
  return signal.aborted && signal.reason instanceof PlugboardError ? signal.reason : fallback;
}
