import type { FastifyRequest } from 'fastify';
import { PlugboardError } from '../core/errors/plugboard-error.ts';

/** The request header that names a conversation on every API (conversation memory reads it). */
export const CONVERSATION_HEADER = 'x-conversation-id';
/** A UUID, `new`, or an id of the client's own: letters, digits, `.`, `_`, `:`, `-`. */
const CONVERSATION_ID = /^[A-Za-z0-9._:-]{1,256}$/;

/**
 * The conversation a request belongs to, for `context.conversationId`: the
 * `x-conversation-id` header on any API, else the body's own field (OpenAI's
 * `metadata.conversation_id`, Ollama's `conversation_id`). Absent when neither is given: the
 * request is stateless.
 *
 * @example
 * ```ts
 * conversationIdOf(request, body.metadata?.conversation_id); // '4f1c…' from the header, if sent
 * ```
 * @throws PlugboardError `REQUEST_INVALID` (400) for an id that is empty, too long or has other characters.
 */
export function conversationIdOf(
  request: Pick<FastifyRequest, 'headers'>,
  fromBody: string | null | undefined,
): string | undefined {
  const header = request.headers[CONVERSATION_HEADER];
  const value = (Array.isArray(header) ? header[0] : header) ?? fromBody ?? undefined;
  if (value === undefined) return undefined;
  if (!CONVERSATION_ID.test(value)) {
    throw new PlugboardError(
      'REQUEST_INVALID',
      `The conversation id must be 1–256 letters, digits, ".", "_", ":" or "-" (or "new"), got ${JSON.stringify(value.slice(0, 40))}`,
    );
  }
  return value;
}
