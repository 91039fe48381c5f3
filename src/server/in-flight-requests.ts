import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { PlugboardError } from '../core/errors/plugboard-error.ts';
import { serverErrors } from './server-errors.ts';

/** How one HTTP request's pipeline is cancelled, and why it was. */
export interface RequestWatch {
  /** Pass as `ChatOptions.cancellation`: the pipeline hands over the function that aborts it. */
  readonly cancellation: (abort: (reason?: unknown) => void) => void;
  /** Why the server cancelled the request (disconnect, timeout, shutdown), once it has. */
  readonly reason: PlugboardError | undefined;
  /** Stops watching the connection and the clock (call when the response is complete). */
  dispose(): void;
}

/** How long a forced shutdown waits for the aborted responses to write their error and end. */
export const ABORTED_RESPONSES_GRACE_MS = 1000;

/** The watch of a response, for the one shared 'close' listener. */
const WATCH = Symbol('plugboard.requestWatch');
type WatchedResponse = ServerResponse & { [WATCH]?: Watched };

/** Shared by every response (no closure per request); `this` is the response that closed. */
function onResponseClose(this: WatchedResponse): void {
  if (!this.writableFinished) {
    this[WATCH]?.cancel(
      new PlugboardError('REQUEST_ABORTED', 'The client disconnected before the response was complete'),
    );
  }
}

class Watched implements RequestWatch {
  readonly deadline: number;
  reason: PlugboardError | undefined;
  #abort: ((reason?: unknown) => void) | undefined;
  readonly #response: WatchedResponse;
  readonly #registry: Set<Watched>;

  constructor(response: WatchedResponse, deadline: number, registry: Set<Watched>) {
    this.deadline = deadline;
    this.#response = response;
    this.#registry = registry;
    response[WATCH] = this;
    response.on('close', onResponseClose);
    registry.add(this);
  }

  readonly cancellation = (abort: (reason?: unknown) => void): void => {
    this.#abort = abort;
    if (this.reason !== undefined) abort(this.reason);
  };

  cancel(reason: PlugboardError): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.#abort?.(reason);
  }

  /** Resolves once the response is complete (its last byte handed to the OS) or its connection closed. */
  ended(): Promise<void> {
    const response = this.#response;
    if (response.writableFinished || response.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        response.off('finish', done);
        response.off('close', done);
        resolve();
      };
      response.on('finish', done);
      response.on('close', done);
    });
  }

  dispose(): void {
    this.#registry.delete(this);
    this.#response.off('close', onResponseClose);
    this.#response[WATCH] = undefined;
  }
}

/**
 * The requests of a server that have a pipeline running, and how each is cancelled: when
 * the client disconnects before its response is complete, when it outlives the request
 * timeout, or when a forced shutdown aborts everything still running. The pipeline hands
 * the abort on to every plugin call and to the backend, so a closed tab stops the model.
 *
 * Why a registry and `ChatOptions.cancellation` rather than an AbortController, a timer and
 * listeners per request: on a server's hot path those cost more than several plugin calls,
 * and a request timeout of minutes does not need a timer of its own — one coarse sweep over
 * a Set does.
 *
 * @example
 * ```ts
 * const watch = inFlight.open(reply);
 * try { await manager.chat(context, { cancellation: watch.cancellation }); }
 * catch (error) { throw watch.reason ?? error; }
 * finally { watch.dispose(); }
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
  open(reply: FastifyReply): RequestWatch {
    return new Watched(reply.raw, performance.now() + this.#timeoutMs, this.#watched);
  }

  /**
   * Cancels every watched request with `reason` (a forced shutdown). Each one's writer then
   * answers with the reason: a stream writes its in-stream error and ends, a reply not yet
   * started gets its error status. Resolves `true` once every one of those responses has ended
   * (or its connection closed), `false` when `graceMs` passed first: only then may the caller
   * close the connections without cutting those last bytes (a client would see a reset).
   */
  async abortAll(reason: PlugboardError, graceMs = ABORTED_RESPONSES_GRACE_MS): Promise<boolean> {
    const ended: Promise<void>[] = [];
    for (const watched of this.#watched) {
      ended.push(watched.ended());
      watched.cancel(reason);
    }
    if (ended.length === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        Promise.all(ended).then(() => true),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), graceMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the sweeper (the server is closed). */
  close(): void {
    clearInterval(this.#sweeper);
  }

  #sweep(): void {
    if (this.#watched.size === 0) return;
    const now = performance.now();
    for (const watched of this.#watched) {
      if (watched.deadline <= now) {
        watched.cancel(
          serverErrors.REQUEST_TIMEOUT(`The request did not finish within ${Math.round(this.#timeoutMs / 1000)} s`),
        );
      }
    }
  }
}
