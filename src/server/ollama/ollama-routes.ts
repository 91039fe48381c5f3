/**
 * The Ollama-compatible API: Ollama clients and UIs can point at Plugboard as if it were an
 * Ollama server. Chat and generate run through the plugin pipeline; embeddings and the model
 * catalogue pass request middleware too; model management answers 501. See docs/api/ollama.md.
 */
import type { FastifyPluginAsync } from 'fastify';
import { installErrorFormat } from '../error-format.ts';
import type { ApiOptions } from '../server-context.ts';
import { registerChatRoute } from './chat-route.ts';
import { registerEmbedRoutes } from './embed-routes.ts';
import { registerGenerateRoute } from './generate-route.ts';
import { registerRootRoute, registerVersionRoute } from './meta-routes.ts';
import { ollamaErrorBody } from './ollama-errors.ts';
import type { OllamaRouteDeps } from './route-deps.ts';
import { RunningModels } from './running-models.ts';
import { registerTagsShowRoutes } from './tags-show-routes.ts';
import { registerUnsupportedRoutes } from './unsupported-routes.ts';

/**
 * The Ollama API as an encapsulated Fastify plugin: `GET /` at the root, everything else
 * under `/api`. Every error — its own, Fastify's, an unknown `/api` path — answers in Ollama's
 * `{ "error": … }` format.
 *
 * @example
 * ```ts
 * app.register(ollamaApi, { context }); // then: GET /api/tags, POST /api/chat …
 * ```
 */
export const ollamaApi: FastifyPluginAsync<ApiOptions> = async (app, { context }) => {
  installErrorFormat(app, ollamaErrorBody, context.routes, { notFound: false });
  registerRootRoute(app, context);
  const deps: OllamaRouteDeps = { context, running: new RunningModels() };
  await app.register(
    async (api) => {
      // The not-found answer of unknown paths under /api, in Ollama's format.
      installErrorFormat(api, ollamaErrorBody, context.routes);
      registerVersionRoute(api, context);
      registerTagsShowRoutes(api, deps);
      registerChatRoute(api, deps);
      registerGenerateRoute(api, deps);
      registerEmbedRoutes(api, deps);
      registerUnsupportedRoutes(api);
    },
    { prefix: '/api' },
  );
};
