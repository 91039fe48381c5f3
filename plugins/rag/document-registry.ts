/**
 * The list of the documents of each collection, kept in the search index itself: one entry
 * per document, beside its chunks, with metadata `kind: 'document'` (chunks have
 * `kind: 'chunk'`, and every chunk search filters on it). Kept there rather than in the
 * key-value store so that the list lives and dies with the chunks it describes: in the same
 * store (SQLite, PostgreSQL or memory), written in the same upsert (all or none), removed by
 * the same deleteWhere and dropCollection. A key-value store in memory next to a SQLite index
 * would forget every document at a restart while their chunks stay searchable.
 *
 * The index has no "list" call, so the entries all hold one marker word and are listed by a
 * keyword search for it, filtered on `kind`: at most 1000 per listing — the
 * listing says how many there are in all (`count`) and whether it is cut.
 */
import type { IndexedDocument, JsonScalar, SearchHit, SearchIndex } from '../../src/index.ts';
import type { UserMetadata } from './user-metadata.ts';

/** The most hits a search may ask for: the search index's MAX_TOP_K, which every implementation enforces. */
export const LISTING_LIMIT = 1000;

/** The text of every registry entry: one word no document is likely to contain. */
const MARKER = 'plugboardragdocumententry';

/** What the registry knows of a document. */
export interface DocumentRecord {
  readonly document: string;
  readonly name: string;
  readonly format: string;
  readonly contentType: string | undefined;
  readonly bytes: number;
  /** Of the uploaded bytes. */
  readonly sha256: string;
  /** Of everything its chunks are made from (bytes, metadata, chunking, embedding model): equal means nothing to redo. */
  readonly fingerprint: string;
  readonly chunks: number;
  readonly pages: number | undefined;
  /** The model its chunks were embedded with; `undefined`: keyword search only. */
  readonly embeddingModel: string | undefined;
  readonly ingestedAt: string;
  readonly metadata: UserMetadata;
}

/** The registry entry of a record, to upsert with its chunks. */
export function registryEntry(record: DocumentRecord): IndexedDocument {
  const metadata: Record<string, JsonScalar> = {
    kind: 'document',
    document: record.document,
    name: record.name,
    format: record.format,
    bytes: record.bytes,
    sha256: record.sha256,
    fingerprint: record.fingerprint,
    chunks: record.chunks,
    ingested_at: record.ingestedAt,
    user_metadata: JSON.stringify(record.metadata),
  };
  if (record.contentType !== undefined) metadata.content_type = record.contentType;
  if (record.pages !== undefined) metadata.pages = record.pages;
  if (record.embeddingModel !== undefined) metadata.embedding_model = record.embeddingModel;
  return { id: record.document, text: MARKER, metadata };
}

/** Reads and lists the registry entries of an index. */
export class DocumentRegistry {
  readonly #index: SearchIndex;

  constructor(index: SearchIndex) {
    this.#index = index;
  }

  /** The record of a document, if the collection has it. */
  async get(collection: string, document: string): Promise<DocumentRecord | undefined> {
    const [hit] = await this.#index.search(collection, {
      text: MARKER,
      topK: 1,
      filter: { kind: 'document', document },
    });
    return hit === undefined ? undefined : recordOf(hit);
  }

  /** The records of a collection, by name; at most {@link LISTING_LIMIT}, with the total. */
  async list(collection: string): Promise<{ documents: DocumentRecord[]; total: number }> {
    const total = await this.#index.count(collection, { kind: 'document' });
    if (total === 0) return { documents: [], total };
    const hits = await this.#index.search(collection, {
      text: MARKER,
      topK: LISTING_LIMIT,
      filter: { kind: 'document' },
    });
    const documents = hits.map(recordOf).sort((a, b) => a.name.localeCompare(b.name));
    return { documents, total };
  }

  /** How many documents a collection has. */
  count(collection: string): Promise<number> {
    return this.#index.count(collection, { kind: 'document' });
  }
}

function recordOf(hit: SearchHit): DocumentRecord {
  const meta = hit.metadata;
  const text = (key: string) => (typeof meta[key] === 'string' ? (meta[key] as string) : undefined);
  const number = (key: string) => (typeof meta[key] === 'number' ? (meta[key] as number) : undefined);
  let metadata: UserMetadata = {};
  try {
    metadata = JSON.parse(text('user_metadata') ?? '{}') as UserMetadata;
  } catch {
    // Written by this plugin as JSON; an entry edited by hand loses only its user metadata.
  }
  return {
    document: text('document') ?? hit.id,
    name: text('name') ?? hit.id,
    format: text('format') ?? 'text',
    contentType: text('content_type'),
    bytes: number('bytes') ?? 0,
    sha256: text('sha256') ?? '',
    fingerprint: text('fingerprint') ?? '',
    chunks: number('chunks') ?? 0,
    pages: number('pages'),
    embeddingModel: text('embedding_model'),
    ingestedAt: text('ingested_at') ?? '',
    metadata,
  };
}
