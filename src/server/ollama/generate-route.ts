/**
 * `POST /api/generate`: a prompt completion, run as a chat (optional system prompt + the
 * prompt as a user message) through the same pipeline as `/api/chat`, so every plugin applies.
 */
import type { FastifyInstance } from 'fastify';
import { PlugboardError } from '../../core/errors/plugboard-error.ts';
import { answerInOllamaFormat } from './answer.ts';
import { mapGeneration } from './generation-options.ts';
import { keepAliveMs } from './keep-alive.ts';
import { parseOllamaBody } from './parse-request.ts';
import { RequestClock } from './request-clock.ts';
import { generateRequestSchema } from './request-schemas.ts';
import { generateShape, loadBody } from './response-bodies.ts';
import type { OllamaRouteDeps } from './route-deps.ts';
import { generateMessages, toChatContext } from './to-chat-context.ts';

/** Registers `POST /api/generate`. */
export function registerGenerateRoute(app: FastifyInstance, { context, running }: OllamaRouteDeps): void {
  app.post('/api/generate', async (request, reply) => {
    const clock = new RequestClock();
    const body = parseOllamaBody(generateRequestSchema, request.body);
    if (body.suffix) {
      // Fill-in-the-middle needs the backend's raw completion API; a chat cannot express it.
      // Ollama answers a model without "insert" support the same way: 400.
      throw new PlugboardError(
        'REQUEST_INVALID',
        'suffix (fill-in-the-middle) is not supported: Plugboard runs /api/generate as a chat',
        { details: { param: 'suffix' } },
      );
    }
    const target = await context.router.resolve(body.model);
    clock.loaded();
    if (!body.prompt && !body.images?.length) {
      running.touch(target, body.keep_alive);
      return loadBody('generate', body.model, keepAliveMs(body.keep_alive) === 0);
    }
    const stream = body.stream ?? true;
    const chatContext = toChatContext(request, target, generateMessages(body), mapGeneration(body), stream);
    const shape = generateShape(body.model);
    return answerInOllamaFormat(context, reply, chatContext, shape, clock, () =>
      running.touch(target, body.keep_alive),
    );
  });
}
