import type { FastifyRequest } from 'fastify';
import { type ChatContext, type ClientInfo, createChatContext, type Operation } from '../core/model/context.ts';
import type { MessageInput } from '../core/model/message.ts';

/** Headers a plugin may see: everything but credentials meant for the server itself. */
const HIDDEN_HEADERS = new Set(['cookie', 'proxy-authorization']);

/** What the transport knows about the caller, for middleware (auth, rate limits). */
export function clientInfo(request: Pick<FastifyRequest, 'headers' | 'ip'>): ClientInfo {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || HIDDEN_HEADERS.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { address: request.ip, headers };
}

/**
 * The context of a client operation that is not a chat (embeddings, model listings), so that
 * it passes request middleware and hooks like a chat: the request id, the caller, the API
 * (`metadata.api`), the model named, and for embeddings one user message per input.
 */
export function operationContext(
  request: FastifyRequest,
  api: 'openai' | 'ollama',
  operation: Operation,
  fields: { readonly model?: string; readonly inputs?: readonly string[] } = {},
): ChatContext {
  const messages: MessageInput[] = (fields.inputs ?? []).map((content) => ({ role: 'user', content }));
  return createChatContext({
    requestId: request.id,
    operation,
    ...(fields.model === undefined ? {} : { model: fields.model }),
    messages,
    client: clientInfo(request),
    metadata: { api },
  });
}
