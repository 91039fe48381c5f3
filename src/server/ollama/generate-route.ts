/**
 * `POST /api/generate`: a prompt completion, run as a chat (optional system prompt + the
 * prompt as a user message) through the same pipeline as `/api/chat`, so every plugin applies.
 */
import type { FastifyInstance } from 'fastify';
import { PlugboardError } from '../../core/errors/plugboard-error.ts';
import { answeredBy, answerInOllamaFormat, loadModel } from './answer.ts';
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
  app.post('/generate', async (request, reply) => {
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
    if (!body.prompt && !body.images?.length) {
      // A load request: middleware first, then the model (an unknown one is a 404, as in Ollama).
      const target = await loadModel(context, request, reply, 'generate', body.model);
      running.touch(target, body.keep_alive);
      return loadBody('generate', body.model, keepAliveMs(body.keep_alive) === 0);
    }
    const stream = body.stream ?? true;
    const chatContext = toChatContext(
      request,
      'generate',
      body.model,
      generateMessages(body),
      mapGeneration(body),
      stream,
    );
    const shape = generateShape(body.model);
    return answerInOllamaFormat(context, reply, chatContext, shape, clock, (response) =>
      running.touch(answeredBy(response, body.model), body.keep_alive),
    );
  });
}
