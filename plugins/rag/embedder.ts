/**
 * Embeddings for the rag plugin, through the model access service, with what happens when
 * there are none: the first failure (no model access, a backend without embeddings, an
 * unreachable backend) is logged once and puts the plugin in keyword-only mode — health
 * `degraded` with the reason — and embedding is tried again only after `retryMs`, so a
 * failing backend costs one failed call per period, not one per request. The first success
 * after that is logged once too.
 */
import { isPlugboardError, type Logger, type ModelAccess } from '../../src/index.ts';

/** Vectors of some texts, and the model that made them. */
export interface EmbeddedTexts {
  readonly vectors: readonly (readonly number[])[];
  /** As the backend names it (`nomic-embed-text`), or the configured name. */
  readonly model: string;
}

/** What an {@link Embedder} needs. */
export interface EmbedderOptions {
  /** The model access service, or undefined when nobody provides it. */
  readonly access: ModelAccess | undefined;
  /** The embedding model; undefined: the default backend's default. */
  readonly model: string | undefined;
  /** Texts per embed call. */
  readonly batch: number;
  /** After a failure, how long to stay keyword-only before trying again. */
  readonly retryMs: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

/**
 * Embeds texts in batches, or says they cannot be embedded now (`undefined`).
 *
 * @example
 * ```ts
 * const embedder = new Embedder({ access, model: 'nomic-embed-text', batch: 32, retryMs: 60_000, logger });
 * const embedded = await embedder.embed(['Refunds take 5 days.'], signal); // undefined: keyword only
 * ```
 */
export class Embedder {
  readonly #options: EmbedderOptions;
  readonly #now: () => number;
  #unavailable: string | undefined;
  #retryAt = 0;

  constructor(options: EmbedderOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    if (options.access === undefined) {
      this.#markUnavailable('no model access service is available to embed with');
      this.#retryAt = Number.POSITIVE_INFINITY;
    }
  }

  /** Why retrieval is keyword-only, or undefined while embeddings work (or have not been tried). */
  get unavailable(): string | undefined {
    return this.#unavailable;
  }

  /** The model name embeddings are asked of, for fingerprints and logs. */
  get configuredModel(): string {
    return this.#options.model ?? '(default backend)';
  }

  /** True when the next {@link embed} would call the backend (not waiting out a failure). */
  get willTry(): boolean {
    return this.#now() >= this.#retryAt;
  }

  /**
   * Vectors for every text, in order; undefined when embeddings are unavailable (the reason
   * is in {@link unavailable}).
   * @throws the abort reason when `signal` aborts: a cancelled request is no failure of the backend.
   */
  async embed(texts: readonly string[], signal: AbortSignal): Promise<EmbeddedTexts | undefined> {
    const access = this.#options.access;
    if (access === undefined || !this.willTry) return undefined;
    const vectors: (readonly number[])[] = [];
    let model = this.configuredModel;
    try {
      for (let from = 0; from < texts.length; from += this.#options.batch) {
        const input = texts.slice(from, from + this.#options.batch);
        const result = await access.embed({
          ...(this.#options.model === undefined ? {} : { model: this.#options.model }),
          input,
          signal,
        });
        if (result.embeddings.length !== input.length) {
          throw new Error(`${result.embeddings.length} vectors for ${input.length} texts`);
        }
        vectors.push(...result.embeddings);
        model = result.model || model;
      }
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const reason = isPlugboardError(error)
        ? `${error.code}: ${error.message}`
        : error instanceof Error
          ? error.message
          : String(error);
      this.#markUnavailable(`embedding with ${this.configuredModel} failed (${reason.split('\n')[0]})`);
      this.#retryAt = this.#now() + this.#options.retryMs;
      return undefined;
    }
    if (this.#unavailable !== undefined) {
      this.#options.logger.info({ model }, 'rag: embeddings work again: hybrid (keyword + vector) retrieval resumes');
      this.#unavailable = undefined;
    }
    return { vectors, model };
  }

  #markUnavailable(reason: string): void {
    if (this.#unavailable === undefined) {
      this.#options.logger.warn(
        { reason },
        `rag: ${reason}; retrieval falls back to keyword search only (logged once until embeddings work again)`,
      );
    }
    this.#unavailable = reason;
  }
}
