import type { PlugboardError } from '../errors/plugboard-error.ts';
import type { HookMap, HookMethodName, HookName, HookPayload } from '../hooks/hook-map.ts';
import type { ChatContext } from '../model/context.ts';
import type { Message } from '../model/message.ts';
import type { BackendReply, ChatResponse, FinishReason, ModelInfo, Usage } from '../model/reply.ts';
import type { PluginResult } from '../result.ts';
import type { PluginEndpoint } from './endpoints.ts';
import type { PluginConfig, PluginMetadata } from './metadata.ts';
import type { InitializeCall, PluginCall } from './plugin-call.ts';

/** A value or a promise of it. */
export type Awaitable<T> = T | Promise<T>;
/** What a plugin method may return: a bare value or a PluginResult of it, possibly in a promise. */
export type PluginReturn<T> = Awaitable<T | PluginResult<T>>;

/** A plugin's answer to a health check. */
export interface HealthReport {
  readonly status: 'healthy' | 'degraded' | 'unhealthy';
  readonly message?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** A hook handler for hook H. Waterfall hooks may return a replacement subject; others return nothing. */
export type HookHandler<H extends HookName> = (
  payload: HookPayload<H>,
  call: PluginCall,
) => PluginReturn<HookMap[H]['result'] | undefined> | PluginReturn<void>;

/** The `on<Hook>` methods a plugin may define to auto-register hook handlers (FR-4.4). */
export type HookMethods = { readonly [H in HookName as HookMethodName<H>]?: HookHandler<H> };

/**
 * Base of every plugin (the spec's `Pluggable`). Lifecycle methods are optional: a plugin
 * without `initialize` simply starts, one without `healthCheck` is healthy while ACTIVE.
 */
export interface Pluggable<Config = unknown> extends HookMethods {
  readonly metadata: PluginMetadata<Config>;
  initialize?(config: PluginConfig<Config>, call: InitializeCall): PluginReturn<void>;
  shutdown?(call: PluginCall): PluginReturn<void>;
  healthCheck?(call: PluginCall): PluginReturn<HealthReport>;
  /**
   * For a fail-closed plugin: which requests it must see. While the plugin is down (ERROR),
   * only those are refused (`PLUGIN_FAILED_CLOSED`); the others go on without it. Without it,
   * every request concerns the plugin (an auth plugin down refuses everything). Must be cheap
   * and must not throw (a throw counts as "concerns it").
   *
   * @example
   * ```ts
   * // conversation memory: a request without a conversation is none of its business
   * concerns: (context) => context.conversationId !== undefined,
   * ```
   */
  concerns?(context: ChatContext): boolean;
  /** HTTP endpoints the plugin adds to the server while it is ACTIVE (see {@link PluginEndpoint}). */
  readonly endpoints?: readonly PluginEndpoint[];
}

/**
 * Windowed processing of streamed output. The runtime keeps the text not yet emitted;
 * on each chunk it asks `holdBack` how many trailing characters must wait (at most `window`),
 * runs `transform` on the rest, and emits the result. At the end of the stream everything
 * left is transformed with `final: true`. Use `createPatternRewriter` for regex-based rules.
 */
export interface StreamingSupport {
  /** Most characters the processor may hold back (e.g. the longest pattern it must see whole). */
  readonly window: number;
  /** How many trailing characters of `pending` to hold back (0…window). Default: `window`. */
  holdBack?(pending: string): number;
  /** Transforms settled text. Must agree with `processMessage` on the whole text. */
  transform(text: string, context: ChatContext, final: boolean): string;
}

/**
 * Streaming support whose work happens in another process (a sandboxed plugin, see
 * docs/SANDBOX.md): one asynchronous call per chunk both holds back and transforms. Made by the
 * runtime's proxy for a sandboxed processor; plugin authors write {@link StreamingSupport}.
 */
export interface RemoteStreamingSupport {
  readonly window: number;
  readonly remote: true;
  /**
   * Holds back what must wait of `pending` (nothing when `final`) and transforms the rest:
   * returns the transformed text and how many trailing characters were held back.
   */
  settle(
    pending: string,
    context: ChatContext,
    final: boolean,
    signal: AbortSignal,
  ): Promise<{ readonly text: string; readonly held: number }>;
}

/** Which messages a processor sees: user input before the backend, model output after it, or both. */
export type ProcessorDirection = 'input' | 'output' | 'both';

/**
 * Transforms messages (FR-7): content filters, PII redaction, translation, formatting.
 *
 * @example
 * ```ts
 * export default defineMessageProcessor({
 *   metadata: { name: 'shout', version: '1.0.0' },
 *   direction: 'output',
 *   processMessage: (message) => withContent(message, message.content.toUpperCase()),
 *   streaming: { window: 0, transform: (text) => text.toUpperCase() },
 * });
 * ```
 */
export interface MessageProcessor<Config = unknown> extends Pluggable<Config> {
  processMessage(message: Message, context: ChatContext, call: PluginCall): PluginReturn<Message>;
  /** Default `both`. */
  readonly direction?: ProcessorDirection;
  /**
   * How to process streamed output. Without it, an output processor makes the runtime buffer
   * the stream and run `processMessage` on the whole reply (correct, but not incremental).
   */
  readonly streaming?: StreamingSupport | RemoteStreamingSupport;
}

/** A request for embeddings. */
export interface EmbeddingRequest {
  readonly model: string;
  readonly input: readonly string[];
}

/** Embedding vectors, one per input, plus token usage when known. */
export interface EmbeddingResult {
  readonly model: string;
  readonly embeddings: readonly (readonly number[])[];
  readonly promptTokens?: number;
}

/**
 * A model backend (FR-8): Ollama, OpenAI-compatible services, Anthropic, llama.cpp …
 *
 * @example
 * ```ts
 * export default defineBackend({
 *   metadata: { name: 'echo', version: '1.0.0' },
 *   chat: (context) => ({ message: createMessage({ role: 'assistant', content: lastUserMessage(context)?.content ?? '' }) }),
 *   listModels: () => [{ id: 'echo' }],
 * });
 * ```
 */
export interface BackendProvider<Config = unknown> extends Pluggable<Config> {
  /** Answer the conversation; stream (return an async iterable of chunks) when `context.stream` is true. */
  chat(context: ChatContext, call: PluginCall): PluginReturn<BackendReply>;
  listModels(call: PluginCall): PluginReturn<readonly ModelInfo[]>;
  embed?(request: EmbeddingRequest, call: PluginCall): PluginReturn<EmbeddingResult>;
}

/** What a feature extension sees after each model turn. */
export interface ModelTurn {
  readonly message: Message;
  readonly turn: number;
  readonly usage?: Usage;
  readonly finishReason?: FinishReason;
}

/**
 * Adds capabilities by enhancing the context before the backend is called (FR-9): memory, RAG, tools.
 *
 * @example
 * ```ts
 * export default defineFeatureExtension({
 *   metadata: { name: 'house-style', version: '1.0.0' },
 *   extend: (context) =>
 *     appendMessages(context, [createMessage({ role: 'system', content: 'Be concise.' })], { position: 'start' }),
 * });
 * ```
 */
export interface FeatureExtension<Config = unknown> extends Pluggable<Config> {
  extend(context: ChatContext, call: PluginCall): PluginReturn<ChatContext>;
  /**
   * After each model turn: return a new context to call the model again (e.g. with tool
   * results appended), or nothing to finish. This is how tool-calling loops are built.
   */
  continueConversation?(turn: ModelTurn, context: ChatContext, call: PluginCall): PluginReturn<ChatContext | undefined>;
}

/** A middleware's decision to answer the request itself (e.g. a cache hit). */
export interface RespondDecision {
  readonly decision: 'respond';
  readonly message: Message;
  readonly usage?: Usage;
  /** Why the answer ended (a cached reply cut at the token limit says `length`); default `stop`, or `tool_calls` with tool calls. */
  readonly finishReason?: FinishReason;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** A middleware's decision to refuse the request (e.g. authentication or rate limit). */
export interface RejectDecision {
  readonly decision: 'reject';
  readonly error: PlugboardError;
}

/** What `processRequest` returns: the (possibly changed) request, or a decision that short-circuits it. */
export type MiddlewareDecision = RespondDecision | RejectDecision;

/**
 * Processes requests on the way in and responses on the way out (FR-10): auth, rate limits,
 * caching, logging. Requests pass middleware in priority order, responses in reverse.
 * `processResponse` may change the response's metadata and usage but not the message
 * (content belongs to message processors, so streamed and non-streamed replies stay equal).
 *
 * @example
 * ```ts
 * export default defineMiddleware({
 *   metadata: { name: 'require-user', version: '1.0.0', failurePolicy: 'closed' },
 *   processRequest: (context) =>
 *     context.principal ? context : reject('REQUEST_REJECTED', 'Sign in first', { status: 401 }),
 * });
 * ```
 */
export interface Middleware<Config = unknown> extends Pluggable<Config> {
  processRequest?(context: ChatContext, call: PluginCall): PluginReturn<ChatContext | MiddlewareDecision>;
  /**
   * Asked once a chat request is ready for the model — after input processors, extensions and
   * routing, before the first model call — by each middleware the request entered, in
   * priority order: return `respond(message)` to answer it without calling the backend, or
   * `undefined` to let the model answer. This is where a response cache looks up: the request
   * then holds what input processors, memory and retrieval made of it, and `context.backend`
   * and `context.model` say where it would go. The answer passes the output processors as a
   * model's reply would (streamed as chunks when the request streams).
   *
   * @example
   * ```ts
   * answerRequest: (context) => {
   *   const hit = cache.get(keyOf(context));
   *   return hit === undefined ? undefined : respond(hit, { metadata: { cache: 'hit' } });
   * },
   * ```
   */
  answerRequest?(context: ChatContext, call: PluginCall): PluginReturn<RespondDecision | undefined>;
  processResponse?(response: ChatResponse, context: ChatContext, call: PluginCall): PluginReturn<ChatResponse>;
}

/** Any plugin: the base plus the optional members of every kind. */
export type AnyPlugin<Config = unknown> = Pluggable<Config> &
  Partial<Pick<MessageProcessor<Config>, 'processMessage' | 'direction' | 'streaming'>> &
  Partial<Pick<BackendProvider<Config>, 'chat' | 'listModels' | 'embed'>> &
  Partial<Pick<FeatureExtension<Config>, 'extend' | 'continueConversation'>> &
  Partial<Pick<Middleware<Config>, 'processRequest' | 'answerRequest' | 'processResponse'>>;
