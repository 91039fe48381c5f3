import type { PlugboardError } from '../../core/errors/plugboard-error.ts';
import type { ChatChunk, ChatResponse, FinishReason, Usage } from '../../core/model/reply.ts';
import { degradedPlugins } from '../degraded.ts';
import type { StreamEncoder } from '../streaming.ts';
import { type OpenAiFinishReason, type OpenAiUsage, toFinishReason, toToolCall, toUsage } from './completion-parts.ts';
import type { CompletionIdentity } from './completion-response.ts';
import { openAiErrorBody } from './openai-errors.ts';
import { SSE_CONTENT_TYPE, sseEvent } from './sse-encoder.ts';

/** What a chunk's `delta` may carry. */
export interface ChunkDelta {
  readonly role?: 'assistant';
  readonly content?: string | null;
  readonly reasoning_content?: string;
  readonly tool_calls?: readonly {
    readonly index: number;
    readonly id: string;
    readonly type: 'function';
    readonly function: { readonly name: string; readonly arguments: string };
  }[];
}

/** OpenAI's `chat.completion.chunk` object. */
export interface ChatCompletionChunkBody {
  readonly id: string;
  readonly object: 'chat.completion.chunk';
  readonly created: number;
  readonly model: string;
  readonly system_fingerprint: null;
  readonly choices: readonly {
    readonly index: 0;
    readonly delta: ChunkDelta;
    readonly finish_reason: OpenAiFinishReason | null;
    readonly logprobs: null;
  }[];
  /** Present (null, then the totals on the last chunk) only when `include_usage` was asked for. */
  readonly usage?: OpenAiUsage | null;
}

/** Settings of {@link CompletionChunkEncoder}. */
export interface ChunkOptions {
  /** `stream_options.include_usage`: end with a chunk carrying the usage, `usage: null` on the others. */
  readonly includeUsage: boolean;
}

/**
 * A streamed reply as OpenAI `chat.completion.chunk` SSE events: the first carries
 * `role: 'assistant'`; then content, `reasoning_content` (thinking) and tool calls as they
 * come (the core hands complete calls, so each is one delta with its own `index`); then an
 * empty delta with the `finish_reason`; then, with `includeUsage`, a chunk with no choices
 * and the usage; then OpenAI's `data: [DONE]` sentinel, which clients wait for.
 *
 * An error after the stream started is a `data: {"error": {…}}` event in the shape of
 * OpenAI's HTTP error bodies: the official clients throw an `APIError` when they read one.
 * No `[DONE]` follows it.
 */
export class CompletionChunkEncoder implements StreamEncoder {
  readonly contentType = SSE_CONTENT_TYPE;
  readonly #identity: CompletionIdentity;
  readonly #includeUsage: boolean;
  readonly #requestId: string;
  #first = true;
  #toolIndex = 0;
  #lastFinish: FinishReason | undefined;
  #lastUsage: Usage | undefined;
  #prefix: string | undefined;

  constructor(identity: CompletionIdentity, options: ChunkOptions, requestId: string) {
    this.#identity = identity;
    this.#includeUsage = options.includeUsage;
    this.#requestId = requestId;
  }

  chunk(piece: ChatChunk): string {
    if (piece.finishReason !== undefined) this.#lastFinish = piece.finishReason;
    if (piece.usage !== undefined) this.#lastUsage = piece.usage;
    let text = '';
    if (this.#first) {
      this.#first = false;
      // OpenAI's first delta always names the role; content is null when the turn opens with
      // reasoning or a tool call, '' when there is nothing yet.
      text = this.#event({
        role: 'assistant',
        content: piece.content ?? (piece.thinking || piece.toolCalls?.length ? null : ''),
        ...(piece.thinking ? { reasoning_content: piece.thinking } : {}),
      });
    } else if (piece.content || piece.thinking) {
      text = this.#event({
        ...(piece.content ? { content: piece.content } : {}),
        ...(piece.thinking ? { reasoning_content: piece.thinking } : {}),
      });
    }
    for (const call of piece.toolCalls ?? []) {
      text += this.#event({ tool_calls: [{ index: this.#toolIndex++, ...toToolCall(call) }] });
    }
    return text;
  }

  end(response: ChatResponse): string {
    // The response is the authority on reason and usage; chunks are the fallback.
    const finishReason = response.finishReason ?? this.#lastFinish;
    // A stream with no chunk at all still names the role once, as every OpenAI stream does.
    // Plugins the reply went without (fail-open failures): the header went out with the first
    // chunk, so the last one names all of them.
    // With what plugins set for the client (`call.setResponseData`); `degraded` is the server's.
    const degraded = degradedPlugins(response.steps);
    const plugboard = degraded.length === 0 ? response.data : { ...response.data, degraded };
    let text = this.#event(
      this.#first ? { role: 'assistant', content: '' } : {},
      toFinishReason(finishReason, this.#toolIndex > 0),
      plugboard === undefined ? '' : `,"plugboard":${JSON.stringify(plugboard)}`,
    );
    if (this.#includeUsage) {
      text += sseEvent({ ...this.#base(), choices: [], usage: toUsage(response.usage ?? this.#lastUsage) });
    }
    return `${text}data: [DONE]\n\n`;
  }

  error(error: PlugboardError): string {
    return sseEvent(openAiErrorBody(error, this.#requestId));
  }

  #base() {
    return {
      id: this.#identity.id,
      object: 'chat.completion.chunk',
      created: this.#identity.created,
      model: this.#identity.model,
      system_fingerprint: null,
    } as const;
  }

  /**
   * One chunk event. Only the delta changes from chunk to chunk, so the JSON around it is
   * serialized once per stream (the text is exactly what JSON.stringify of the whole
   * ChatCompletionChunkBody gives): per chunk, this was the most expensive step.
   */
  #event(delta: ChunkDelta, finishReason: OpenAiFinishReason | null = null, extra = ''): string {
    this.#prefix ??= `data: ${JSON.stringify(this.#base()).slice(0, -1)},"choices":[{"index":0,"delta":`;
    const usage = this.#includeUsage ? ',"usage":null' : '';
    return `${this.#prefix}${JSON.stringify(delta)},"finish_reason":${JSON.stringify(finishReason)},"logprobs":null}]${usage}${extra}}\n\n`;
  }
}
