import MiniSearch from 'minisearch';
import {
  assertCollectionName,
  assertQueryDimension,
  type CheckedDocument,
  type IndexedDocument,
  type MetadataFilter,
  matchesFilter,
  type SearchHit,
  type SearchIndex,
  type SearchQuery,
  validateDocumentIds,
  validateDocuments,
  validateFilter,
  validateSearchQuery,
} from '../search-index.ts';

/** The constant of reciprocal rank fusion: 60, as in Cormack et al. (2009) and most engines. */
export const RRF_K = 60;

/**
 * How deep each ranking goes before fusion: the usual "retrieve more, fuse, cut" of hybrid
 * search. Deep enough that a document ranked well by only one of them still gets in.
 */
function candidateDepth(topK: number): number {
  return Math.max(topK * 4, 50);
}

interface StoredDocument {
  readonly document: CheckedDocument;
  /** The vector's length, computed once: cosine similarity divides by it on every query. */
  readonly norm: number;
}

interface Collection {
  /** Fixed by the first vector stored; kept until the collection is dropped. */
  dimension: number | undefined;
  readonly documents: Map<string, StoredDocument>;
  readonly keywords: MiniSearch<{ id: string; text: string }>;
}

interface Ranked {
  readonly id: string;
  readonly score: number;
}

/**
 * The in-memory {@link SearchIndex}: the default when no plugin provides one. Keyword search
 * is MiniSearch's BM25 over the text (terms are lower-cased words; no prefixes or fuzziness);
 * vector search is an exact, brute-force cosine similarity over the collection, fine up to
 * some ten thousand documents; hybrid search fuses both rankings by reciprocal rank fusion
 * (score = Σ 1 / ({@link RRF_K} + rank)). Private to the process and lost on restart.
 *
 * @example
 * ```ts
 * const index = new MemorySearchIndex();
 * await index.upsert('faq', [{ id: 'refunds', text: 'Refunds take 5 days.', vector: [0.1, 0.7, 0.2] }]);
 * await index.search('faq', { text: 'refund', vector: [0.1, 0.6, 0.3], topK: 3 });
 * ```
 */
export class MemorySearchIndex implements SearchIndex {
  readonly #collections = new Map<string, Collection>();

  async upsert(collection: string, documents: readonly IndexedDocument[]): Promise<void> {
    assertCollectionName(collection);
    const existing = this.#collections.get(collection);
    const checked = validateDocuments(collection, documents, existing?.dimension); // all before any write
    if (checked.documents.length === 0) return;
    const target = existing ?? this.#create(collection);
    target.dimension = checked.dimension;
    for (const document of checked.documents) {
      const entry = { id: document.id, text: document.text };
      if (target.documents.has(document.id)) target.keywords.replace(entry);
      else target.keywords.add(entry);
      target.documents.set(document.id, { document, norm: document.vector ? norm(document.vector) : 0 });
    }
  }

  async delete(collection: string, ids: readonly string[]): Promise<number> {
    assertCollectionName(collection);
    const unique = validateDocumentIds(ids);
    const target = this.#collections.get(collection);
    if (target === undefined) return 0;
    return removeDocuments(target, unique);
  }

  async deleteWhere(collection: string, filter: MetadataFilter): Promise<number> {
    assertCollectionName(collection);
    const checked = validateFilter(filter, { nonEmpty: true });
    const target = this.#collections.get(collection);
    if (target === undefined) return 0;
    const matching: string[] = [];
    for (const { document } of target.documents.values()) {
      if (matchesFilter(document.metadata, checked)) matching.push(document.id);
    }
    return removeDocuments(target, matching);
  }

  async search(collection: string, query: SearchQuery): Promise<readonly SearchHit[]> {
    assertCollectionName(collection);
    const { text, vector, topK, filter } = validateSearchQuery(query);
    const target = this.#collections.get(collection);
    if (target === undefined) return Object.freeze([]);
    if (vector !== undefined && target.dimension !== undefined) {
      assertQueryDimension(collection, target.dimension, vector);
    }
    const accepts = (id: string) =>
      filter === undefined || matchesFilter(target.documents.get(id)!.document.metadata, filter);
    const keyword = text === undefined ? undefined : rankByKeywords(target, text, accepts);
    const nearest = vector === undefined ? undefined : rankByCosine(target, vector, accepts);
    if (keyword !== undefined && nearest !== undefined) {
      return toHits(target, fuse(keyword, nearest, candidateDepth(topK)).slice(0, topK));
    }
    const [ranking, kind] = keyword === undefined ? [nearest ?? [], 'vector' as const] : [keyword, 'keyword' as const];
    const best = ranking.slice(0, topK).map((hit) => ({ ...hit, matchedBy: [kind] }));
    return toHits(target, best);
  }

  async count(collection: string, filter?: MetadataFilter): Promise<number> {
    assertCollectionName(collection);
    const checked = filter === undefined ? undefined : validateFilter(filter);
    const target = this.#collections.get(collection);
    if (target === undefined) return 0;
    if (checked === undefined) return target.documents.size;
    let matching = 0;
    for (const { document } of target.documents.values()) if (matchesFilter(document.metadata, checked)) matching++;
    return matching;
  }

  async collections(): Promise<readonly string[]> {
    return Object.freeze([...this.#collections.keys()].sort());
  }

  async dropCollection(collection: string): Promise<boolean> {
    assertCollectionName(collection);
    return this.#collections.delete(collection);
  }

  /** Drops every collection. */
  async close(): Promise<void> {
    this.#collections.clear();
  }

  #create(name: string): Collection {
    const collection: Collection = {
      dimension: undefined,
      documents: new Map(),
      keywords: new MiniSearch<{ id: string; text: string }>({ fields: ['text'] }),
    };
    this.#collections.set(name, collection);
    return collection;
  }
}

function removeDocuments(collection: Collection, ids: readonly string[]): number {
  let removed = 0;
  for (const id of ids) {
    if (!collection.documents.delete(id)) continue;
    collection.keywords.discard(id);
    removed++;
  }
  return removed;
}

/** BM25 ranking of the documents containing any query term, best first (ties by id). */
function rankByKeywords(collection: Collection, text: string, accepts: (id: string) => boolean): Ranked[] {
  const results = collection.keywords.search(text, { filter: (result) => accepts(result.id as string) });
  return results.map((result) => ({ id: result.id as string, score: result.score })).sort(bestFirst);
}

/** Every document with a vector, by cosine similarity to `vector`, best first (ties by id). */
function rankByCosine(collection: Collection, vector: readonly number[], accepts: (id: string) => boolean): Ranked[] {
  const queryNorm = norm(vector);
  const ranked: Ranked[] = [];
  for (const { document, norm: documentNorm } of collection.documents.values()) {
    if (document.vector === undefined || !accepts(document.id)) continue;
    let dot = 0;
    for (let index = 0; index < vector.length; index++) dot += vector[index]! * document.vector[index]!;
    ranked.push({ id: document.id, score: dot / (queryNorm * documentNorm) });
  }
  return ranked.sort(bestFirst);
}

/** Reciprocal rank fusion of the first `depth` of each ranking. */
function fuse(keyword: readonly Ranked[], nearest: readonly Ranked[], depth: number): RankedHit[] {
  const fused = new Map<string, { score: number; matchedBy: ('keyword' | 'vector')[] }>();
  for (const [ranking, kind] of [
    [keyword, 'keyword'],
    [nearest, 'vector'],
  ] as const) {
    for (const [index, { id }] of ranking.slice(0, depth).entries()) {
      const entry = fused.get(id) ?? { score: 0, matchedBy: [] };
      entry.score += 1 / (RRF_K + index + 1);
      entry.matchedBy.push(kind);
      fused.set(id, entry);
    }
  }
  return [...fused].map(([id, { score, matchedBy }]) => ({ id, score, matchedBy })).sort(bestFirst);
}

interface RankedHit extends Ranked {
  readonly matchedBy: readonly ('keyword' | 'vector')[];
}

function toHits(collection: Collection, ranked: readonly RankedHit[]): readonly SearchHit[] {
  return Object.freeze(
    ranked.map(({ id, score, matchedBy }) => {
      const { text, metadata } = collection.documents.get(id)!.document;
      return Object.freeze({
        id,
        text,
        metadata,
        score,
        matchedBy: Object.freeze([...matchedBy]),
      });
    }),
  );
}

function bestFirst(a: Ranked, b: Ranked): number {
  return b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function norm(vector: readonly number[]): number {
  let squares = 0;
  for (const value of vector) squares += value * value;
  return Math.sqrt(squares);
}
