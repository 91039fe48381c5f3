/**
 * Ollama's streaming format: one JSON object per line (`application/x-ndjson`), the last one
 * with `done: true` and the statistics; an error after the first line becomes a last
 * `{"error": "…"}` line, which Ollama's clients raise as an exception.
 */
import type { FastifyReply } from 'fastify';
import type { PlugboardError } from '../../core/errors/plugboard-error.ts';
import type { ChatResponse } from '../../core/model/reply.ts';
import type { HttpChatStream } from '../chat-runner.ts';
import { inBandErrors, sendStream } from '../streaming.ts';
import type { RequestClock } from './request-clock.ts';
import { type ResponseShape, statsOf } from './response-bodies.ts';

/** Ollama's in-band error line. */
export function errorLine(error: PlugboardError): string {
  return `${JSON.stringify({ error: error.message })}\n`;
}

/**
 * The NDJSON lines of a streamed reply. A module-level generator rather than one created per
 * request (see docs/PERFORMANCE.md on per-request generator functions).
 *
 * @param onComplete runs once the reply is complete, before the final line is sent.
 */
export async function* ndjsonLines(
  stream: HttpChatStream,
  shape: ResponseShape,
  clock: RequestClock,
  onComplete?: (response: ChatResponse) => void,
): AsyncGenerator<string, void, undefined> {
  for await (const chunk of stream) {
    const line = shape.chunk(chunk);
    if (line === undefined) continue;
    clock.firstOutput();
    yield `${JSON.stringify(line)}\n`;
  }
  const response = await stream.response;
  onComplete?.(response);
  yield `${JSON.stringify(shape.final(response, statsOf(response, clock.durations())))}\n`;
}

/**
 * Sends a streamed reply as NDJSON. Nothing is committed before the first line, so a request
 * the pipeline refuses early still gets a real status; later errors travel in-band.
 *
 * @example
 * ```ts
 * return sendNdjson(reply, context.chat.stream(reply, chatContext, 'ollama'), chatShape(body.model), clock);
 * ```
 */
export function sendNdjson(
  reply: FastifyReply,
  stream: HttpChatStream,
  shape: ResponseShape,
  clock: RequestClock,
  onComplete?: (response: ChatResponse) => void,
): Promise<FastifyReply> {
  return sendStream(
    reply,
    'application/x-ndjson',
    inBandErrors(ndjsonLines(stream, shape, clock, onComplete), errorLine),
  );
}
