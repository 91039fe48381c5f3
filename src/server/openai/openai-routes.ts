import type { FastifyPluginAsync } from 'fastify';
import { installErrorFormat } from '../error-format.ts';
import { registerPluginEndpoints } from '../plugin-endpoints.ts';
import type { ApiOptions } from '../server-context.ts';
import { registerChatCompletionsRoute } from './chat-completions-route.ts';
import { registerEmbeddingsRoute } from './embeddings-route.ts';
import { registerModelsRoutes } from './models-routes.ts';
import { openAiErrorBody } from './openai-errors.ts';

/**
 * The OpenAI-compatible API, an encapsulated Fastify plugin registered under `/v1`: chat
 * completions (whole and streamed, SSE), models and embeddings, in OpenAI's wire format so
 * the official clients work unchanged. Every error under `/v1` — its own, Fastify's, an
 * unknown path — answers in OpenAI's error format. See docs/api/openai.md.
 *
 * @example
 * ```ts
 * app.register(openAiApi, { prefix: '/v1', context });
 * ```
 */
export const openAiApi: FastifyPluginAsync<ApiOptions> = async (app, { context }) => {
  installErrorFormat(app, openAiErrorBody, context.routes);
  registerChatCompletionsRoute(app, context);
  registerModelsRoutes(app, context);
  registerEmbeddingsRoute(app, context);
  await registerPluginEndpoints(app, context);
};
