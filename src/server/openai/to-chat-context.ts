import type { FastifyRequest } from 'fastify';
import { type ChatContext, type ChatContextInput, createPrevalidatedChatContext } from '../../core/model/context.ts';
import { conversationIdOf } from '../conversation-id.ts';
import { clientInfo } from '../request-context.ts';
import type { ChatCompletionRequest } from './request-schema.ts';
import { toCoreMessages } from './to-core-messages.ts';
import { toGenerationOptions } from './to-generation-options.ts';

/** OpenAI parameters with no core field that plugins may still want to read (`metadata.openai`). */
const PASSED_AS_METADATA = [
  'parallel_tool_calls',
  'store',
  'metadata',
  'service_tier',
  'reasoning_effort',
  'verbosity',
  'safety_identifier',
  'prompt_cache_key',
] as const;

/**
 * The chat context of an OpenAI chat completion request. The model is the client's name for
 * it: the pipeline routes it to a backend after middleware.
 *
 * The request id is the server's (`x-request-id`), so logs, hooks and the response id agree.
 * The conversation is the `x-conversation-id` header's, else `metadata.conversation_id`.
 * `metadata.api` is `openai`, `metadata.user` the caller's `user` field, and
 * `metadata.openai` holds the OpenAI-only parameters a plugin may care about
 * (`parallel_tool_calls`, `store`, `metadata` …).
 *
 * @throws PlugboardError `REQUEST_INVALID` if the mapped context is not valid (it should not
 * be: the request schema admits only what the core accepts).
 */
export function toChatContext(body: ChatCompletionRequest, request: FastifyRequest): ChatContext {
  // Validated once: the request schema is stricter than the core's (see createPrevalidatedChatContext).
  return createPrevalidatedChatContext(chatContextInput(body, request));
}

/** What {@link toChatContext} builds the context from (a test holds it valid for every valid request). */
export function chatContextInput(
  body: ChatCompletionRequest,
  request: Pick<FastifyRequest, 'id' | 'headers' | 'ip'>,
): ChatContextInput {
  const passed: Record<string, unknown> = {};
  for (const key of PASSED_AS_METADATA) if (body[key] != null) passed[key] = body[key];
  const conversationId = conversationIdOf(request, body.metadata?.conversation_id);
  return {
    requestId: request.id,
    ...(conversationId === undefined ? {} : { conversationId }),
    model: body.model,
    messages: toCoreMessages(body.messages),
    options: toGenerationOptions(body),
    stream: body.stream === true,
    client: clientInfo(request),
    metadata: {
      api: 'openai',
      ...(body.user == null ? {} : { user: body.user }),
      ...(Object.keys(passed).length === 0 ? {} : { openai: passed }),
    },
  };
}
