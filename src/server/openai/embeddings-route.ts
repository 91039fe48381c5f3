import type { FastifyInstance } from 'fastify';
import { PlugboardError } from '../../core/errors/plugboard-error.ts';
import { operationContext } from '../request-context.ts';
import type { ServerContext } from '../server-context.ts';
import { parseBody } from '../validate-body.ts';
import { toBase64Float32 } from './embedding-encoding.ts';
import { embeddingsRequestSchema } from './embeddings-schema.ts';

/**
 * `POST /v1/embeddings`: an `embeddings` operation — request middleware and hooks first (a
 * rejecting auth middleware blocks it like a chat), then the backend serving the model embeds
 * the inputs as middleware left them. Guarded (timeout, circuit breaker) and aborted when the
 * client disconnects or the request times out.
 *
 * `dimensions` is accepted only when it equals the length of the vectors the model returns:
 * shortening a vector is only meaningful for models trained for it, which Plugboard cannot
 * tell, so it says what the model's size is instead of returning wrong vectors.
 */
export function registerEmbeddingsRoute(app: FastifyInstance, context: ServerContext): void {
  app.post('/embeddings', async (request, reply) => {
    const body = parseBody(embeddingsRequestSchema, request.body);
    const result = await context.chat.embed(
      reply,
      operationContext(request, 'openai', 'embeddings', { model: body.model, inputs: body.input }),
    );

    const { embeddings, promptTokens } = result;
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
