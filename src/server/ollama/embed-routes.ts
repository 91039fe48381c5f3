/**
 * Embeddings: `POST /api/embed` (batch) and the legacy `POST /api/embeddings` (one prompt).
 * They go straight to the resolved backend's `embed` (no chat pipeline: there is no
 * conversation to process) through `ChatRunner.embed`: the manager's guarded handle (breaker,
 * timeout, metrics) and the request's cancellation.
 */
import type { FastifyInstance } from 'fastify';
import { parseOllamaBody } from './parse-request.ts';
import { RequestClock } from './request-clock.ts';
import { embeddingsRequestSchema, embedRequestSchema } from './request-schemas.ts';
import type { OllamaRouteDeps } from './route-deps.ts';

/** Registers `POST /api/embed` and `POST /api/embeddings`. */
export function registerEmbedRoutes(app: FastifyInstance, deps: OllamaRouteDeps): void {
  const { context, running } = deps;

  app.post('/api/embed', async (request, reply) => {
    const clock = new RequestClock();
    const body = parseOllamaBody(embedRequestSchema, request.body);
    const target = await context.router.resolve(body.model);
    clock.loaded();
    // As in Ollama, an empty string is no input at all.
    const input = typeof body.input === 'string' ? (body.input === '' ? [] : [body.input]) : (body.input ?? []);
    const result = input.length === 0 ? undefined : await deps.context.chat.embed(reply, target, input);
    running.touch(target, body.keep_alive);
    const dimensions = body.dimensions ?? undefined;
    const embeddings = (result?.embeddings ?? []).map((vector) => shorten(vector, dimensions));
    const { total_duration, load_duration } = clock.durations();
    return {
      model: body.model,
      embeddings,
      total_duration,
      load_duration,
      prompt_eval_count: result?.promptTokens ?? 0,
    };
  });

  app.post('/api/embeddings', async (request, reply) => {
    const body = parseOllamaBody(embeddingsRequestSchema, request.body);
    const target = await context.router.resolve(body.model);
    if (!body.prompt) return { embedding: [] };
    const result = await deps.context.chat.embed(reply, target, [body.prompt]);
    running.touch(target, body.keep_alive);
    return { embedding: result.embeddings[0] ?? [] };
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
