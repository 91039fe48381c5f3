import type { FastifyReply } from 'fastify';
import type { EndpointInput } from '../core/manager/endpoint-operation.ts';
import type { EmbeddingReply, PluginManager } from '../core/manager/plugin-manager.ts';
import type { ChatContext } from '../core/model/context.ts';
import type { ChatChunk, ChatResponse } from '../core/model/reply.ts';
import type { ChatOptions } from '../core/pipeline/chat-pipeline.ts';
import type { OperationCall, OperationOutcome } from '../core/pipeline/operation-pipeline.ts';
import type { EndpointMatch } from '../core/plugin/endpoint-table.ts';
import type { EndpointReply } from '../core/plugin/endpoints.ts';
import { markDegraded } from './degraded.ts';
import { toHttpError } from './http-errors.ts';
import type { InFlightRequests } from './in-flight-requests.ts';
import type { ChatApi, ServerMetrics } from './observability/server-metrics.ts';
import { responseHeaderSink } from './plugin-headers.ts';
import { commitStream, type StreamEncoder, writeOrWait } from './streaming.ts';

/**
 * Runs the requests of the HTTP APIs through the manager, tied to the HTTP request: a client
 * disconnect, the request timeout or a forced shutdown aborts the pipeline and the backend
 * call, and the error reported is the reason (504 for a timeout …). Every operation — chat,
 * embeddings, model listings — passes request middleware this way.
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
   * A client operation other than a chat (a model listing, one model's facts), through
   * request middleware and hooks (see `PluginManager.runOperation`), tied to the request.
   */
  operation<T>(
    reply: FastifyReply,
    context: ChatContext,
    perform: (context: ChatContext, call: OperationCall) => Promise<OperationOutcome<T>>,
  ): Promise<T> {
    return this.#tied(reply, (options) => this.#manager.runOperation(context, perform, options));
  }

  /** A request to a plugin's endpoint (the operation `endpoint`), tied to the request like a chat. */
  endpoint(
    reply: FastifyReply,
    match: EndpointMatch,
    context: ChatContext,
    input: EndpointInput,
  ): Promise<EndpointReply> {
    return this.#tied(reply, (options) => this.#manager.callEndpoint(match, context, input, options));
  }

  /**
   * Embeddings of the context's messages (an `embeddings` operation: middleware first, then
   * the backend that serves `context.model`), tied to the request like a chat.
   */
  embed(reply: FastifyReply, context: ChatContext): Promise<EmbeddingReply> {
    return this.#tied(reply, (options) => this.#manager.embed(context, options));
  }

  /**
   * Runs `work` cancelled with the HTTP request, plugins' response headers going on its reply;
   * its failure as an HTTP error (the request's own reason first).
   */
  async #tied<T>(reply: FastifyReply, work: (options: ChatOptions) => Promise<T>): Promise<T> {
    const watch = this.#inFlight.open(reply);
    try {
      return await work({ cancellation: watch.cancellation, responseHeaders: responseHeaderSink(reply) });
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
      const response = await this.#manager.chat(context, {
        cancellation: watch.cancellation,
        responseHeaders: responseHeaderSink(reply),
      });
      this.#metrics.chatCompleted(response, api);
      markDegraded(reply, response.steps);
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
   * request's cancellation. Plugins bypassed before the first chunk are named in the
   * `x-plugboard-degraded` header; the encoder's end names all of them.
   */
  async stream(reply: FastifyReply, context: ChatContext, api: ChatApi, encoder: StreamEncoder): Promise<void> {
    const watch = this.#inFlight.open(reply);
    const metrics = this.#metrics;
    const iterator = this.#manager.stream(context, {
      cancellation: watch.cancellation,
      responseHeaders: responseHeaderSink(reply),
    });
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
      markDegraded(reply, iterator.steps);
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
        markDegraded(reply, final.steps);
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
