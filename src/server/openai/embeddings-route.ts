import type { FastifyInstance } from 'fastify';
import { PlugboardError } from '../../core/errors/plugboard-error.ts';
import type { ServerContext } from '../create-server.ts';
import { toHttpError } from '../http-errors.ts';
import { abortReason, requestSignal } from '../request-signal.ts';
import { parseBody } from '../validate-body.ts';
import { toBase64Float32 } from './embedding-encoding.ts';
import { embeddingsRequestSchema } from './embeddings-schema.ts';

/**
 * `POST /v1/embeddings`: resolves the model to a backend and calls its `embed` directly.
 * Embeddings do not pass through the chat pipeline (middleware, processors, hooks): the core
 * has no embedding pipeline. The call is still guarded (timeout, circuit breaker) and
 * aborted when the client disconnects or the request times out.
 *
 * `dimensions` is accepted only when it equals the length of the vectors the model returns:
 * shortening a vector is only meaningful for models trained for it, which Plugboard cannot
 * tell, so it says what the model's size is instead of returning wrong vectors.
 */
export function registerEmbeddingsRoute(app: FastifyInstance, context: ServerContext): void {
  app.post('/v1/embeddings', async (request, reply) => {
    const body = parseBody(embeddingsRequestSchema, request.body);
    const target = await context.router.resolve(body.model);
    const backend = context.manager.getBackendProvider(target.backend);
    if (backend === undefined) {
      throw new PlugboardError('BACKEND_NOT_FOUND', `Backend "${target.backend}" is not active`, { status: 503 });
    }

    const watch = requestSignal(reply, context.settings.requestTimeoutMs, context.shutdownSignal);
    let result: Awaited<ReturnType<typeof backend.embed>>;
    try {
      result = await backend.embed({ model: target.model, input: body.input }, { signal: watch.signal });
    } catch (error) {
      throw toHttpError(abortReason(watch.signal, error));
    } finally {
      watch.dispose();
    }
    if (!result.ok) throw toHttpError(abortReason(watch.signal, result.error));

    const { embeddings, promptTokens } = result.value;
    if (embeddings.length !== body.input.length) {
      throw new PlugboardError(
        'BACKEND_FAILED',
        `Backend "${target.backend}" returned ${embeddings.length} embeddings for ${body.input.length} inputs`,
        { plugin: target.backend },
      );
    }
    const size = embeddings[0]?.length ?? 0;
    if (body.dimensions != null && body.dimensions !== size) {
      throw new PlugboardError(
        'REQUEST_INVALID',
        `dimensions: the model "${body.model}" returns ${size}-dimensional embeddings and Plugboard does not shorten them; omit dimensions or set it to ${size}`,
        { details: { param: 'dimensions' } },
      );
    }

    const base64 = body.encoding_format === 'base64';
    return {
      object: 'list',
      data: embeddings.map((vector, index) => ({
        object: 'embedding',
        index,
        embedding: base64 ? toBase64Float32(vector) : vector,
      })),
      model: body.model,
      usage: { prompt_tokens: promptTokens ?? 0, total_tokens: promptTokens ?? 0 },
    };
  });
}
