import type { FastifyInstance } from 'fastify';
import { PlugboardError } from '../../core/errors/plugboard-error.ts';
import type { ListedModel } from '../../core/routing/model-router.ts';
import { failuresHiding, listingFailed } from '../listing-failures.ts';
import { operationContext } from '../request-context.ts';
import type { ServerContext } from '../server-context.ts';
import { unixSeconds } from './completion-parts.ts';

/** OpenAI's model object. */
export interface OpenAiModel {
  readonly id: string;
  readonly object: 'model';
  readonly created: number;
  readonly owned_by: string;
}

/**
 * A listed model as OpenAI's model object. The id is the qualified `backend/model`: it is
 * unambiguous when two backends serve the same name, and requests accept it as well as the
 * bare name. `created` is the backend's `modified_at`/`created` detail when it has one
 * (Ollama reports when a model was pulled), else when the server started.
 */
export function toModelObject(model: ListedModel, fallbackCreated: number): OpenAiModel {
  return {
    id: model.qualifiedId,
    object: 'model',
    created: createdOf(model, fallbackCreated),
    owned_by: model.backend,
  };
}

function createdOf(model: ListedModel, fallback: number): number {
  const details = model.details ?? {};
  for (const key of ['created', 'modified_at', 'created_at']) {
    const value = details[key];
    if (typeof value === 'number' && Number.isFinite(value)) return Math.floor(value > 1e11 ? value / 1000 : value);
    if (typeof value === 'string') {
      const time = Date.parse(value);
      if (Number.isFinite(time)) return Math.floor(time / 1000);
    }
  }
  return fallback;
}

/**
 * `GET /v1/models` and `GET /v1/models/{id}`, as `models.list` and `models.show` operations (through
 * request middleware and hooks, like every client operation). Model ids contain a slash (`ollama/llama3.2`),
 * which a `:param` does not match, so the single-model route is a wildcard; the official
 * clients send the slash percent-encoded, which Fastify decodes.
 */
export function registerModelsRoutes(app: FastifyInstance, context: ServerContext): void {
  const started = unixSeconds(context.startedAt);

  const models = context.manager.models;
  app.get('/models', async (request, reply) => {
    const catalogue = await context.chat.operation(
      reply,
      operationContext(request, 'openai', 'models.list'),
      async () => ({ value: await models.list() }),
    );
    if (catalogue.models.length === 0 && catalogue.failures.length > 0) {
      // An empty list would read as "no models"; the truth is "could not ask".
      throw listingFailed(catalogue.failures, 'No backend could list its models');
    }
    for (const failure of catalogue.failures) {
      request.log.warn(
        { operation: 'list_models', plugin: failure.backend, error: failure.error.code },
        `models of backend "${failure.backend}" are missing from the list: ${failure.error.message}`,
      );
    }
    return { object: 'list', data: catalogue.models.map((model) => toModelObject(model, started)) };
  });

  app.get('/models/*', async (request, reply) => {
    const id = (request.params as { '*': string })['*'];
    const { found, available } = await context.chat.operation(
      reply,
      operationContext(request, 'openai', 'models.show', id === '' ? {} : { model: id }),
      async (): Promise<{ value: { found: ListedModel | undefined; available: string[] } }> => {
        const found = id === '' ? undefined : await models.find(id);
        if (found !== undefined) return { value: { found, available: [] } };
        // The list is only needed to say what exists when the model does not.
        const catalogue = await models.list();
        const hiding = failuresHiding(id, catalogue, context.manager.backendNames);
        if (hiding.length > 0) throw listingFailed(hiding, `Could not look up the model "${id}"`);
        return { value: { found: undefined, available: catalogue.models.map((model) => model.qualifiedId) } };
      },
    );
    if (found !== undefined) return toModelObject(found, started);
    throw new PlugboardError(
      'MODEL_NOT_FOUND',
      `The model "${id}" does not exist. Available: ${available.length === 0 ? 'none' : available.join(', ')}`,
      { details: { param: 'model', available } },
    );
  });
}
