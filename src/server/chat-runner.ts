import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PluginManager } from '../core/manager/plugin-manager.ts';
import type { ChatContext, ClientInfo } from '../core/model/context.ts';
import type { ChatChunk, ChatResponse } from '../core/model/reply.ts';
import { toHttpError } from './http-errors.ts';
import type { ChatApi, ServerMetrics } from './observability/server-metrics.ts';
import { abortReason, requestSignal } from './request-signal.ts';

/** A streamed chat through the HTTP layer: chunks, then the final response. */
export interface HttpChatStream extends AsyncIterable<ChatChunk> {
  /** Settles when the stream ends; rejects with the error that ended it. */
  readonly response: Promise<ChatResponse>;
}

/** Headers a plugin may see: everything but credentials meant for the server itself. */
const HIDDEN_HEADERS = new Set(['cookie', 'proxy-authorization']);

/** What the transport knows about the caller, for middleware (auth, rate limits). */
export function clientInfo(request: FastifyRequest): ClientInfo {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || HIDDEN_HEADERS.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { address: request.ip, headers };
}

/**
 * Runs chat requests of the HTTP APIs through the plugin manager, tied to the HTTP request:
 * a client disconnect, the request timeout or a forced shutdown aborts the pipeline and the
 * backend call, and the error reported is the reason (504 for a timeout …).
 */
export class ChatRunner {
  readonly #manager: PluginManager;
  readonly #metrics: ServerMetrics;
  readonly #timeoutMs: number;
  readonly #shutdown: AbortSignal;

  constructor(manager: PluginManager, metrics: ServerMetrics, timeoutMs: number, shutdown: AbortSignal) {
    this.#manager = manager;
    this.#metrics = metrics;
    this.#timeoutMs = timeoutMs;
    this.#shutdown = shutdown;
  }

  /** The whole reply of a non-streaming request. */
  async complete(reply: FastifyReply, context: ChatContext, api: ChatApi): Promise<ChatResponse> {
    const watch = requestSignal(reply, this.#timeoutMs, this.#shutdown);
    try {
      const response = await this.#manager.chat(context, { signal: watch.signal });
      this.#metrics.chatCompleted(response, api);
      return response;
    } catch (error) {
      const failure = toHttpError(abortReason(watch.signal, error));
      this.#metrics.chatFailed(api, failure.code);
      throw failure;
    } finally {
      watch.dispose();
    }
  }

  /** A streamed reply. Iterate it once; `response` settles when it ends. */
  stream(reply: FastifyReply, context: ChatContext, api: ChatApi): HttpChatStream {
    const watch = requestSignal(reply, this.#timeoutMs, this.#shutdown);
    const inner = this.#manager.stream(context, { signal: watch.signal });
    const metrics = this.#metrics;
    const response = inner.response.then(
      (final) => {
        metrics.chatCompleted(final, api);
        return final;
      },
      (error: unknown) => {
        const failure = toHttpError(abortReason(watch.signal, error));
        metrics.chatFailed(api, failure.code);
        throw failure;
      },
    );
    response.catch(() => undefined);
    return {
      response,
      async *[Symbol.asyncIterator]() {
        metrics.streamOpened();
        try {
          yield* inner;
        } catch (error) {
          throw toHttpError(abortReason(watch.signal, error));
        } finally {
          watch.dispose();
          metrics.streamClosed();
        }
      },
    };
  }
}
