/**
 * The Ollama-compatible API: Ollama clients and UIs can point at Plugboard as if it were an
 * Ollama server. Chat and generate run through the plugin pipeline; the model catalogue
 * comes from the backends; model management answers 501. See docs/api/ollama.md.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../create-server.ts';
import { registerChatRoute } from './chat-route.ts';
import { registerEmbedRoutes } from './embed-routes.ts';
import { registerGenerateRoute } from './generate-route.ts';
import { registerMetaRoutes } from './meta-routes.ts';
import type { OllamaRouteDeps } from './route-deps.ts';
import { RunningModels } from './running-models.ts';
import { registerTagsShowRoutes } from './tags-show-routes.ts';
import { registerUnsupportedRoutes } from './unsupported-routes.ts';

/**
 * Registers every route of the Ollama API on `app`. Errors thrown by the routes are
 * PlugboardErrors, which the server's error handler answers in Ollama's `{ "error": … }` form.
 *
 * @example
 * ```ts
 * registerOllamaRoutes(app, context); // then: GET /api/tags, POST /api/chat …
 * ```
 */
export function registerOllamaRoutes(app: FastifyInstance, context: ServerContext): void {
  const deps: OllamaRouteDeps = { context, running: new RunningModels() };
  registerMetaRoutes(app, context);
  registerTagsShowRoutes(app, deps);
  registerChatRoute(app, deps);
  registerGenerateRoute(app, deps);
  registerEmbedRoutes(app, deps);
  registerUnsupportedRoutes(app);
}
