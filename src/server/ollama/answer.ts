import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ChatContext } from '../../core/model/context.ts';
import type { ChatResponse } from '../../core/model/reply.ts';
import type { ModelTarget } from '../../core/routing/model-router.ts';
import { operationContext } from '../request-context.ts';
import type { ServerContext } from '../server-context.ts';
import { NdjsonEncoder } from './ndjson-encoder.ts';
import type { RequestClock } from './request-clock.ts';
import { type ResponseShape, statsOf } from './response-bodies.ts';

/**
 * Runs a chat context through the pipeline and answers in Ollama's format: NDJSON lines when
 * streaming, else one object; `used` runs once the reply is complete, with the backend and
 * model that answered (it keeps the model listed in `/api/ps`). Shared by `/api/chat` and `/api/generate`, which differ only in how
 * they build the context and shape the lines.
 */
export async function answerInOllamaFormat(
  context: ServerContext,
  reply: FastifyReply,
  chatContext: ChatContext,
  shape: ResponseShape,
  clock: RequestClock,
  used: (response: ChatResponse) => void,
): Promise<unknown> {
  clock.loaded();
  if (chatContext.stream) {
    await context.chat.stream(reply, chatContext, 'ollama', new NdjsonEncoder(shape, clock, used));
    return reply;
  }
  const response = await context.chat.complete(reply, chatContext, 'ollama');
  used(response);
  return shape.complete(response, statsOf(response, clock.durations()));
}

/** The backend and model that answered, for `/api/ps` (the name asked for when a middleware answered). */
export function answeredBy(response: ChatResponse, asked: string): ModelTarget {
  return { backend: response.backend ?? 'plugboard', model: response.model ?? asked };
}

/**
 * An Ollama load request (a chat or generate without messages): it passes request middleware
 * like the request it stands for, then resolves the model — an unknown one is a 404.
 */
export function loadModel(
  context: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  operation: 'chat' | 'generate',
  model: string,
): Promise<ModelTarget> {
  return context.chat.operation(reply, operationContext(request, 'ollama', operation, { model }), async (admitted) => ({
    value: await context.manager.models.resolve(admitted.model ?? model),
  }));
}
