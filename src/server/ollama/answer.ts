import type { FastifyReply } from 'fastify';
import type { ChatContext } from '../../core/model/context.ts';
import type { ServerContext } from '../create-server.ts';
import { NdjsonEncoder } from './ndjson-encoder.ts';
import type { RequestClock } from './request-clock.ts';
import { type ResponseShape, statsOf } from './response-bodies.ts';

/**
 * Runs a chat context through the pipeline and answers in Ollama's format: NDJSON lines when
 * streaming, else one object; `used` runs once the reply is complete (it keeps the model
 * listed in `/api/ps`). Shared by `/api/chat` and `/api/generate`, which differ only in how
 * they build the context and shape the lines.
 */
export async function answerInOllamaFormat(
  context: ServerContext,
  reply: FastifyReply,
  chatContext: ChatContext,
  shape: ResponseShape,
  clock: RequestClock,
  used: () => void,
): Promise<unknown> {
  if (chatContext.stream) {
    await context.chat.stream(reply, chatContext, 'ollama', new NdjsonEncoder(shape, clock, used));
    return reply;
  }
  const response = await context.chat.complete(reply, chatContext, 'ollama');
  used();
  return shape.complete(response, statsOf(response, clock.durations()));
}
