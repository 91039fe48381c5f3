/**
 * The response objects of `/api/chat` and `/api/generate`: streamed lines, final lines and
 * whole (unstreamed) replies, in the shapes of Ollama's `ChatResponse` and `GenerateResponse`.
 */
import type { ToolCall } from '../../core/model/message.ts';
import type { ChatChunk, ChatResponse, FinishReason } from '../../core/model/reply.ts';
import type { OllamaDurations } from './request-clock.ts';
import { toOllamaToolCalls } from './tool-calls.ts';

/** A JSON object for the wire. */
export type WireObject = Record<string, unknown>;

/** Ollama's final statistics: token counts and durations. */
export type OllamaStats = OllamaDurations & { readonly prompt_eval_count: number; readonly eval_count: number };

/** How the lines of one API look: chat (`message`) or generate (`response`). */
export interface ResponseShape {
  /** A streamed line for a chunk, or `undefined` when the chunk carries nothing to show. */
  chunk(chunk: ChatChunk): WireObject | undefined;
  /** The last streamed line (`done: true`) with the statistics. */
  final(response: ChatResponse, stats: OllamaStats): WireObject;
  /** The whole reply of an unstreamed request. */
  complete(response: ChatResponse, stats: OllamaStats): WireObject;
}

/**
 * Ollama's `done_reason`. Ollama only knows `stop` and `length` for generation (a reply with
 * tool calls is `stop`); a content filter's stop is passed on as `content_filter`, which
 * tells the user more than `stop` would.
 */
export function doneReason(reason: FinishReason | undefined): string {
  if (reason === 'length' || reason === 'content_filter') return reason;
  return 'stop';
}

/** The statistics of a finished request. Unknown token counts are 0. */
export function statsOf(response: ChatResponse, durations: OllamaDurations): OllamaStats {
  return {
    ...durations,
    prompt_eval_count: response.usage?.promptTokens ?? 0,
    eval_count: response.usage?.completionTokens ?? 0,
  };
}

/** Ollama's `created_at`: an RFC 3339 timestamp. */
export function createdAt(): string {
  return new Date().toISOString();
}

/**
 * The answer to a request without messages (chat) or prompt (generate): Ollama's way of
 * loading a model (`done_reason: "load"`), or unloading it with `keep_alive: 0` (`"unload"`).
 * The model is not called.
 */
export function loadBody(api: 'chat' | 'generate', model: string, unload: boolean): WireObject {
  const output = api === 'chat' ? { message: { role: 'assistant', content: '' } } : { response: '' };
  return { model, created_at: createdAt(), ...output, done: true, done_reason: unload ? 'unload' : 'load' };
}

/**
 * Lines of `/api/chat`, echoing the model name the client used (clients match on it).
 * `onInvalidArguments` hears of tool calls whose arguments are not a JSON object.
 */
export function chatShape(model: string, onInvalidArguments?: (call: ToolCall) => void): ResponseShape {
  const toolCalls = (calls: readonly ToolCall[] | undefined) =>
    calls?.length ? { tool_calls: toOllamaToolCalls(calls, onInvalidArguments) } : {};
  return {
    chunk(chunk) {
      if (!chunk.content && !chunk.thinking && !chunk.toolCalls?.length) return undefined;
      return {
        model,
        created_at: createdAt(),
        message: {
          role: 'assistant',
          content: chunk.content ?? '',
          ...(chunk.thinking ? { thinking: chunk.thinking } : {}),
          ...toolCalls(chunk.toolCalls),
        },
        done: false,
      };
    },
    final(response, stats) {
      return {
        model,
        created_at: createdAt(),
        message: { role: 'assistant', content: '' },
        done: true,
        done_reason: doneReason(response.finishReason),
        ...stats,
        ...plugboardData(response),
      };
    },
    complete(response, stats) {
      const message = response.message;
      return {
        model,
        created_at: createdAt(),
        message: {
          role: 'assistant',
          content: message.content,
          ...(message.thinking ? { thinking: message.thinking } : {}),
          ...toolCalls(message.toolCalls),
        },
        done: true,
        done_reason: doneReason(response.finishReason),
        ...stats,
        ...plugboardData(response),
      };
    },
  };
}

/**
 * Lines of `/api/generate`. `context` (token ids of the conversation, deprecated by Ollama)
 * is always empty: Plugboard has no tokenizer, and clients send it back unchanged.
 */
export function generateShape(model: string): ResponseShape {
  return {
    chunk(chunk) {
      if (!chunk.content && !chunk.thinking) return undefined;
      return {
        model,
        created_at: createdAt(),
        response: chunk.content ?? '',
        ...(chunk.thinking ? { thinking: chunk.thinking } : {}),
        done: false,
      };
    },
    final(response, stats) {
      return {
        model,
        created_at: createdAt(),
        response: '',
        done: true,
        done_reason: doneReason(response.finishReason),
        context: [],
        ...stats,
        ...plugboardData(response),
      };
    },
    complete(response, stats) {
      return {
        model,
        created_at: createdAt(),
        response: response.message.content,
        ...(response.message.thinking ? { thinking: response.message.thinking } : {}),
        done: true,
        done_reason: doneReason(response.finishReason),
        context: [],
        ...stats,
        ...plugboardData(response),
      };
    },
  };
}

/** What plugins set for the client (`call.setResponseData`), as a `plugboard` field of the last line. */
function plugboardData(response: ChatResponse): { plugboard?: ChatResponse['data'] } {
  return response.data === undefined ? {} : { plugboard: response.data };
}
