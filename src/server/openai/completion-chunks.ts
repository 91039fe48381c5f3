import type { FinishReason, Usage } from '../../core/model/reply.ts';
import type { HttpChatStream } from '../chat-runner.ts';
import { type OpenAiFinishReason, type OpenAiUsage, toFinishReason, toToolCall, toUsage } from './completion-parts.ts';
import type { CompletionIdentity } from './completion-response.ts';

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

/** Settings of {@link toCompletionChunks}. */
export interface ChunkOptions {
  /** `stream_options.include_usage`: end with a chunk carrying the usage, `usage: null` on the others. */
  readonly includeUsage: boolean;
}

/**
 * A streamed reply as OpenAI chunks: the first carries `role: 'assistant'`; then content,
 * `reasoning_content` (thinking) and tool calls as they come (the core hands complete calls,
 * so each is one delta with its own `index`); then an empty delta with the `finish_reason`;
 * then, with `includeUsage`, a chunk with no choices and the usage.
 *
 * Nothing is yielded before the pipeline's first chunk, so a request refused before any
 * output still gets an HTTP error status (see `sendStream`).
 */
export async function* toCompletionChunks(
  stream: HttpChatStream,
  identity: CompletionIdentity,
  options: ChunkOptions,
): AsyncGenerator<ChatCompletionChunkBody, void, undefined> {
  const base = {
    id: identity.id,
    object: 'chat.completion.chunk',
    created: identity.created,
    model: identity.model,
    system_fingerprint: null,
  } as const;
  const usageField = options.includeUsage ? { usage: null } : {};
  const chunk = (delta: ChunkDelta, finishReason: OpenAiFinishReason | null = null): ChatCompletionChunkBody => ({
    ...base,
    choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
    ...usageField,
  });

  let first = true;
  let toolIndex = 0;
  let lastFinish: FinishReason | undefined;
  let lastUsage: Usage | undefined;
  for await (const piece of stream) {
    if (piece.finishReason !== undefined) lastFinish = piece.finishReason;
    if (piece.usage !== undefined) lastUsage = piece.usage;
    const reasoning = piece.thinking ? { reasoning_content: piece.thinking } : {};
    if (first) {
      first = false;
      // OpenAI's first delta always names the role; content is null when the turn opens with
      // reasoning or a tool call, '' when there is nothing yet.
      yield chunk({
        role: 'assistant',
        content: piece.content ?? (piece.thinking || piece.toolCalls?.length ? null : ''),
        ...reasoning,
      });
    } else if (piece.content || piece.thinking) {
      yield chunk({ ...(piece.content ? { content: piece.content } : {}), ...reasoning });
    }
    for (const call of piece.toolCalls ?? []) {
      yield chunk({ tool_calls: [{ index: toolIndex++, ...toToolCall(call) }] });
    }
  }
  // The response settles once the iteration ended; it is the authority on reason and usage.
  const response = await stream.response;
  const finishReason = response.finishReason ?? lastFinish;
  // A stream with no chunk at all still names the role once, as every OpenAI stream does.
  yield chunk(first ? { role: 'assistant', content: '' } : {}, toFinishReason(finishReason, toolIndex > 0));
  if (options.includeUsage) {
    yield { ...base, choices: [], usage: toUsage(response.usage ?? lastUsage) };
  }
}
