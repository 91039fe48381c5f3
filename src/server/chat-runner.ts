import type { FastifyReply, FastifyRequest } from 'fastify';
import { PlugboardError } from '../core/errors/plugboard-error.ts';
import type { PluginManager } from '../core/manager/plugin-manager.ts';
import type { ChatContext, ClientInfo } from '../core/model/context.ts';
import type { ChatChunk, ChatResponse } from '../core/model/reply.ts';
import type { EmbeddingResult } from '../core/plugin/kinds.ts';
import { toHttpError } from './http-errors.ts';
import type { ModelTarget } from './model-router.ts';
import type { ChatApi, ServerMetrics } from './observability/server-metrics.ts';
import { abortReason, type InFlightRequests } from './request-signal.ts';

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
 * Runs chat (and embedding) requests of the HTTP APIs, tied to the HTTP request:
 * a client disconnect, the request timeout or a forced shutdown aborts the pipeline and the
 * backend call, and the error reported is the reason (504 for a timeout …).
 */
export class ChatRunner {
  readonly #manager: PluginManager;
  readonly #metrics: ServerMetrics;
  readonly #inFlight: InFlightRequests;

  constructor(manager: PluginManager, metrics: ServerMetrics, inFlight: InFlightRequests) {
    this.#manager = manager;
    this.#metrics = metrics;
    this.#inFlight = inFlight;
  }

  /**
   * Embeddings for `input` from the backend serving `target`, tied to the request like a
   * chat. @throws PlugboardError `BACKEND_NOT_FOUND` (503) when the backend stopped since
   * the model was resolved; `BACKEND_FAILED` when it answers with the wrong number of vectors.
   */
  async embed(reply: FastifyReply, target: ModelTarget, input: readonly string[]): Promise<EmbeddingResult> {
    const backend = this.#manager.getBackendProvider(target.backend);
    if (backend === undefined) {
      throw new PlugboardError('BACKEND_NOT_FOUND', `Backend "${target.backend}" is not active`, { status: 503 });
    }
    const watch = this.#inFlight.open(reply);
    try {
      const result = await backend.embed({ model: target.model, input }, { signal: watch.signal });
      if (!result.ok) throw result.error;
      if (result.value.embeddings.length !== input.length) {
        throw new PlugboardError(
          'BACKEND_FAILED',
          `Backend "${target.backend}" returned ${result.value.embeddings.length} embeddings for ${input.length} inputs`,
          { plugin: target.backend, hook: 'embed' },
        );
      }
      return result.value;
    } catch (error) {
      throw toHttpError(abortReason(watch.signal, error));
    } finally {
      watch.dispose();
    }
  }

  /** The whole reply of a non-streaming request. */
  async complete(reply: FastifyReply, context: ChatContext, api: ChatApi): Promise<ChatResponse> {
    const watch = this.#inFlight.open(reply);
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
    const watch = this.#inFlight.open(reply);
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
