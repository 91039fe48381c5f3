/**
 * `POST /api/chat`: a conversation through the plugin pipeline, streamed as NDJSON by default
 * (`stream` defaults to true in Ollama's API) or answered as one object.
 */
import type { FastifyInstance } from 'fastify';
import { answeredBy, answerInOllamaFormat, loadModel } from './answer.ts';
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
  app.post('/chat', async (request, reply) => {
    const clock = new RequestClock();
    const body = parseOllamaBody(chatRequestSchema, request.body);
    const messages = body.messages ?? [];
    if (messages.length === 0) {
      // A load request: middleware first, then the model (an unknown one is a 404, as in Ollama).
      const target = await loadModel(context, request, reply, 'chat', body.model);
      running.touch(target, body.keep_alive);
      return loadBody('chat', body.model, keepAliveMs(body.keep_alive) === 0);
    }
    const stream = body.stream ?? true;
    const chatContext = toChatContext(request, 'chat', body.model, chatMessages(messages), mapGeneration(body), stream);
    const shape = chatShape(body.model, (call) =>
      request.log.warn(
        { operation: 'ollama.chat', tool: call.name },
        'a tool call has arguments that are not a JSON object; sent as _raw_arguments',
      ),
    );
    return answerInOllamaFormat(context, reply, chatContext, shape, clock, (response) =>
      running.touch(answeredBy(response, body.model), body.keep_alive),
    );
  });
}
