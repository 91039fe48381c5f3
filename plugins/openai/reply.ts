import type {
  ChatCompletionChunk as OpenAiChunk,
  ChatCompletion as OpenAiCompletion,
} from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { type ChatChunk, type ChatCompletion, createMessage, type FinishReason, type Usage } from '../../src/index.ts';
import { ToolCallAssembler } from './tool-call-assembler.ts';

/**
 * OpenAI replies in Plugboard's terms: whole completions, and streams of chunks.
 *
 * Reasoning arrives outside OpenAI's schema, where the compatible servers put it:
 * `reasoning_content` (DeepSeek, llama-server, older vLLM) or `reasoning` (newer vLLM,
 * Groq, OpenRouter); either becomes `thinking`. A `refusal` is the reply's text.
 */

/** Plugboard's finish reason for OpenAI's (and the variants of compatible servers). */
export function toFinishReason(reason: string | null | undefined, hasToolCalls: boolean): FinishReason | undefined {
  switch (reason) {
    case 'length':
    case 'content_filter':
      return reason;
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case null:
    case undefined:
    case '':
      return hasToolCalls ? 'tool_calls' : undefined;
    default:
      // stop, and TGI's eos_token / stop_sequence: the model ended its turn.
      return hasToolCalls ? 'tool_calls' : 'stop';
  }
}

/** Plugboard's usage of OpenAI's, when the server reported one. */
export function toUsage(usage: CompletionUsage | null | undefined): Usage | undefined {
  if (usage == null) return undefined;
  return { promptTokens: usage.prompt_tokens ?? 0, completionTokens: usage.completion_tokens ?? 0 };
}

/**
 * A whole OpenAI completion as Plugboard's. Only the first choice counts (Plugboard asks for one).
 *
 * @throws Error when the reply has no choice.
 */
export function toChatCompletion(completion: OpenAiCompletion): ChatCompletion {
  const choice = completion.choices?.[0];
  if (choice === undefined)
    throw new Error('the server answered without a choice (is base_url an OpenAI-compatible API?)');
  const message = choice.message;
  const toolCalls = (message.tool_calls ?? []).flatMap((call) =>
    call.type === 'function' || call.type === undefined
      ? [{ id: call.id, name: call.function.name, arguments: call.function.arguments || '{}' }]
      : [],
  );
  const thinking = reasoningOf(message);
  const usage = toUsage(completion.usage);
  const finishReason = toFinishReason(choice.finish_reason, toolCalls.length > 0);
  return {
    message: createMessage({
      role: 'assistant',
      content: message.content ?? message.refusal ?? '',
      ...(thinking ? { thinking } : {}),
      ...(toolCalls.length > 0 ? { toolCalls } : {}),
    }),
    ...(usage ? { usage } : {}),
    ...(finishReason ? { finishReason } : {}),
    ...(completion.model ? { model: completion.model } : {}),
  };
}

/**
 * Plugboard chunks of an OpenAI chunk stream: text and reasoning as they come; tool calls
 * assembled from their deltas and yielded whole once the choice finishes (or the stream
 * ends); last, a chunk with the finish reason and the usage (sent after the finish by
 * servers honouring `stream_options.include_usage`).
 *
 * A stream cut by `signal` ends the client's iteration quietly; this throws the abort's
 * reason instead, so a cancelled reply never reads as a finished one. Any other error is
 * passed through `fail` (which maps it) and thrown.
 */
export async function* readChatStream(
  stream: AsyncIterable<OpenAiChunk>,
  signal: AbortSignal,
  fail: (error: unknown) => unknown,
): AsyncGenerator<ChatChunk> {
  const calls = new ToolCallAssembler();
  let finish: string | null | undefined;
  let usage: Usage | undefined;
  let sawToolCalls = false;
  try {
    for await (const chunk of stream) {
      usage = toUsage(chunk.usage) ?? usage;
      const choice = chunk.choices?.find((candidate) => (candidate.index ?? 0) === 0);
      if (choice === undefined) continue;
      const delta = choice.delta ?? {};
      const content = (delta.content ?? '') + (delta.refusal ?? '');
      const thinking = reasoningOf(delta);
      if (content || thinking) yield { ...(content ? { content } : {}), ...(thinking ? { thinking } : {}) };
      for (const call of delta.tool_calls ?? []) calls.add(call);
      if (choice.finish_reason) {
        finish = choice.finish_reason;
        if (calls.pending) {
          sawToolCalls = true;
          yield { toolCalls: calls.take() };
        }
      }
    }
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw fail(error);
  }
  if (signal.aborted) throw signal.reason;
  let toolCalls: ChatChunk['toolCalls'];
  try {
    toolCalls = calls.pending ? calls.take() : undefined;
  } catch (error) {
    throw fail(error);
  }
  sawToolCalls ||= toolCalls !== undefined;
  const finishReason = toFinishReason(finish, sawToolCalls);
  yield {
    ...(toolCalls ? { toolCalls } : {}),
    ...(finishReason ? { finishReason } : {}),
    ...(usage ? { usage } : {}),
  };
}

/** The reasoning text of a message or delta, wherever the server put it. */
function reasoningOf(part: object): string {
  const { reasoning_content: content, reasoning } = part as { reasoning_content?: unknown; reasoning?: unknown };
  if (typeof content === 'string' && content !== '') return content;
  return typeof reasoning === 'string' ? reasoning : '';
}
