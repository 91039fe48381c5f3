// The global `performance` is an accessor (~7 ns a read); the module's export is the same object.
import { performance } from 'node:perf_hooks';
import { PlugboardError, toPlugboardError } from '../errors/plugboard-error.ts';
import { endObserved, observeCall } from '../execution/call-observer.ts';
import type { Deadline, DeadlineScheduler } from '../execution/deadline-scheduler.ts';
import type { RequestScope } from '../execution/request-scope.ts';
import type { BackendReply, ChatChunk } from '../model/reply.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import { validateChunk } from './validators.ts';

/** The operation of reading a backend's stream, in metrics, logs and breakers. */
export const BACKEND_STREAM = 'chat:stream';

/**
 * True while a backend's streams keep failing (its `chat:stream` circuit is open): its
 * `chat` is skipped like an open `chat` circuit, so the fallback answers. A healthy backend
 * (no failure counted) pays one field read.
 */
export function streamCircuitOpen(record: PluginRecord): boolean {
  return !record.breakers.clean && !record.breakers.for(BACKEND_STREAM).admitsCall;
}

const resolved = (): Promise<void> => Promise.resolve();
const ignore = (): undefined => undefined;

/**
 * Reads a backend's reply as chunks, whatever form it came in (a whole completion is one
 * chunk). A stream is read under the backend's fault isolation: each chunk must arrive
 * within the backend's timeout (an idle timeout, so long replies are fine), the request's
 * abort stops it and closes the backend's iterator, and every chunk is validated.
 * The backend stays "in flight" until the stream ends, so it is not unloaded mid-reply.
 */
export async function* readBackendReply(
  reply: BackendReply,
  record: PluginRecord,
  deadlines: DeadlineScheduler,
  scope: RequestScope,
): AsyncGenerator<ChatChunk> {
  if (!(Symbol.asyncIterator in reply)) {
    const { message } = reply;
    yield {
      content: message.content,
      ...(message.thinking === undefined ? {} : { thinking: message.thinking }),
      ...(message.toolCalls === undefined ? {} : { toolCalls: message.toolCalls }),
      ...(reply.usage === undefined ? {} : { usage: reply.usage }),
      ...(reply.finishReason === undefined ? {} : { finishReason: reply.finishReason }),
    };
    return;
  }
  const iterator = reply[Symbol.asyncIterator]();
  const start = performance.now();
  record.hold();
  let finished = false;
  const waiter = new ChunkWaiter(iterator, record, deadlines, scope);
  // One per stream, not per chunk; undefined unless tracing watches this plugin.
  const observed =
    record.observer === undefined
      ? undefined
      : observeCall(record.observer, record.name, BACKEND_STREAM, scope.requestId);
  try {
    while (true) {
      const next = await waiter.next();
      if (next.done) break;
      yield validateChunk(next.value);
    }
    finished = true;
    record.metrics.record(BACKEND_STREAM, 'success', performance.now() - start);
    // After stream failures, a whole stream is the success that resets the count (or closes a half-open circuit).
    if (!record.breakers.clean) void record.breakers.for(BACKEND_STREAM).run(resolved).catch(ignore);
    if (observed !== undefined) endObserved(observed, 'success');
  } catch (thrown) {
    finished = true;
    const error = scope.abortError ?? toStreamError(thrown, record);
    if (observed !== undefined) {
      const outcome =
        error.code === 'REQUEST_ABORTED' ? 'aborted' : error.code === 'PLUGIN_TIMEOUT' ? 'timeout' : 'failure';
      endObserved(observed, outcome, error.code);
    }
    if (error.code !== 'REQUEST_ABORTED') {
      record.metrics.record(
        BACKEND_STREAM,
        error.code === 'PLUGIN_TIMEOUT' ? 'timeout' : 'failure',
        performance.now() - start,
      );
      record.lastError = error;
      // Counted on the stream's own breaker: the `chat` call that returned the stream
      // succeeded, and its successes would reset a shared count on every request. While the
      // stream's circuit is open, the backend is skipped (see streamCircuitOpen).
      void record.breakers
        .for(BACKEND_STREAM)
        .run(() => Promise.reject(error))
        .catch(ignore);
    }
    throw error;
  } finally {
    waiter.dispose();
    // The consumer stopped reading (client gone): the stream was cut short.
    if (!finished && observed !== undefined) endObserved(observed, 'aborted', 'REQUEST_ABORTED');
    // Consumer stopped early (client gone) or we failed: let the backend release its resources.
    if (!finished || scope.abortError) void Promise.resolve(iterator.return?.()).catch(() => undefined);
    record.release();
  }
}

/**
 * Waits for the backend's chunks one at a time: each must come within the backend's timeout,
 * and the request's abort ends the wait. One per stream, with its callbacks made once:
 * waiting per chunk used to make a promise executor, a timeout callback, an abort listener
 * in the request's Set and the closure removing it again — ~0.3 µs and several hundred
 * bytes per chunk, on every streamed reply.
 */
class ChunkWaiter {
  #resolve: ((result: IteratorResult<ChatChunk>) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  #deadline: Deadline | undefined;
  #waitStartedAt = 0;
  readonly #capture: (resolve: (result: IteratorResult<ChatChunk>) => void, reject: (error: unknown) => void) => void;
  readonly #arrive: (result: IteratorResult<ChatChunk>) => void;
  readonly #fail: (error: unknown) => void;
  readonly #expire: () => void;
  readonly #stopWatchingAbort: () => void;

  constructor(
    private readonly iterator: AsyncIterator<ChatChunk>,
    private readonly record: PluginRecord,
    private readonly deadlines: DeadlineScheduler,
    private readonly scope: RequestScope,
  ) {
    // Assigned here rather than as class fields, which would cost a defineProperty each (keepNames).
    this.#capture = (resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    };
    this.#arrive = (result) => {
      const resolve = this.#resolve;
      if (resolve === undefined) return; // the wait already ended (timeout, abort)
      // A backend that blocked the event loop past its timeout (its timer could not fire)
      // still overran: a timeout, as for any plugin call (see invoke.ts).
      if (performance.now() - this.#waitStartedAt > this.record.config.timeoutMs) {
        this.#expire();
        return;
      }
      this.#end();
      resolve(result);
    };
    this.#fail = (error) => {
      const reject = this.#reject;
      if (reject === undefined) return; // not waiting, or the wait already ended
      this.#end();
      reject(error);
    };
    this.#expire = () => {
      this.#deadline = undefined;
      const timeoutMs = this.record.config.timeoutMs;
      this.#fail(
        new PlugboardError('PLUGIN_TIMEOUT', `Backend "${this.record.name}" sent nothing for ${timeoutMs} ms`, {
          plugin: this.record.name,
          hook: 'chat:stream',
          details: { timeoutMs },
        }),
      );
    };
    // One abort listener for the whole stream; between waits it has nothing to stop.
    this.#stopWatchingAbort = scope.onAbort(this.#fail);
  }

  /** The backend's next chunk, within its timeout, unless the request is aborted first. */
  next(): Promise<IteratorResult<ChatChunk>> {
    if (this.scope.abortError) return Promise.reject(this.scope.abortError);
    const promise = new Promise(this.#capture);
    const now = performance.now();
    this.#waitStartedAt = now;
    this.#deadline = this.deadlines.schedule(this.record.config.timeoutMs, this.#expire, now);
    try {
      this.iterator.next().then(this.#arrive, this.#fail);
    } catch (error) {
      this.#fail(error);
    }
    return promise;
  }

  /** Stops watching (the stream ended, failed or was left). */
  dispose(): void {
    this.#end();
    this.#stopWatchingAbort();
  }

  #end(): void {
    this.#deadline?.cancel();
    this.#deadline = undefined;
    this.#resolve = undefined;
    this.#reject = undefined;
  }
}

function toStreamError(thrown: unknown, record: PluginRecord): PlugboardError {
  const error = toPlugboardError(thrown, 'BACKEND_FAILED', { plugin: record.name, hook: 'chat:stream' });
  if (error.code === 'PLUGIN_INVALID_RESULT' && error.plugin === undefined) {
    return new PlugboardError(error.code, `Backend "${record.name}": ${error.message}`, {
      plugin: record.name,
      hook: 'chat:stream',
    });
  }
  return error;
}
