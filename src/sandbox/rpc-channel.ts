import { PlugboardError } from '../core/errors/plugboard-error.ts';
import type { ChildMessage, ConfigCheck, ParentMessage, WireError } from './protocol.ts';
import { decodeAnswer, fromWireError } from './wire-values.ts';

/** Where the channel's messages go: the pipe to the plugin's process (see framed-pipe.ts). */
export interface MessageLink {
  send(message: unknown): boolean;
  readonly open: boolean;
  ref(): void;
  unref(): void;
}

/** What the channel hands to its owner: the child's requests and news that are not answers. */
export interface ChannelHandlers {
  readonly log: (message: Extract<ChildMessage, { t: 'log' }>) => void;
  readonly serviceCall: (message: Extract<ChildMessage, { t: 'service-call' }>) => void;
  readonly fetch: (message: Extract<ChildMessage, { t: 'fetch' }>) => void;
}

/** Per call: its cancellation and where its response effects (headers, data) go. */
export interface CallOptions {
  readonly requestId?: string;
  readonly signal?: AbortSignal;
  readonly effect?: (kind: 'header' | 'data', name: string, value: unknown) => void;
  /** Whether the answer may be a stream (a backend's chat); any other call answering one fails. */
  readonly mayStream?: boolean;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly effect: CallOptions['effect'];
  readonly mayStream: boolean;
  /** Set once the answer is a stream: where its chunks go. */
  stream?: ChunkQueue;
  cleanup?: () => void;
}

/**
 * Calls into a sandboxed plugin's process over its message pipe: one request, one answer, keyed
 * by id; streamed answers as an async iterable; cancellation both ways (an aborted call sends
 * `cancel`, an abandoned stream too). The channel knows nothing of restarts: when the process
 * ends, its owner fails every open call with {@link failAll}.
 */
export class RpcChannel {
  readonly #pending = new Map<number, Pending>();
  readonly #configChecks = new Map<number, (check: ConfigCheck) => void>();
  readonly #pings = new Map<number, () => void>();
  #next = 1;
  #closed: Error | undefined;

  constructor(
    private readonly link: MessageLink,
    private readonly handlers: ChannelHandlers,
  ) {}

  /** Calls in flight (streams included). */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Sends a message; false when the channel is closed. */
  send(message: ParentMessage): boolean {
    if (this.#closed !== undefined || !this.link.open) return false;
    try {
      return this.link.send(message);
    } catch {
      return false;
    }
  }

  /** Calls `method` with `args`; resolves with its answer (an AsyncIterable for a stream). */
  call(method: string, args: readonly unknown[], options: CallOptions = {}): Promise<unknown> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const id = this.#next++;
    return new Promise<unknown>((resolve, reject) => {
      const pending: Pending = { resolve, reject, effect: options.effect, mayStream: options.mayStream === true };
      if (signal !== undefined) {
        const onAbort = () => this.#cancel(id, abortReason(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        pending.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.#pending.set(id, pending);
      this.#holdOpen();
      const sent = this.send({
        t: 'call',
        id,
        method,
        args,
        ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
      });
      if (!sent)
        this.#settle(
          id,
          this.#closed ?? new PlugboardError('PLUGIN_SANDBOX_CRASHED', 'the plugin process is not running'),
        );
    });
  }

  /** Validates a config with the plugin's own schema, in its process. */
  checkConfig(config: unknown): Promise<ConfigCheck> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#configChecks.set(id, resolve);
      if (!this.send({ t: 'check-config', id, config: config as never })) {
        this.#configChecks.delete(id);
        reject(this.#closed ?? new PlugboardError('PLUGIN_SANDBOX_CRASHED', 'the plugin process is not running'));
      }
    });
  }

  /** True when the process answers within `timeoutMs`: its event loop is not blocked. */
  ping(timeoutMs: number): Promise<boolean> {
    const id = this.#next++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pings.delete(id);
        resolve(false);
      }, timeoutMs);
      timer.unref();
      this.#pings.set(id, () => {
        clearTimeout(timer);
        resolve(true);
      });
      if (!this.send({ t: 'ping', id })) {
        clearTimeout(timer);
        this.#pings.delete(id);
        resolve(false);
      }
    });
  }

  /** Routes one message from the child. */
  receive(message: ChildMessage): void {
    switch (message.t) {
      case 'result': {
        const pending = this.#pending.get(message.id);
        if (pending === undefined) return;
        if (pending.stream !== undefined || (message.ok && message.stream === true && !pending.mayStream)) {
          // A second answer to one call, or a stream where none may be: the process is not
          // following the protocol; the call fails (and a stream it opened ends) rather than hang.
          this.#settle(
            message.id,
            new PlugboardError('PLUGIN_INVALID_RESULT', 'the plugin process answered out of protocol'),
          );
          return;
        }
        if (!message.ok) {
          this.#settle(message.id, fromWireError(message.error));
          return;
        }
        if (message.stream === true) {
          const stream = new ChunkQueue(() => this.#cancel(message.id, undefined));
          pending.stream = stream;
          pending.resolve(stream);
          return;
        }
        pending.cleanup?.();
        this.#delete(message.id);
        pending.resolve(decodeAnswer(message.value));
        return;
      }
      case 'chunk':
        this.#pending.get(message.id)?.stream?.push(decodeAnswer(message.value));
        return;
      case 'end':
        this.#endStream(message.id, undefined);
        return;
      case 'stream-error':
        this.#endStream(message.id, fromWireError(message.error));
        return;
      case 'effect':
        this.#pending.get(message.id)?.effect?.(message.kind, message.name, message.value);
        return;
      case 'pong':
        this.#pings.get(message.id)?.();
        this.#pings.delete(message.id);
        return;
      case 'config-checked':
        this.#configChecks.get(message.id)?.(message.check);
        this.#configChecks.delete(message.id);
        return;
      case 'log':
        this.handlers.log(message);
        return;
      case 'service-call':
        this.handlers.serviceCall(message);
        return;
      case 'fetch':
        this.handlers.fetch(message);
        return;
      default:
        return;
    }
  }

  /** The process ended: every open call fails with `error`, and later calls at once. */
  failAll(error: Error): void {
    this.#closed = error;
    for (const id of [...this.#pending.keys()]) this.#settle(id, error);
    this.#pings.clear();
    for (const resolve of this.#configChecks.values()) {
      resolve({ ok: false, issues: [{ path: [], message: `the plugin process ended: ${error.message}` }] });
    }
    this.#configChecks.clear();
  }

  /** Gives up on call `id` (aborted, or its stream abandoned) and tells the child to stop it. */
  #cancel(id: number, reason: Error | undefined): void {
    if (!this.#pending.has(id)) return;
    this.send({ t: 'cancel', id });
    this.#settle(id, reason ?? new PlugboardError('REQUEST_ABORTED', 'the stream was abandoned'));
  }

  /**
   * The channel keeps the server's event loop alive only while a call is open: an idle sandboxed
   * plugin must not keep a finished command (`plugboard config check`) from exiting.
   */
  #holdOpen(): void {
    if (this.#pending.size === 1) this.link.ref();
  }

  #letGo(): void {
    if (this.#pending.size === 0) this.link.unref();
  }

  #delete(id: number): void {
    this.#pending.delete(id);
    this.#letGo();
  }

  #settle(id: number, error: Error): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#delete(id);
    pending.cleanup?.();
    if (pending.stream !== undefined) pending.stream.end(error);
    else pending.reject(error);
  }

  #endStream(id: number, error: Error | undefined): void {
    const pending = this.#pending.get(id);
    if (pending?.stream === undefined) return;
    this.#delete(id);
    pending.cleanup?.();
    pending.stream.end(error);
  }
}

/** Chunks a stream may have waiting for its reader before it is cut. */
const MAX_BUFFERED_CHUNKS = 4096;

/** A stream's chunks as they arrive, read as an async iterable; stopping early cancels it. */
class ChunkQueue implements AsyncIterableIterator<unknown> {
  readonly #chunks: unknown[] = [];
  #waiting: ((result: IteratorResult<unknown>) => void) | undefined;
  #failWaiting: ((error: Error) => void) | undefined;
  #done = false;
  #error: Error | undefined;

  constructor(private readonly abandon: () => void) {}

  push(chunk: unknown): void {
    if (this.#done) return;
    if (this.#chunks.length >= MAX_BUFFERED_CHUNKS) {
      // The reader is far behind a process that streams without pause: stop it rather than hold it all.
      this.end(
        new PlugboardError('PLUGIN_CALL_FAILED', `the stream outran its reader by ${MAX_BUFFERED_CHUNKS} chunks`),
      );
      this.abandon();
      return;
    }
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      this.#failWaiting = undefined;
      waiting({ value: chunk, done: false });
    } else this.#chunks.push(chunk);
  }

  end(error: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = error;
    const waiting = this.#waiting;
    const fail = this.#failWaiting;
    this.#waiting = undefined;
    this.#failWaiting = undefined;
    if (error !== undefined && fail !== undefined) fail(error);
    else waiting?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.#chunks.length > 0) return Promise.resolve({ value: this.#chunks.shift(), done: false });
    if (this.#done) {
      if (this.#error !== undefined) {
        const error = this.#error;
        this.#error = undefined;
        return Promise.reject(error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.#waiting = resolve;
      this.#failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<unknown>> {
    if (!this.#done) {
      this.#done = true;
      this.#chunks.length = 0;
      this.abandon();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new PlugboardError('REQUEST_ABORTED', 'the call was aborted');
}

export type { WireError };
