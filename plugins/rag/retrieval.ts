/**
 * Finding the chunks that answer a question: the question is embedded (when embeddings
 * work) and each collection searched — hybrid (BM25 + cosine, fused by the index), or
 * keyword-only without a vector — then the hits of all collections are merged by score.
 */
import {
  isPlugboardError,
  type JsonScalar,
  type Logger,
  type MetadataFilter,
  type SearchHit,
  type SearchIndex,
} from '../../src/index.ts';
import type { Embedder } from './embedder.ts';

/** A chunk found for a question. */
export interface RetrievedChunk {
  readonly collection: string;
  readonly id: string;
  readonly text: string;
  readonly score: number;
  readonly matchedBy: readonly ('keyword' | 'vector')[];
  readonly document: string;
  readonly name: string;
  readonly chunk: number;
  readonly page?: number;
  readonly section?: string;
  /** Every metadata key of the chunk (the user's too). */
  readonly metadata: Readonly<Record<string, JsonScalar>>;
}

/** What to search. */
export interface RetrievalQuery {
  readonly text: string;
  /** User-facing names (without the prefix). */
  readonly collections: readonly string[];
  readonly topK: number;
  readonly filter?: MetadataFilter;
  readonly minScore?: number;
}

/** How long a collection whose vectors do not fit is searched by keyword only before vectors are tried again. */
const MISMATCH_RECHECK_MS = 60_000;

/** What the retriever works with. */
export interface RetrieverOptions {
  readonly index: SearchIndex;
  readonly embedder: Embedder;
  /** The search index collection of a collection name. */
  readonly indexCollection: (collection: string) => string;
  readonly logger: Logger;
}

/**
 * Searches collections for a question.
 *
 * @example
 * ```ts
 * const { chunks, mode } = await retriever.retrieve({ text: 'How long do refunds take?', collections: ['default'], topK: 4 }, signal);
 * ```
 */
export class Retriever {
  readonly #options: RetrieverOptions;
  /**
   * Collections whose vectors do not fit the query's, and until when they are searched by
   * keyword only: tried again after {@link MISMATCH_RECHECK_MS}, so a collection whose
   * documents were re-added with the right model gets vector search back without a restart.
   */
  readonly #mismatched = new Map<string, number>();
  /** Logged once each. */
  readonly #warned = new Set<string>();

  constructor(options: RetrieverOptions) {
    this.#options = options;
  }

  /** The best chunks, best first, and whether vectors were used. */
  async retrieve(
    query: RetrievalQuery,
    signal: AbortSignal,
  ): Promise<{ chunks: RetrievedChunk[]; mode: 'hybrid' | 'keyword' }> {
    // Only collections that hold something are searched — and with none, the question is not
    // even embedded (an embedding call per chat for nothing, before any document is added).
    const existing = new Set(await this.#options.index.collections());
    const collections = query.collections.filter((collection) =>
      existing.has(this.#options.indexCollection(collection)),
    );
    if (collections.length === 0) return { chunks: [], mode: 'keyword' };
    const embedded = await this.#options.embedder.embed([query.text], signal);
    const vector = embedded?.vectors[0];
    const filter: MetadataFilter = { ...query.filter, kind: 'chunk' };
    const found = await Promise.all(
      collections.map(async (collection) =>
        (await this.#search(collection, query.text, vector, query.topK, filter)).map((hit) => toChunk(collection, hit)),
      ),
    );
    const chunks = found
      .flat()
      .filter((chunk) => query.minScore === undefined || chunk.score >= query.minScore)
      .sort((a, b) => b.score - a.score)
      .slice(0, query.topK);
    return { chunks, mode: vector === undefined ? 'keyword' : 'hybrid' };
  }

  async #search(
    collection: string,
    text: string,
    vector: readonly number[] | undefined,
    topK: number,
    filter: MetadataFilter,
  ): Promise<readonly SearchHit[]> {
    const target = this.#options.indexCollection(collection);
    if (vector === undefined || (this.#mismatched.get(target) ?? 0) > Date.now()) {
      return this.#options.index.search(target, { text, topK, filter });
    }
    try {
      const hits = await this.#options.index.search(target, { text, vector, topK, filter });
      this.#mismatched.delete(target);
      return hits;
    } catch (error) {
      if (!isPlugboardError(error, 'STORE_INVALID_ARGUMENT') || !/dimensions/.test(error.message)) throw error;
      // The collection was embedded with another model: keyword search still finds its chunks.
      this.#mismatched.set(target, Date.now() + MISMATCH_RECHECK_MS);
      if (!this.#warned.has(target)) {
        this.#warned.add(target);
        this.#options.logger.warn(
          { collection, reason: error.message },
          'rag: the embedding model gives vectors of another size than this collection holds; it is searched by keyword only (re-add its documents to fix)',
        );
      }
      return this.#options.index.search(target, { text, topK, filter });
    }
  }
}

function toChunk(collection: string, hit: SearchHit): RetrievedChunk {
  const meta = hit.metadata;
  return {
    collection,
    id: hit.id,
    text: hit.text,
    score: hit.score,
    matchedBy: hit.matchedBy,
    document: typeof meta.document === 'string' ? meta.document : hit.id.replace(/#\d+$/, ''),
    name: typeof meta.name === 'string' ? meta.name : hit.id,
    chunk: typeof meta.chunk === 'number' ? meta.chunk : 0,
    ...(typeof meta.page === 'number' ? { page: meta.page } : {}),
    ...(typeof meta.section === 'string' ? { section: meta.section } : {}),
    metadata: meta,
  };
}
