import type { GenerationOptions } from '../model/context.ts';
import type { Message } from '../model/message.ts';
import type { FinishReason, Usage } from '../model/reply.ts';
import type { ListedModel } from '../routing/model-router.ts';
import { createServiceRef } from '../services/service-ref.ts';

/**
 * A completion a plugin asks of a model (a summary, a title, a query rewrite).
 *
 * @example
 * ```ts
 * { model: 'llama3.2', messages: [{ role: 'user', content: 'Title this chat in five words: …' }], options: { maxTokens: 16 } }
 * ```
 */
export interface CompletionRequest {
  /** As a client names it (routing and backend prefixes apply); the default backend's default when absent. */
  readonly model?: string;
  readonly messages: readonly Message[];
  readonly options?: GenerationOptions;
  /** Cancels the call (pass `call.signal`). */
  readonly signal?: AbortSignal;
}

/** What {@link ModelAccess.complete} returns. */
export interface Completion {
  readonly message: Message;
  readonly usage?: Usage;
  readonly finishReason?: FinishReason;
  /** The backend that answered and the model it was asked for. */
  readonly backend: string;
  readonly model: string | undefined;
}

/**
 * Texts to embed.
 *
 * @example
 * ```ts
 * { model: 'nomic-embed-text', input: ['Refunds take 5 days.'] }
 * ```
 */
export interface EmbedRequest {
  readonly model?: string;
  readonly input: readonly string[];
  readonly signal?: AbortSignal;
}

/** What {@link ModelAccess.embed} returns: one vector per input, in order. */
export interface Embeddings {
  readonly embeddings: readonly (readonly number[])[];
  readonly backend: string;
  readonly model: string;
  readonly promptTokens?: number;
}

/**
 * The models, for plugins that need one themselves: conversation memory summarising older
 * turns, titles, RAG embedding documents and questions. Calls go straight to the backend the
 * model routes to, through its breaker, timeout and metrics — not through the request
 * pipeline (no middleware, processors or hooks: a summary is not a client's request).
 *
 * @example
 * ```ts
 * metadata: { name: 'titles', version: '1.0.0', consumes: [modelAccessRef] },
 * async onMessageSent({ context }, call) {
 *   const { message } = await call.services.get(modelAccessRef).complete({
 *     model: context.model, messages: [{ role: 'user', content: 'Five-word title for: …' }], signal: call.signal,
 *   });
 * },
 * ```
 */
export interface ModelAccess {
  /**
   * A whole reply (never streamed).
   * @throws PlugboardError `BACKEND_NOT_FOUND` when nothing serves the model, or the backend's own error.
   */
  complete(request: CompletionRequest): Promise<Completion>;
  /**
   * Embeddings.
   * @throws PlugboardError `BACKEND_FAILED` (status 400) when the backend has no embeddings, or the backend's error.
   */
  embed(request: EmbedRequest): Promise<Embeddings>;
  /** The model's context window in tokens, where its backend reports one (`details.context_length` or `details.contextLength` of its model list); for no model name, the default backend's first listed model's. */
  contextLength(model: string | undefined): Promise<number | undefined>;
  /**
   * What the backends' model lists say of a model (the default backend's first when
   * `undefined`): its backend, id and details — among them `capabilities`, where the backend
   * says what the model can do (Ollama's words: `completion`, `tools`, `vision`, `embedding`,
   * `thinking`). `undefined` when no backend lists it.
   *
   * @example
   * ```ts
   * const info = await models.describe(context.model);
   * const canCallTools = !Array.isArray(info?.details?.capabilities) || info.details.capabilities.includes('tools');
   * ```
   */
  describe(model: string | undefined): Promise<ListedModel | undefined>;
}

/**
 * The model access service, provided by the manager itself (no plugin needs to).
 *
 * @example
 * ```ts
 * metadata: { name: 'rag', version: '1.0.0', consumes: [modelAccessRef] },
 * ```
 */
export const modelAccessRef = createServiceRef<ModelAccess>({
  id: 'plugboard.models',
  description: 'Completions and embeddings for plugins, straight to the backend the model routes to',
  members: ['complete', 'embed', 'contextLength', 'describe'],
});
