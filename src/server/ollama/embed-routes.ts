/**
 * Embeddings: `POST /api/embed` (batch) and the legacy `POST /api/embeddings` (one prompt).
 * Each is an `embeddings` operation (`ChatRunner.embed`): request middleware and hooks first,
 * then the backend serving the model embeds the inputs, guarded (breaker, timeout, metrics)
 * and cancelled with the request. An empty input passes middleware and embeds nothing.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { operationContext } from '../request-context.ts';
import type { ServerContext } from '../server-context.ts';
import { parseOllamaBody } from './parse-request.ts';
import { RequestClock } from './request-clock.ts';
import { embeddingsRequestSchema, embedRequestSchema } from './request-schemas.ts';
import type { OllamaRouteDeps } from './route-deps.ts';

/** Registers `POST /api/embed` and `POST /api/embeddings`. */
export function registerEmbedRoutes(app: FastifyInstance, deps: OllamaRouteDeps): void {
  const { context, running } = deps;

  app.post('/embed', async (request, reply) => {
    const clock = new RequestClock();
    const body = parseOllamaBody(embedRequestSchema, request.body);
    // As in Ollama, an empty string is no input at all.
    const input = typeof body.input === 'string' ? (body.input === '' ? [] : [body.input]) : (body.input ?? []);
    const result = await embed(context, request, reply, body.model, input);
    clock.loaded();
    running.touch({ backend: result.backend, model: body.model }, body.keep_alive);
    const dimensions = body.dimensions ?? undefined;
    const embeddings = result.embeddings.map((vector) => shorten(vector, dimensions));
    const { total_duration, load_duration } = clock.durations();
    return {
      model: body.model,
      embeddings,
      total_duration,
      load_duration,
      prompt_eval_count: result.promptTokens ?? 0,
    };
  });

  app.post('/embeddings', async (request, reply) => {
    const body = parseOllamaBody(embeddingsRequestSchema, request.body);
    const result = await embed(context, request, reply, body.model, body.prompt ? [body.prompt] : []);
    running.touch({ backend: result.backend, model: body.model }, body.keep_alive);
    return { embedding: result.embeddings[0] ?? [] };
  });
}

/**
 * The embeddings of `input` as an `embeddings` operation. No input still passes middleware
 * (and resolves the model, so an unknown one is a 404) but asks the backend nothing.
 */
async function embed(
  context: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  model: string,
  input: readonly string[],
): Promise<{
  readonly backend: string;
  readonly embeddings: readonly (readonly number[])[];
  readonly promptTokens?: number;
}> {
  const operation = operationContext(request, 'ollama', 'embeddings', { model, inputs: input });
  if (input.length > 0) return context.chat.embed(reply, operation);
  return context.chat.operation(reply, operation, async (admitted) => {
    const target = await context.manager.models.resolve(admitted.model ?? model);
    return { value: { backend: target.backend, embeddings: [] } };
  });
}

/**
 * Ollama's `dimensions`: the first `dimensions` components, scaled back to unit length (what
 * Matryoshka-trained models expect). Vectors already short enough are left alone.
 */
export function shorten(vector: readonly number[], dimensions: number | undefined): number[] {
  if (dimensions === undefined || dimensions >= vector.length) return [...vector];
  const head = vector.slice(0, dimensions);
  // A loop, not Math.hypot(...head): spreading thousands of components as arguments is slow.
  let sum = 0;
  for (const value of head) sum += value * value;
  const norm = Math.sqrt(sum);
  return norm === 0 ? head : head.map((value) => value / norm);
}
