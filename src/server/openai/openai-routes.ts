import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../create-server.ts';
import { registerChatCompletionsRoute } from './chat-completions-route.ts';
import { registerEmbeddingsRoute } from './embeddings-route.ts';
import { registerModelsRoutes } from './models-routes.ts';

/**
 * The OpenAI-compatible API under `/v1`: chat completions (whole and streamed), models and
 * embeddings, in OpenAI's wire format so the official clients work unchanged. Errors are
 * answered in OpenAI's error format by the server's error handler (every URL under `/v1`).
 * See docs/api/openai.md.
 */
export function registerOpenAiRoutes(app: FastifyInstance, context: ServerContext): void {
  registerChatCompletionsRoute(app, context);
  registerModelsRoutes(app, context);
  registerEmbeddingsRoute(app, context);
}
