import { setTimeout as sleep } from 'node:timers/promises';
import { type ChatContext, lastUserMessage } from '../core/model/context.ts';
import { createMessage, type ToolCall } from '../core/model/message.ts';
import type { ChatChunk, FinishReason, Usage } from '../core/model/reply.ts';
import type { BackendProvider } from '../core/plugin/kinds.ts';

/** What the scripted backend answers for one request. */
export interface ScriptedReply {
  readonly content?: string;
  readonly thinking?: string;
  readonly toolCalls?: readonly ToolCall[];
  readonly finishReason?: FinishReason;
}

/** Settings of {@link createScriptedBackend}. All optional. */
export interface ScriptedBackendOptions {
  /** Plugin name (default `scripted`). */
  readonly name?: string;
  readonly version?: string;
  /** Model ids listModels returns (default `['scripted-model']`). */
  readonly models?: readonly string[];
  /** The reply: fixed text, or computed from the context. Default: `You said: <last user message>`. */
  readonly reply?: string | ScriptedReply | ((context: ChatContext, call: number) => string | ScriptedReply);
  /** Characters per streamed chunk (default 4), or a function that splits the text. */
  readonly chunking?: number | ((text: string) => readonly string[]);
  /** Delay before the reply starts, in ms (default 0). `Infinity` never answers (until aborted). */
  readonly latencyMs?: number;
  /** Delay between streamed chunks, in ms (default 0). */
  readonly chunkDelayMs?: number;
  /** Return an error to make call number `call` (1-based) fail; `afterChunks` fails mid-stream. */
  readonly fail?: (call: number, context: ChatContext) => { error: Error; afterChunks?: number } | undefined;
  /** Report usage (whitespace-separated word counts) on the last chunk (default true). */
  readonly usage?: boolean;
  /**
   * Keep every context in `calls` (default true). Benchmarks turn it off: a backend that
   * keeps every request alive measures the garbage collector, not the server.
   */
  readonly recordCalls?: boolean;
}

/** A scripted backend plus what it saw, for assertions. */
export interface ScriptedBackend extends BackendProvider {
  /** Every context `chat` was called with, in order. */
  readonly calls: ChatContext[];
  /** How many streams were closed before their end (aborted or returned early). */
  readonly abandonedStreams: number;
}

/**
 * A deterministic in-memory backend for tests: scripted replies, configurable chunking,
 * delays and failures, honouring the AbortSignal it is given. Plugin authors use it to
 * test their plugins without a model; Plugboard's own tests use it where no real model
 * is needed.
 *
 * @example
 * ```ts
 * const backend = createScriptedBackend({ reply: 'Hello there', chunking: 2 });
 * const manager = await startManager([backend, myProcessor]);
 * const response = await manager.chat(chatRequest('hi'));
 * assert.equal(response.message.content, 'Hello there');
 * ```
 */
export function createScriptedBackend(options: ScriptedBackendOptions = {}): ScriptedBackend {
  const calls: ChatContext[] = [];
  let callCount = 0;
  let abandoned = 0;
  const split = (text: string): readonly string[] => {
    const chunking = options.chunking ?? 4;
    if (typeof chunking === 'function') return chunking(text);
    const pieces: string[] = [];
    for (let index = 0; index < text.length; index += chunking) pieces.push(text.slice(index, index + chunking));
    return pieces;
  };
  const backend: ScriptedBackend = {
    metadata: {
      name: options.name ?? 'scripted',
      version: options.version ?? '1.0.0',
      description: 'Scripted test backend',
    },
    calls,
    get abandonedStreams() {
      return abandoned;
    },
    async chat(context, call) {
      const number = ++callCount;
      if (options.recordCalls !== false) calls.push(context);
      const scripted = resolveReply(options.reply, context, number);
      const failure = options.fail?.(number, context);
      if (options.latencyMs) await wait(options.latencyMs, call.signal);
      if (failure !== undefined && failure.afterChunks === undefined) throw failure.error;
      const content = scripted.content ?? '';
      const usage: Usage | undefined =
        options.usage === false ? undefined : { promptTokens: countWords(context), completionTokens: words(content) };
      const finishReason = scripted.finishReason ?? (scripted.toolCalls?.length ? 'tool_calls' : 'stop');
      if (!context.stream) {
        return {
          message: createMessage({
            role: 'assistant',
            content,
            ...(scripted.thinking ? { thinking: scripted.thinking } : {}),
            ...(scripted.toolCalls ? { toolCalls: [...scripted.toolCalls] } : {}),
          }),
          ...(usage ? { usage } : {}),
          finishReason,
          model: context.model ?? options.models?.[0] ?? 'scripted-model',
        };
      }
      const pieces = split(content);
      return streamPieces(pieces, scripted, failure, usage, finishReason, options, call, () => abandoned++);
    },
    listModels: () => (options.models ?? ['scripted-model']).map((id) => ({ id })),
    embed: (request) => ({
      model: request.model,
      embeddings: request.input.map((text) => embedText(text)),
      promptTokens: request.input.reduce((sum, text) => sum + words(text), 0),
    }),
  };
  return backend;
}

function resolveReply(reply: ScriptedBackendOptions['reply'], context: ChatContext, call: number): ScriptedReply {
  if (reply === undefined) return { content: `You said: ${lastUserMessage(context)?.content ?? ''}` };
  const value = typeof reply === 'function' ? reply(context, call) : reply;
  return typeof value === 'string' ? { content: value } : value;
}

async function wait(ms: number, signal: AbortSignal): Promise<void> {
  if (ms === Number.POSITIVE_INFINITY) {
    await new Promise((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    return;
  }
  await sleep(ms, undefined, { signal });
}

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function countWords(context: ChatContext): number {
  return context.messages.reduce((sum, message) => sum + words(message.content), 0);
}

/** A deterministic 8-dimensional unit vector derived from the text's characters. */
function embedText(text: string): number[] {
  const vector = new Array<number>(8).fill(0);
  for (let index = 0; index < text.length; index++) vector[index % 8]! += text.charCodeAt(index);
  const norm = Math.hypot(...vector) || 1;
  return vector.map((value) => value / norm);
}

/**
 * The streamed reply. A module-level generator, not an `async function*` expression inside
 * `chat`: a generator function created per call gets its own prototype and map from V8,
 * which keep each request's objects alive through minor GCs (see docs/PERFORMANCE.md).
 */
async function* streamPieces(
  pieces: readonly string[],
  scripted: ScriptedReply,
  failure: { error: Error; afterChunks?: number } | undefined,
  usage: Usage | undefined,
  finishReason: FinishReason,
  options: ScriptedBackendOptions,
  call: { readonly signal: AbortSignal },
  onAbandoned: () => void,
): AsyncGenerator<ChatChunk> {
  let finished = false;
  try {
    if (scripted.thinking) yield { thinking: scripted.thinking };
    for (const [index, piece] of pieces.entries()) {
      if (failure?.afterChunks === index) throw failure.error;
      if (index > 0 && options.chunkDelayMs) await wait(options.chunkDelayMs, call.signal);
      yield { content: piece };
    }
    if (failure?.afterChunks !== undefined && failure.afterChunks >= pieces.length) throw failure.error;
    yield {
      ...(scripted.toolCalls ? { toolCalls: scripted.toolCalls } : {}),
      finishReason,
      ...(usage ? { usage } : {}),
    };
    finished = true;
  } finally {
    if (!finished) onAbandoned();
  }
}
