/** The content type of OpenAI's streamed replies. */
export const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';

/** One server-sent event carrying `value` as JSON (OpenAI uses unnamed `data:` events only). */
export function sseEvent(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}
