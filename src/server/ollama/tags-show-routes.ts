/**
 * The model catalogue in Ollama's form: `GET /api/tags` (every model of every active
 * backend), `POST /api/show` (one model's facts) and `GET /api/ps` (models in use).
 */
import type { FastifyInstance } from 'fastify';
import { PlugboardError } from '../../core/errors/plugboard-error.ts';
import type { ListedModel } from '../../core/routing/model-router.ts';
import { failuresHiding, listingFailed } from '../listing-failures.ts';
import { operationContext } from '../request-context.ts';
import { showBody, tagEntry } from './model-entries.ts';
import { parseOllamaBody } from './parse-request.ts';
import { showRequestSchema } from './request-schemas.ts';
import type { OllamaRouteDeps } from './route-deps.ts';
import { expiresAtText } from './running-models.ts';

/** Registers `GET /api/tags`, `POST /api/show` and `GET /api/ps`. */
export function registerTagsShowRoutes(app: FastifyInstance, { context, running }: OllamaRouteDeps): void {
  const models = context.manager.models;
  app.get('/tags', async (request, reply) => {
    const catalogue = await context.chat.operation(
      reply,
      operationContext(request, 'ollama', 'models.list'),
      async () => ({ value: await models.list() }),
    );
    // An empty list would read as "no models" (as on /v1/models); the truth is "could not ask".
    if (catalogue.models.length === 0 && catalogue.failures.length > 0) {
      throw listingFailed(catalogue.failures, 'No backend could list its models');
    }
    for (const failure of catalogue.failures) {
      // The list is still useful without that backend; say why its models are missing.
      request.log.warn(
        { operation: 'ollama.tags', backend: failure.backend, error: failure.error.code },
        `backend ${failure.backend} could not list its models: ${failure.error.message}`,
      );
    }
    return { models: catalogue.models.map((model) => tagEntry(model, context.startedAt)) };
  });

  app.post('/show', async (request, reply) => {
    const body = parseOllamaBody(showRequestSchema, request.body);
    const name = body.model || body.name;
    if (!name) {
      throw new PlugboardError('REQUEST_INVALID', 'Invalid request: model: is required', {
        details: { param: 'model' },
      });
    }
    const listed = await context.chat.operation(
      reply,
      operationContext(request, 'ollama', 'models.show', { model: name }),
      async () => {
        const found = await models.find(name);
        if (found !== undefined) return { value: found };
        const hiding = failuresHiding(name, await models.list(), context.manager.backendNames);
        if (hiding.length > 0) throw listingFailed(hiding, `Could not look up the model "${name}"`);
        // Not listed: resolve() says why (no backend, backend down, or the list of what exists).
        const target = await models.resolve(name);
        throw new PlugboardError(
          'MODEL_NOT_FOUND',
          `model '${name}' not found: backend "${target.backend}" does not list it`,
          { details: { param: 'model' } },
        );
      },
    );
    return showBody(listed, context.startedAt);
  });

  app.get('/ps', async (request, reply) => {
    const active = running.list();
    const catalogue = await context.chat.operation(
      reply,
      operationContext(request, 'ollama', 'models.list'),
      async () => ({ value: active.length === 0 ? undefined : await models.list() }),
    );
    if (catalogue === undefined) return { models: [] };
    const listed = new Map(catalogue.models.map((model) => [model.qualifiedId, model]));
    const now = Date.now();
    return {
      models: active.map((entry) => {
        const model: ListedModel = listed.get(entry.qualifiedId) ??
          listed.get(`${entry.qualifiedId}:latest`) ?? {
            backend: entry.backend,
            id: entry.model,
            qualifiedId: entry.qualifiedId,
          };
        return { ...tagEntry(model, context.startedAt), expires_at: expiresAtText(entry.expiresAt, now), size_vram: 0 };
      }),
    };
  });
}
