import { PlugboardError } from '../errors/plugboard-error.ts';
import { frozenJsonCopy, type JsonValue } from '../stores/json.ts';

/**
 * The cancellation scope of one request. One abort listener per request (not per plugin
 * call) fans the caller's abort out to every plugin call still running and to every
 * AbortSignal handed to a plugin, so a disconnect stops backends and hooks alike.
 */
export class RequestScope {
  readonly requestId: string | undefined;
  /** Where plugins' response headers go (see `ChatOptions.responseHeaders`); absent: nowhere. */
  readonly responseHeaders: ResponseHeaderSink | undefined;
  /** What plugins set for the client with `call.setResponseData` (created on first use). */
  responseData: Map<string, JsonValue> | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #listeners = new Set<(error: PlugboardError) => void>();
  #abortError: PlugboardError | undefined;
  readonly #onAbort = () => this.abort(this.#signal?.reason);

  /**
   * @param signal the caller's AbortSignal, if any.
   * @param cancellation called at once with a function that aborts this scope (see
   * `ChatOptions.cancellation`).
   * @param responseHeaders the caller's sink for response headers (`ChatOptions.responseHeaders`).
   */
  constructor(
    requestId: string | undefined,
    signal?: AbortSignal,
    cancellation?: (abort: (reason?: unknown) => void) => void,
    responseHeaders?: ResponseHeaderSink,
  ) {
    this.requestId = requestId;
    this.responseHeaders = responseHeaders;
    this.#signal = signal;
    if (signal?.aborted) this.abort(signal.reason);
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
    cancellation?.((reason) => this.abort(reason));
  }

  /** Keeps a copy of `value` for the response's `data`; false when it is not JSON. */
  setResponseData(key: string, value: unknown): boolean {
    // `degraded` is the server's own key of the reply's `plugboard` object.
    if (typeof key !== 'string' || key === '' || key === 'degraded') return false;
    let copy: JsonValue;
    try {
      copy = frozenJsonCopy(value, key);
    } catch {
      return false;
    }
    this.responseData ??= new Map();
    this.responseData.set(key, copy);
    return true;
  }

  /** Set once the request is aborted. */
  get abortError(): PlugboardError | undefined {
    return this.#abortError;
  }

  /** Calls `listener` when the request is aborted; returns a function that removes it. */
  onAbort(listener: (error: PlugboardError) => void): () => void {
    if (this.#abortError !== undefined) {
      listener(this.#abortError);
      return noop;
    }
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Aborts the request: every listener is told once. */
  abort(reason?: unknown): void {
    if (this.#abortError !== undefined) return;
    this.#abortError =
      reason instanceof PlugboardError && reason.code === 'REQUEST_ABORTED'
        ? reason
        : new PlugboardError('REQUEST_ABORTED', `Request ${this.requestId ?? ''} was aborted`.replace('  ', ' '), {
            cause: reason,
          });
    for (const listener of this.#listeners) listener(this.#abortError);
    this.#listeners.clear();
  }

  /** Detaches from the caller's signal (the request is over). */
  dispose(): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#listeners.clear();
  }
}

function noop(): void {}

/**
 * Takes a response header a plugin set for the request (`call.setResponseHeader`); returns
 * false when it cannot be sent (the response's head is out, or the name is not allowed).
 */
export type ResponseHeaderSink = (name: string, value: string) => boolean;
