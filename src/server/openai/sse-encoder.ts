import type { PlugboardError } from '../../core/errors/plugboard-error.ts';
import { errorBody } from '../http-errors.ts';

/** The content type of OpenAI's streamed replies. */
export const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';

/** One server-sent event carrying `value` as JSON (OpenAI uses unnamed `data:` events only). */
export function sseEvent(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

/**
 * Encodes objects as SSE `data:` events and ends with OpenAI's `data: [DONE]` sentinel,
 * which clients wait for before they consider the stream complete.
 *
 * @example
 * ```ts
 * await sendStream(reply, SSE_CONTENT_TYPE, inBandErrors(encodeSse(chunks), sseError(request.id)));
 * ```
 */
export async function* encodeSse(source: AsyncIterable<unknown>): AsyncGenerator<string, void, undefined> {
  for await (const value of source) yield sseEvent(value);
  yield 'data: [DONE]\n\n';
}

/**
 * The in-band error event for a stream that already started: `data: {"error": {…}}` in the
 * same shape as OpenAI's HTTP error bodies. The official clients throw an `APIError` when
 * they read an event with an `error` key; no `[DONE]` follows, the stream just ends.
 */
export function sseError(requestId: string): (error: PlugboardError) => string {
  return (error) => sseEvent(errorBody('openai', error, requestId));
}
