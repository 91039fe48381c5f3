import { PlugboardError } from '../errors/plugboard-error.ts';
import { createServiceRef } from '../services/service-ref.ts';
import { describeValue, isJsonScalar, isPlainObject, type JsonScalar } from './json.ts';
import { MemorySearchIndex } from './memory/memory-search-index.ts';

/**
 * A document to index: its text (for keyword search), optionally its embedding (for vector
 * search) and flat metadata to filter on.
 *
 * @example
 * ```ts
 * { id: 'handbook#12', text: 'Refunds take 5 days.', vector: embedding, metadata: { source: 'handbook', page: 12 } }
 * ```
 */
export interface IndexedDocument {
  /** Unique within its collection; upserting the same id replaces the document. */
  readonly id: string;
  readonly text: string;
  /** Not all zeros. The first vector stored fixes the collection's dimension until it is dropped. */
  readonly vector?: readonly number[];
  readonly metadata?: Readonly<Record<string, JsonScalar>>;
}

/**
 * Matches documents whose metadata has every key: equal to the value, or to any value of
 * an array (an empty array matches nothing). A document without the key does not match.
 *
 * @example
 * ```ts
 * { source: 'handbook', lang: ['en', 'fr'] } // from the handbook, in English or French
 * ```
 */
export type MetadataFilter = Readonly<Record<string, JsonScalar | readonly JsonScalar[]>>;

/**
 * What to look for: text (keyword search), a vector (nearest by cosine similarity), or both
 * (hybrid: the two rankings fused by reciprocal rank fusion). At least one of them.
 *
 * @example
 * ```ts
 * { text: 'refund policy', vector: await embed('refund policy'), topK: 4, filter: { lang: 'en' } }
 * ```
 */
export interface SearchQuery {
  /** Not blank. */
  readonly text?: string;
  /** Of the collection's dimension. */
  readonly vector?: readonly number[];
  /** How many hits at most: 1–{@link MAX_TOP_K}, default {@link DEFAULT_TOP_K}. */
  readonly topK?: number;
  /** Applied before ranking, so `topK` counts only matching documents. */
  readonly filter?: MetadataFilter;
}

/**
 * One result, best first.
 *
 * @example
 * ```ts
 * { id: 'handbook#12', text: 'Refunds take 5 days.', metadata: { page: 12 }, score: 0.83, matchedBy: ['vector'] }
 * ```
 */
export interface SearchHit {
  readonly id: string;
  readonly text: string;
  /** `{}` for a document indexed without metadata. */
  readonly metadata: Readonly<Record<string, JsonScalar>>;
  /**
   * Higher is better; comparable only within one result list: a keyword relevance (BM25)
   * for text queries, the cosine similarity for vector queries, a fused score for hybrid ones.
   */
  readonly score: number;
  /** Which rankings found the document, in the order `keyword`, `vector`. */
  readonly matchedBy: readonly ('keyword' | 'vector')[];
}

/**
 * A vector and keyword index of documents in named collections, for retrieval-augmented
 * generation. Implementations: in memory (the default), later SQLite and PostgreSQL
 * (pgvector); each must pass `testSearchIndexContract` from `plugboard/testing`. Bad
 * arguments are `STORE_INVALID_ARGUMENT` (a vector of the wrong dimension names both
 * sizes), backend failures `STORE_FAILED`. Operations on an unknown collection find nothing.
 *
 * @example
 * ```ts
 * const index = call.services.get(searchIndexRef);
 * await index.upsert('handbook', chunks.map((text, i) => ({ id: `handbook#${i}`, text, vector: vectors[i] })));
 * const hits = await index.search('handbook', { text: question, vector: await embed(question), topK: 4 });
 * ```
 */
export interface SearchIndex {
  /** Adds documents, replacing those with the same id; all or none. Creates the collection. */
  upsert(collection: string, documents: readonly IndexedDocument[]): Promise<void>;
  /** Deletes documents by id; how many there were. */
  delete(collection: string, ids: readonly string[]): Promise<number>;
  /** Deletes the documents matching a (non-empty) filter; how many. */
  deleteWhere(collection: string, filter: MetadataFilter): Promise<number>;
  /** The best `topK` hits, best first; `[]` for an unknown collection. */
  search(collection: string, query: SearchQuery): Promise<readonly SearchHit[]>;
  /** How many documents (matching the filter, if any). */
  count(collection: string, filter?: MetadataFilter): Promise<number>;
  /** The names of the collections, sorted. */
  collections(): Promise<readonly string[]>;
  /** Removes a collection and its documents; `false` when there was none. */
  dropCollection(collection: string): Promise<boolean>;
}

/**
 * The search index service. Without a provider, consumers get a private
 * {@link MemorySearchIndex} (lost on restart).
 *
 * @example
 * ```ts
 * metadata: { name: 'rag', version: '1.0.0', consumes: [searchIndexRef] },
 * ```
 */
export const searchIndexRef = createServiceRef<SearchIndex>({
  id: 'plugboard.search-index',
  description: 'Vector and keyword index of documents for retrieval (in memory unless a plugin provides one)',
  members: ['upsert', 'delete', 'deleteWhere', 'search', 'count', 'collections', 'dropCollection'],
  defaultFactory: () => new MemorySearchIndex(),
});

// Limits every implementation enforces, so that moving between indexes brings no surprise.
export const DEFAULT_TOP_K = 5;
export const MAX_TOP_K = 1000;
/** pgvector's limit for a stored vector, so that every implementation can take what one takes. */
export const MAX_VECTOR_DIMENSION = 16_000;
export const MAX_DOCUMENT_ID_LENGTH = 512;
/** Letters, digits, `_ - . :`; starts with a letter or digit; at most 128 characters (safe as a SQL identifier part). */
const COLLECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/**
 * Checks a collection name.
 *
 * @example
 * ```ts
 * assertCollectionName('handbook-v2');
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` unless it is 1–128 letters, digits, `_ - . :`.
 */
export function assertCollectionName(collection: unknown): asserts collection is string {
  if (typeof collection !== 'string' || !COLLECTION_NAME.test(collection)) {
    throw invalid(
      `collection must be 1–128 letters, digits, "_", "-", ".", ":" starting with a letter or digit, got ${describeValue(collection)}`,
    );
  }
}

/**
 * A document as {@link validateDocuments} returns it: frozen, metadata always present.
 *
 * @example
 * ```ts
 * { id: 'a', text: 'Refunds take 5 days.', metadata: {} }
 * ```
 */
export interface CheckedDocument extends IndexedDocument {
  readonly metadata: Readonly<Record<string, JsonScalar>>;
}

/**
 * Checks a batch for {@link SearchIndex.upsert} before anything is stored, including that its
 * vectors all have one dimension, the collection's if it has one. Returns frozen copies
 * (metadata `{}` when absent) and the dimension of the collection after the batch.
 *
 * @example
 * ```ts
 * const { documents, dimension } = validateDocuments(name, input, collection?.dimension);
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` naming the document and field.
 */
export function validateDocuments(
  collection: string,
  documents: unknown,
  collectionDimension: number | undefined,
): { documents: readonly CheckedDocument[]; dimension: number | undefined } {
  if (!Array.isArray(documents)) throw invalid(`documents must be an array, got ${describeValue(documents)}`);
  let dimension = collectionDimension;
  let dimensionSource = `collection "${collection}" holds vectors of ${collectionDimension} dimensions`;
  const seen = new Set<string>();
  const valid = documents.map((document, index) => {
    const what = `documents[${index}]`;
    if (!isPlainObject(document)) throw invalid(`${what} must be an object, got ${describeValue(document)}`);
    assertKnownKeys(document, ['id', 'text', 'vector', 'metadata'], what);
    const { id, text, vector, metadata } = document;
    assertDocumentId(id, `${what}.id`);
    if (seen.has(id)) throw invalid(`${what}.id "${id}" appears twice in the batch`);
    seen.add(id);
    if (typeof text !== 'string') throw invalid(`${what}.text must be a string, got ${describeValue(text)}`);
    const copy = { id, text, metadata: validateMetadata(metadata, `${what}.metadata`) };
    if (vector === undefined) return Object.freeze(copy);
    const checked = validateVector(vector, `${what}.vector`);
    if (dimension === undefined) {
      dimension = checked.length;
      dimensionSource = `${what}.vector has ${dimension}`;
    } else if (checked.length !== dimension) {
      throw invalid(`${what}.vector has ${checked.length} dimensions, but ${dimensionSource}`);
    }
    return Object.freeze({ ...copy, vector: checked });
  });
  return { documents: valid, dimension };
}

/**
 * Checks the ids given to {@link SearchIndex.delete}; returns them without repeats.
 *
 * @example
 * ```ts
 * for (const id of validateDocumentIds(ids)) …
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` naming the bad id.
 */
export function validateDocumentIds(ids: unknown): readonly string[] {
  if (!Array.isArray(ids)) throw invalid(`ids must be an array, got ${describeValue(ids)}`);
  for (const [index, id] of ids.entries()) assertDocumentId(id, `ids[${index}]`);
  return [...new Set(ids as string[])];
}

/**
 * Checks a metadata filter; returns a frozen copy. For {@link SearchIndex.deleteWhere} pass
 * `nonEmpty`: an empty filter would delete everything (use `dropCollection` for that).
 *
 * @example
 * ```ts
 * const filter = validateFilter(input, { nonEmpty: true });
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` naming the bad key.
 */
export function validateFilter(filter: unknown, options: { nonEmpty?: boolean } = {}): MetadataFilter {
  if (!isPlainObject(filter)) throw invalid(`filter must be an object, got ${describeValue(filter)}`);
  const keys = Object.keys(filter);
  if (options.nonEmpty && keys.length === 0) {
    throw invalid('filter must have at least one key (an empty filter matches everything: use dropCollection)');
  }
  const copy: Record<string, JsonScalar | readonly JsonScalar[]> = {};
  for (const key of keys) {
    const value = filter[key];
    const values = Array.isArray(value) ? value : [value];
    if (values.some((item) => !isJsonScalar(item))) {
      throw invalid(
        `filter.${key} must be a string, finite number, boolean, null or an array of them, got ${describeValue(value)}`,
      );
    }
    copy[key] = Array.isArray(value) ? Object.freeze([...values]) : (value as JsonScalar);
  }
  return Object.freeze(copy);
}

/**
 * Checks a query and fills in the default `topK`.
 *
 * @example
 * ```ts
 * const { text, vector, topK, filter } = validateSearchQuery(query);
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` naming the bad field.
 */
export function validateSearchQuery(query: unknown): {
  text: string | undefined;
  vector: readonly number[] | undefined;
  topK: number;
  filter: MetadataFilter | undefined;
} {
  if (!isPlainObject(query)) throw invalid(`query must be an object, got ${describeValue(query)}`);
  assertKnownKeys(query, ['text', 'vector', 'topK', 'filter'], 'query');
  const { text, vector, topK = DEFAULT_TOP_K, filter } = query;
  if (text !== undefined && (typeof text !== 'string' || text.trim() === '')) {
    throw invalid(`query.text must be a string that is not blank, got ${describeValue(text)}`);
  }
  if (text === undefined && vector === undefined) throw invalid('query needs text, a vector or both');
  if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K) {
    throw invalid(`query.topK must be a whole number from 1 to ${MAX_TOP_K}, got ${describeValue(topK)}`);
  }
  return {
    text,
    vector: vector === undefined ? undefined : validateVector(vector, 'query.vector'),
    topK,
    filter: filter === undefined ? undefined : validateFilter(filter),
  };
}

/**
 * Checks that a query vector fits the collection.
 *
 * @example
 * ```ts
 * if (query.vector && collection.dimension !== undefined) assertQueryDimension(name, collection.dimension, query.vector);
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` naming both sizes.
 */
export function assertQueryDimension(collection: string, dimension: number, vector: readonly number[]): void {
  if (vector.length !== dimension) {
    throw invalid(
      `query.vector has ${vector.length} dimensions, but collection "${collection}" holds vectors of ${dimension} dimensions`,
    );
  }
}

/**
 * True when `metadata` matches every key of `filter` (see {@link MetadataFilter}).
 *
 * @example
 * ```ts
 * matchesFilter({ lang: 'en', page: 3 }, { lang: ['en', 'fr'] }); // true
 * ```
 */
export function matchesFilter(metadata: Readonly<Record<string, JsonScalar>>, filter: MetadataFilter): boolean {
  for (const [key, expected] of Object.entries(filter)) {
    if (!Object.hasOwn(metadata, key)) return false;
    const actual = metadata[key];
    if (Array.isArray(expected) ? !expected.includes(actual) : expected !== actual) return false;
  }
  return true;
}

function validateVector(vector: unknown, what: string): readonly number[] {
  if (!Array.isArray(vector) || vector.length === 0 || vector.length > MAX_VECTOR_DIMENSION) {
    throw invalid(`${what} must be an array of 1 to ${MAX_VECTOR_DIMENSION} numbers, got ${describeValue(vector)}`);
  }
  let squares = 0;
  for (const [index, value] of vector.entries()) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw invalid(`${what}[${index}] must be a finite number, got ${describeValue(value)}`);
    }
    squares += value * value;
  }
  if (squares === 0) throw invalid(`${what} is all zeros, which has no direction to compare by cosine`);
  return Object.freeze([...vector] as number[]);
}

function validateMetadata(metadata: unknown, what: string): Readonly<Record<string, JsonScalar>> {
  if (metadata === undefined) return Object.freeze({});
  if (!isPlainObject(metadata)) throw invalid(`${what} must be an object, got ${describeValue(metadata)}`);
  const copy: Record<string, JsonScalar> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (!isJsonScalar(value)) {
      throw invalid(`${what}.${key} must be a string, finite number, boolean or null, got ${describeValue(value)}`);
    }
    copy[key] = value;
  }
  return Object.freeze(copy);
}

function assertDocumentId(id: unknown, what: string): asserts id is string {
  if (typeof id !== 'string' || id === '' || id.length > MAX_DOCUMENT_ID_LENGTH) {
    throw invalid(`${what} must be a string of 1 to ${MAX_DOCUMENT_ID_LENGTH} characters, got ${describeValue(id)}`);
  }
}

function assertKnownKeys(object: Record<string, unknown>, known: readonly string[], what: string): void {
  const unknown = Object.keys(object).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw invalid(`${what} has unknown keys ${unknown.join(', ')} (known: ${known.join(', ')})`);
}

function invalid(message: string): PlugboardError {
  return new PlugboardError('STORE_INVALID_ARGUMENT', message);
}
