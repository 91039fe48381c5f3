/**
 * Turns Ollama requests into the core's ChatContext, so `/api/chat` and `/api/generate` run
 * through the same plugin pipeline as every other API: middleware, processors, extensions,
 * then the backend the model resolved to.
 */
import type { FastifyRequest } from 'fastify';
import { type ChatContext, createChatContext } from '../../core/model/context.ts';
import type { MessageInput } from '../../core/model/message.ts';
import { conversationIdOf } from '../conversation-id.ts';
import { clientInfo } from '../request-context.ts';
import type { MappedGeneration } from './generation-options.ts';
import type { OllamaGenerateRequest, OllamaMessage } from './request-schemas.ts';
import { ToolCallLinker, toCoreToolCalls } from './tool-calls.ts';

/**
 * The chat context of an Ollama request: the model as the client named it (the pipeline
 * routes it to a backend after middleware), the request id (`x-request-id`), the caller's
 * address and headers for middleware.
 *
 * @throws PlugboardError `REQUEST_INVALID` when the result breaks a core rule.
 */
export function toChatContext(
  request: FastifyRequest,
  operation: 'chat' | 'generate',
  model: string,
  messages: MessageInput[],
  generation: MappedGeneration,
  stream: boolean,
): ChatContext {
  const conversationId = conversationIdOf(
    request,
    (request.body as { conversation_id?: string | null }).conversation_id,
  );
  return createChatContext({
    requestId: request.id,
    ...(conversationId === undefined ? {} : { conversationId }),
    operation,
    model,
    messages,
    options: generation.options,
    stream,
    client: clientInfo(request),
    // The API it came through, as every other route says it (logging, metrics by API).
    metadata: { ...generation.metadata, api: 'ollama' },
  });
}

/**
 * `/api/chat` messages in the core's form: tool-call arguments as JSON text with ids, and
 * each `tool` result paired with the call it answers (see {@link ToolCallLinker}).
 */
export function chatMessages(messages: readonly OllamaMessage[]): MessageInput[] {
  const linker = new ToolCallLinker();
  return messages.map((message, index) => {
    const toolCalls = message.tool_calls?.length ? toCoreToolCalls(message.tool_calls, index) : undefined;
    if (toolCalls) linker.called(toolCalls);
    return {
      role: message.role,
      content: message.content ?? '',
      ...(message.images?.length ? { images: [...message.images] } : {}),
      ...(message.thinking ? { thinking: message.thinking } : {}),
      ...(toolCalls ? { toolCalls } : {}),
      ...(message.role === 'tool' ? linker.answer(message) : {}),
    };
  });
}

/**
 * `/api/generate` as a conversation: the `system` prompt (unless `raw`, which in Ollama skips
 * all templating) and the prompt as a user message with its images. `template` and `context`
 * have no equivalent in a chat and are ignored.
 */
export function generateMessages(body: OllamaGenerateRequest): MessageInput[] {
  const messages: MessageInput[] = [];
  if (body.system && !body.raw) messages.push({ role: 'system', content: body.system });
  messages.push({
    role: 'user',
    content: body.prompt ?? '',
    ...(body.images?.length ? { images: [...body.images] } : {}),
  });
  return messages;
}
