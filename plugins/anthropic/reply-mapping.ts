/**
 * Anthropic's answers in Plugboard's terms: a whole `Message` as a ChatCompletion, stop
 * reasons as finish reasons, token usage as Usage.
 */
import type { Message as AnthropicMessage, StopReason } from '@anthropic-ai/sdk/resources/messages';
import { type ChatCompletion, createMessage, type FinishReason, type ToolCall, type Usage } from '../../src/index.ts';

/** Token counts as both usage objects of the API carry them (some fields nullable in deltas). */
export interface TokenCounts {
  readonly input_tokens?: number | null;
  readonly output_tokens?: number | null;
  readonly cache_creation_input_tokens?: number | null;
  readonly cache_read_input_tokens?: number | null;
}

/**
 * Why the model stopped: `end_turn`, `stop_sequence` and `pause_turn` → `stop`; `max_tokens`
 * and `model_context_window_exceeded` → `length`; `tool_use` → `tool_calls`; `refusal` →
 * `content_filter`. Unknown reasons (a later API version may add some) → `stop`.
 */
export function toFinishReason(reason: StopReason | string | null | undefined): FinishReason | undefined {
  switch (reason) {
    case null:
    case undefined:
      return undefined;
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/**
 * Usage: prompt tokens are all input tokens (uncached plus those written to and read from the
 * prompt cache, which Anthropic counts apart), completion tokens the output tokens.
 */
export function toUsage(counts: TokenCounts): Usage {
  return {
    promptTokens:
      (counts.input_tokens ?? 0) + (counts.cache_creation_input_tokens ?? 0) + (counts.cache_read_input_tokens ?? 0),
    completionTokens: counts.output_tokens ?? 0,
  };
}

/** The JSON text of a tool call's input, as Plugboard's ToolCall carries it. */
export function toolArguments(input: unknown): string {
  return JSON.stringify(input ?? {});
}

/**
 * A whole Anthropic message as a ChatCompletion: text blocks joined, thinking blocks joined,
 * `tool_use` blocks as tool calls. Other blocks (redacted thinking, server tools) are left out.
 */
export function toChatCompletion(message: AnthropicMessage): ChatCompletion {
  let content = '';
  let thinking = '';
  const toolCalls: ToolCall[] = [];
  for (const block of message.content) {
    if (block.type === 'text') content += block.text;
    else if (block.type === 'thinking') thinking += block.thinking;
    else if (block.type === 'tool_use') {
      toolCalls.push({ id: block.id, name: block.name, arguments: toolArguments(block.input) });
    }
  }
  const finishReason = toFinishReason(message.stop_reason);
  return {
    message: createMessage({
      role: 'assistant',
      content,
      ...(thinking === '' ? {} : { thinking }),
      ...(toolCalls.length === 0 ? {} : { toolCalls }),
    }),
    usage: toUsage(message.usage),
    ...(finishReason === undefined ? {} : { finishReason }),
    model: message.model,
  };
}
