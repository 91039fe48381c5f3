import type { FastifyReply, FastifyRequest } from 'fastify';
import { PlugboardError } from '../core/errors/plugboard-error.ts';
import type { PluginManager } from '../core/manager/plugin-manager.ts';
import type { ChatContext, ClientInfo } from '../core/model/context.ts';
import type { ChatChunk, ChatResponse } from '../core/model/reply.ts';
import type { EmbeddingResult } from '../core/plugin/kinds.ts';
import { toHttpError } from './http-errors.ts';
import type { InFlightRequests } from './in-flight-requests.ts';
import type { ModelTarget } from './model-router.ts';
import type { ChatApi, ServerMetrics } from './observability/server-metrics.ts';
import { commitStream, type StreamEncoder, writeOrWait } from './streaming.ts';

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
      const result = await backend.embed({ model: target.model, input }, { cancellation: watch.cancellation });
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
      throw toHttpError(watch.reason ?? error);
    } finally {
      watch.dispose();
    }
  }

  /** The whole reply of a non-streaming request. */
  async complete(reply: FastifyReply, context: ChatContext, api: ChatApi): Promise<ChatResponse> {
    const watch = this.#inFlight.open(reply);
    try {
      const response = await this.#manager.chat(context, { cancellation: watch.cancellation });
      this.#metrics.chatCompleted(response, api);
      return response;
    } catch (error) {
      const failure = toHttpError(watch.reason ?? error);
      this.#metrics.chatFailed(api, failure.code);
      throw failure;
    } finally {
      watch.dispose();
    }
  }

  /**
   * Streams a reply to the client in the encoder's format. Nothing is committed until the
   * pipeline produced its first chunk, so a request refused before any output (unknown
   * model, middleware rejection, backend down) is thrown here and answered with a real
   * status and error body. After that, an error ends the stream with the encoder's in-band
   * error; a client that disconnects aborts the pipeline (and the backend call) through the
   * request's cancellation.
   */
  async stream(reply: FastifyReply, context: ChatContext, api: ChatApi, encoder: StreamEncoder): Promise<void> {
    const watch = this.#inFlight.open(reply);
    const metrics = this.#metrics;
    const iterator = this.#manager.stream(context, { cancellation: watch.cancellation });
    const chunks = iterator[Symbol.asyncIterator]();
    let completed = false;
    metrics.streamOpened();
    try {
      let next: IteratorResult<ChatChunk>;
      try {
        next = await chunks.next();
      } catch (error) {
        const failure = toHttpError(watch.reason ?? error);
        metrics.chatFailed(api, failure.code);
        throw failure;
      }
      const response = commitStream(reply, encoder.contentType);
      try {
        while (!next.done) {
          const waiting = writeOrWait(response, encoder.chunk(next.value));
          if (waiting !== undefined) await waiting;
          next = await chunks.next();
        }
        completed = true;
        const final = await iterator.response;
        metrics.chatCompleted(final, api);
        if (!response.destroyed) response.end(encoder.end(final));
      } catch (error) {
        completed = true;
        const failure = toHttpError(watch.reason ?? error);
        metrics.chatFailed(api, failure.code);
        if (failure.code !== 'REQUEST_ABORTED') {
          reply.log.warn(
            { operation: 'http', error: failure.code, err: failure.cause ?? failure },
            `stream ended by an error: ${failure.message}`,
          );
        }
        if (!response.destroyed && !response.writableEnded) response.end(encoder.error(failure));
      }
    } finally {
      // Ends the pipeline if the loop left early (a write failed): its finally blocks run.
      if (!completed) await chunks.return?.(undefined).catch(() => undefined);
      watch.dispose();
      metrics.streamClosed();
    }
  }
}
