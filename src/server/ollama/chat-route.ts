/**
 * `POST /api/chat`: a conversation through the plugin pipeline, streamed as NDJSON by default
 * (`stream` defaults to true in Ollama's API) or answered as one object.
 */
import type { FastifyInstance } from 'fastify';
import { answerInOllamaFormat } from './answer.ts';
import { mapGeneration } from './generation-options.ts';
import { keepAliveMs } from './keep-alive.ts';
import { parseOllamaBody } from './parse-request.ts';
import { RequestClock } from './request-clock.ts';
import { chatRequestSchema } from './request-schemas.ts';
import { chatShape, loadBody } from './response-bodies.ts';
import type { OllamaRouteDeps } from './route-deps.ts';
import { chatMessages, toChatContext } from './to-chat-context.ts';

/** Registers `POST /api/chat`. */
export function registerChatRoute(app: FastifyInstance, { context, running }: OllamaRouteDeps): void {
  app.post('/api/chat', async (request, reply) => {
    const clock = new RequestClock();
    const body = parseOllamaBody(chatRequestSchema, request.body);
    // Resolve first: an unknown model is a 404 even for a load request, as in Ollama.
    const target = await context.router.resolve(body.model);
    clock.loaded();
    const messages = body.messages ?? [];
    if (messages.length === 0) {
      running.touch(target, body.keep_alive);
      return loadBody('chat', body.model, keepAliveMs(body.keep_alive) === 0);
    }
    const stream = body.stream ?? true;
    const chatContext = toChatContext(request, target, chatMessages(messages), mapGeneration(body), stream);
    const shape = chatShape(body.model, (call) =>
      request.log.warn(
        { operation: 'ollama.chat', tool: call.name },
        'a tool call has arguments that are not a JSON object; sent as _raw_arguments',
      ),
    );
    return answerInOllamaFormat(context, reply, chatContext, shape, clock, () =>
      running.touch(target, body.keep_alive),
    );
  });
}
