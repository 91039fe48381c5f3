import type { ToolCall } from '../../core/model/message.ts';
import type { FinishReason, Usage } from '../../core/model/reply.ts';

/**
 * Pieces of OpenAI's chat completion wire format shared by the whole (`chat.completion`)
 * and the streamed (`chat.completion.chunk`) replies.
 */

/** OpenAI's `finish_reason` values. */
export type OpenAiFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/** OpenAI's `usage` object. */
export interface OpenAiUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

/** A tool call as OpenAI sends it. */
export interface OpenAiToolCall {
  readonly id: string;
  readonly type: 'function';
  readonly function: { readonly name: string; readonly arguments: string };
}

/**
 * The OpenAI `finish_reason` of a core finish reason. The core's `error` has no OpenAI
 * counterpart, and a reply that reached this point was delivered whole (a failed request
 * is an HTTP or in-band error instead), so it reads as `stop`. Without a reason from the
 * backend, a reply with tool calls finished with `tool_calls`, any other with `stop`.
 */
export function toFinishReason(reason: FinishReason | undefined, hasToolCalls: boolean): OpenAiFinishReason {
  if (reason === undefined || reason === 'error') return hasToolCalls ? 'tool_calls' : 'stop';
  return reason;
}

/** OpenAI's usage object; zeros when the backend did not report usage (OpenAI always sends one). */
export function toUsage(usage: Usage | undefined): OpenAiUsage {
  const prompt = usage?.promptTokens ?? 0;
  const completion = usage?.completionTokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** A core tool call in OpenAI's shape. */
export function toToolCall(call: ToolCall): OpenAiToolCall {
  return { id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } };
}

/** OpenAI's `created`: Unix time in whole seconds. */
export function unixSeconds(date: Date = new Date()): number {
  return Math.floor(date.getTime() / 1000);
}
