/**
 * Embeddings: `POST /api/embed` (batch) and the legacy `POST /api/embeddings` (one prompt).
 * They go straight to the resolved backend's `embed` (no chat pipeline: there is no
 * conversation to process), through the manager's guarded handle: breaker, timeout, metrics,
 * and the request's cancellation.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { PlugboardError } from '../../core/errors/plugboard-error.ts';
import type { EmbeddingResult } from '../../core/plugin/kinds.ts';
import { toHttpError } from '../http-errors.ts';
import type { ModelTarget } from '../model-router.ts';
import { abortReason, requestSignal } from '../request-signal.ts';
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
    const result = input.length === 0 ? undefined : await embed(deps, reply, target, input);
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
    const result = await embed(deps, reply, target, [body.prompt]);
    running.touch(target, body.keep_alive);
    return { embedding: result.embeddings[0] ?? [] };
  });
}

async function embed(
  { context }: OllamaRouteDeps,
  reply: FastifyReply,
  target: ModelTarget,
  input: readonly string[],
): Promise<EmbeddingResult> {
  const backend = context.manager.getBackendProvider(target.backend);
  if (backend === undefined) {
    // The backend stopped between resolving the model and now (a reload).
    throw new PlugboardError('BACKEND_NOT_FOUND', `Backend "${target.backend}" is not active`, { status: 503 });
  }
  const watch = requestSignal(reply, context.settings.requestTimeoutMs, context.shutdownSignal);
  try {
    const result = await backend.embed({ model: target.model, input }, { signal: watch.signal });
    if (!result.ok) throw toHttpError(abortReason(watch.signal, result.error));
    if (result.value.embeddings.length !== input.length) {
      throw new PlugboardError(
        'BACKEND_FAILED',
        `Backend "${target.backend}" returned ${result.value.embeddings.length} embeddings for ${input.length} inputs`,
        { plugin: target.backend, hook: 'embed' },
      );
    }
    return result.value;
  } finally {
    watch.dispose();
  }
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
