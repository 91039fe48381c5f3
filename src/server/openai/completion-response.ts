import type { ChatResponse } from '../../core/model/reply.ts';
import type { JsonValue } from '../../core/stores/json.ts';
import {
  type OpenAiFinishReason,
  type OpenAiToolCall,
  type OpenAiUsage,
  toFinishReason,
  toToolCall,
  toUsage,
} from './completion-parts.ts';

/** Identity of one completion, shared by a whole reply and every chunk of a streamed one. */
export interface CompletionIdentity {
  /** `chatcmpl-<request id>`. */
  readonly id: string;
  /** Unix seconds when the request was received. */
  readonly created: number;
  /** The model name as the client sent it. */
  readonly model: string;
}

/** OpenAI's `chat.completion` object. */
export interface ChatCompletionBody {
  readonly id: string;
  readonly object: 'chat.completion';
  readonly created: number;
  readonly model: string;
  readonly system_fingerprint: null;
  readonly choices: readonly [
    {
      readonly index: 0;
      readonly message: {
        readonly role: 'assistant';
        readonly content: string | null;
        readonly refusal: null;
        readonly tool_calls?: readonly OpenAiToolCall[];
        readonly reasoning_content?: string;
      };
      readonly finish_reason: OpenAiFinishReason;
      readonly logprobs: null;
    },
  ];
  readonly usage: OpenAiUsage;
  /** What plugins set for the client (`call.setResponseData`): RAG's citations, the tools that ran … */
  readonly plugboard?: Readonly<Record<string, JsonValue>>;
}

/**
 * A whole reply in OpenAI's format. `content` is null when the model only called tools (as
 * OpenAI sends it); the reasoning of thinking models is `reasoning_content`, where
 * DeepSeek, vLLM and other OpenAI-compatible servers put it.
 *
 * @example
 * ```ts
 * return toCompletionBody(await context.chat.complete(reply, chatContext, 'openai'), identity);
 * ```
 */
export function toCompletionBody(response: ChatResponse, identity: CompletionIdentity): ChatCompletionBody {
  const { message } = response;
  const toolCalls = message.toolCalls ?? [];
  return {
    id: identity.id,
    object: 'chat.completion',
    created: identity.created,
    model: identity.model,
    system_fingerprint: null,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: message.content === '' && toolCalls.length > 0 ? null : message.content,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls.map(toToolCall) } : {}),
          ...(message.thinking ? { reasoning_content: message.thinking } : {}),
        },
        finish_reason: toFinishReason(response.finishReason, toolCalls.length > 0),
        logprobs: null,
      },
    ],
    usage: toUsage(response.usage),
    ...(response.data === undefined ? {} : { plugboard: response.data }),
  };
}
