/**
 * Adding, replacing, deleting and listing documents: parse → chunk → embed → index.
 *
 * A document's id is stable for its collection and name, so adding the same name again
 * replaces it. Replacing writes the new chunks and the registry entry in one upsert (same
 * ids are overwritten), then deletes the previous version's remaining chunks by their
 * `revision`: readers never find the document missing, and a failed upsert leaves the old
 * version whole. When nothing its chunks are made of changed (bytes, metadata, chunking
 * settings, embedding model), nothing is done and the status is `unchanged`.
 */
import { type IndexedDocument, isPlugboardError, type JsonScalar, type SearchIndex } from '../../src/index.ts';
import { type Chunk, chunkDocument } from './chunker.ts';
import type { RagConfig } from './config.ts';
import { chunkIdFor, documentIdFor, sha256 } from './document-id.ts';
import { type DocumentRecord, DocumentRegistry, registryEntry } from './document-registry.ts';
import type { Embedder } from './embedder.ts';
import { ragErrors } from './errors.ts';
import { detectFormat, parseDocument } from './parsers/parse-document.ts';
import type { TokenCounter } from './token-count.ts';
import { checkUserMetadata } from './user-metadata.ts';

/** A document to add. */
export interface DocumentUpload {
  /** Its file name: with the collection, what identifies it. 1–256 characters, no control characters. */
  readonly name: string;
  readonly content: Uint8Array;
  /** Its media type; without one (or a generic one) the name's extension decides the format. */
  readonly contentType?: string;
  /** Flat metadata copied onto every chunk (filterable). */
  readonly metadata?: unknown;
}

/** What adding a document did. */
export interface IngestResult {
  readonly collection: string;
  readonly document: string;
  readonly name: string;
  readonly chunks: number;
  readonly status: 'added' | 'replaced' | 'unchanged';
  /** The embedding model of its chunks; null: keyword search only. */
  readonly embedding_model: string | null;
}

/** A collection as listed. */
export interface CollectionSummary {
  readonly name: string;
  readonly documents: number;
  readonly chunks: number;
}

/** What the ingestor works with. */
export interface IngestorOptions {
  readonly index: SearchIndex;
  readonly embedder: Embedder;
  readonly config: RagConfig;
  /** Loads the token counter (on the first document). */
  readonly tokenCounter: () => Promise<TokenCounter>;
  readonly now?: () => Date;
}

const NAME = /^[^\p{Cc}]{1,256}$/u;
/** Bump when chunking or what a chunk holds changes, so that every document is redone once. */
const PIPELINE_VERSION = 'rag-1';

/**
 * Adds, replaces, deletes and lists documents of collections.
 *
 * @example
 * ```ts
 * const ingestor = new DocumentIngestor({ index, embedder, config, tokenCounter: () => loadTokenCounter('cl100k_base') });
 * await ingestor.ingest('handbook', { name: 'refunds.md', content: bytes, contentType: 'text/markdown' }, signal);
 * ```
 */
export class DocumentIngestor {
  readonly #options: IngestorOptions;
  readonly #registry: DocumentRegistry;
  /** One write at a time per document (two uploads of the same name must not interleave). */
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(options: IngestorOptions) {
    this.#options = options;
    this.#registry = new DocumentRegistry(options.index);
  }

  /** The search index collection of a collection: the configured prefix keeps other plugins' collections apart. */
  indexCollection(collection: string): string {
    return `${this.#options.config.collection_prefix}${collection}`;
  }

  /**
   * Adds a document, or replaces the one of the same name.
   * @throws PlugboardError `rag/*` refusals (format, size, name, metadata, an empty or broken
   *   file, an embedding of another size than the collection's).
   */
  async ingest(collection: string, upload: DocumentUpload, signal: AbortSignal): Promise<IngestResult> {
    const { config } = this.#options;
    if (typeof upload.name !== 'string' || !NAME.test(upload.name)) {
      throw ragErrors.INVALID_REQUEST('name must be 1–256 characters without control characters');
    }
    if (upload.content.byteLength > config.max_document_bytes) {
      throw ragErrors.DOCUMENT_TOO_LARGE(
        `"${upload.name}" has ${upload.content.byteLength} bytes; the limit is ${config.max_document_bytes}`,
      );
    }
    const metadata = checkUserMetadata(upload.metadata);
    const format = detectFormat(upload.contentType, upload.name);
    const document = documentIdFor(collection, upload.name);
    const target = this.indexCollection(collection);
    return this.#exclusive(`${target}\0${document}`, async () => {
      const contentHash = sha256(upload.content);
      const fingerprint = sha256(
        PIPELINE_VERSION,
        contentHash,
        format,
        JSON.stringify(metadata),
        `${config.chunk_tokens}/${config.chunk_overlap}/${config.tokenizer}/${config.html_readability}`,
        this.#options.embedder.configuredModel,
      );
      const previous = await this.#registry.get(target, document);
      const canEmbedNow = this.#options.embedder.willTry;
      if (previous?.fingerprint === fingerprint && (previous.embeddingModel !== undefined || !canEmbedNow)) {
        return result(collection, previous, 'unchanged');
      }
      const parsed = await parseDocument(upload.content, format, upload.name, { readability: config.html_readability });
      const chunks = chunkDocument(parsed, {
        chunkTokens: config.chunk_tokens,
        overlapTokens: config.chunk_overlap,
        countTokens: await this.#options.tokenCounter(),
      });
      if (chunks.length === 0) throw ragErrors.EMPTY_DOCUMENT(`No text could be extracted from "${upload.name}"`);
      const embedded = await this.#options.embedder.embed(chunks.map(embeddingInput), signal);
      const record: DocumentRecord = {
        document,
        name: upload.name,
        format,
        contentType: upload.contentType,
        bytes: upload.content.byteLength,
        sha256: contentHash,
        fingerprint,
        chunks: chunks.length,
        pages: parsed.pages,
        embeddingModel: embedded?.model,
        ingestedAt: (this.#options.now?.() ?? new Date()).toISOString(),
        metadata,
      };
      const revision = fingerprint.slice(0, 16);
      const entries: IndexedDocument[] = chunks.map((chunk, index) => ({
        id: chunkIdFor(document, chunk.index),
        text: chunk.text,
        ...(embedded ? { vector: embedded.vectors[index]! } : {}),
        metadata: chunkMetadata(chunk, record, revision),
      }));
      if (previous === undefined) {
        // No entry, but chunks may remain (an entry lost to a bug or a hand edit): clear them first.
        await this.#options.index.deleteWhere(target, { document });
      }
      try {
        await this.#options.index.upsert(target, [registryEntry(record), ...entries]);
      } catch (error) {
        throw mismatch(error, collection, embedded?.model) ?? error;
      }
      // The old version's chunks that the new one did not overwrite. Same revision (the same
      // content, embedded now that embeddings work): the upsert replaced every chunk by id, and
      // deleting by that revision would delete the new ones.
      const previousRevision = previous?.fingerprint.slice(0, 16);
      if (previousRevision !== undefined && previousRevision !== revision) {
        await this.#options.index.deleteWhere(target, { document, kind: 'chunk', revision: previousRevision });
      }
      return result(collection, record, previous === undefined ? 'added' : 'replaced');
    });
  }

  /** Deletes a document and its chunks; false when the collection has no such document. */
  async delete(collection: string, document: string): Promise<boolean> {
    const target = this.indexCollection(collection);
    return this.#exclusive(`${target}\0${document}`, async () => {
      const removed = await this.#options.index.deleteWhere(target, { document });
      return removed > 0;
    });
  }

  /** The documents of a collection, by name (at most 1000), and how many there are. */
  async list(collection: string): Promise<{ documents: DocumentRecord[]; total: number }> {
    return this.#registry.list(this.indexCollection(collection));
  }

  /** The collections that hold documents, with their counts. */
  async collections(): Promise<CollectionSummary[]> {
    const prefix = this.#options.config.collection_prefix;
    const names = (await this.#options.index.collections()).filter((name) => name.startsWith(prefix));
    const summaries = await Promise.all(
      names.map(async (target) => ({
        name: target.slice(prefix.length),
        documents: await this.#registry.count(target),
        chunks: await this.#options.index.count(target, { kind: 'chunk' }),
      })),
    );
    return summaries.filter((summary) => summary.documents > 0 || summary.chunks > 0);
  }

  /** Deletes a collection with all its documents; false when there was none. */
  dropCollection(collection: string): Promise<boolean> {
    return this.#options.index.dropCollection(this.indexCollection(collection));
  }

  async #exclusive<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.#locks.get(key) ?? Promise.resolve();
    const running = before.catch(() => undefined).then(work);
    this.#locks.set(key, running);
    try {
      return await running;
    } finally {
      if (this.#locks.get(key) === running) this.#locks.delete(key);
    }
  }
}

/** What is embedded for a chunk: its section's title first when the chunk does not start with it, for context. */
export function embeddingInput(chunk: Chunk): string {
  if (chunk.section === undefined || chunk.text.includes(chunk.section)) return chunk.text;
  return `${chunk.section}\n\n${chunk.text}`;
}

function chunkMetadata(chunk: Chunk, record: DocumentRecord, revision: string): Record<string, JsonScalar> {
  return {
    ...record.metadata,
    kind: 'chunk',
    document: record.document,
    name: record.name,
    chunk: chunk.index,
    revision,
    start: chunk.start,
    end: chunk.end,
    ...(chunk.page === undefined ? {} : { page: chunk.page }),
    ...(chunk.section === undefined ? {} : { section: chunk.section }),
  };
}

function result(collection: string, record: DocumentRecord, status: IngestResult['status']): IngestResult {
  return {
    collection,
    document: record.document,
    name: record.name,
    chunks: record.chunks,
    status,
    embedding_model: record.embeddingModel ?? null,
  };
}

/** A vector of another size than the collection's, as the refusal that says what to do. */
function mismatch(error: unknown, collection: string, model: string | undefined) {
  if (!isPlugboardError(error, 'STORE_INVALID_ARGUMENT') || !/dimensions/.test(error.message)) return undefined;
  return ragErrors.EMBEDDING_MISMATCH(
    `Collection "${collection}" holds vectors of another size than ${model ?? 'the embedding model'} makes (${error.message})`,
  );
}
