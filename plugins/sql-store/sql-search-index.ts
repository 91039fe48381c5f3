/**
 * The core's SearchIndex (src/core/stores/search-index.ts) in SQLite or PostgreSQL, one
 * implementation for both through kysely; what differs (keyword and vector ranking, filters,
 * vector storage) is in search-ranking.ts. It passes the same contract suite as the in-memory
 * index, with the same argument checks (the core's validators) and the same score semantics.
 */
import { sql, type Transaction } from 'kysely';
import {
  assertCollectionName,
  assertQueryDimension,
  type CheckedDocument,
  validateDocumentIds,
  validateDocuments,
  validateFilter,
  validateSearchQuery,
} from '../../src/core/stores/search-index.ts';
import {
  type IndexedDocument,
  type JsonScalar,
  type MetadataFilter,
  PlugboardError,
  type SearchHit,
  type SearchIndex,
  type SearchQuery,
} from '../../src/index.ts';
import {
  candidateDepth,
  type FusedRow,
  filterCondition,
  fuse,
  keywordQuery,
  queryTerms,
  type RankedRow,
  storedNorm,
  storedVector,
  vectorQuery,
} from './search-ranking.ts';
import { forUpdate, type SqlDatabase, type Tables, table, timestamp, toNumber } from './sql-database.ts';
import { guard } from './store-failure.ts';

/** Documents per multi-row INSERT and ids per `in (…)`: far below both databases' parameter limits. */
const CHUNK = 200;

/**
 * A keyword and vector index in SQL: documents in one table (per collection by a column),
 * collections with their vector dimension in another. Keyword search is BM25 (FTS5) on SQLite
 * and `ts_rank_cd` on PostgreSQL; vector search is an exact cosine ranking; hybrid search fuses
 * both by reciprocal rank fusion, as the in-memory index does.
 *
 * @example
 * ```ts
 * const index = new SqlSearchIndex(database);
 * await index.upsert('faq', [{ id: 'refunds', text: 'Refunds take 5 days.', vector: [0.1, 0.7, 0.2] }]);
 * await index.search('faq', { text: 'refund', vector: [0.1, 0.6, 0.3], topK: 3 });
 * ```
 */
export class SqlSearchIndex implements SearchIndex {
  readonly #database: SqlDatabase;
  readonly #collections;
  readonly #documents;

  constructor(database: SqlDatabase) {
    this.#database = database;
    this.#collections = table(database, 'search_collections');
    this.#documents = table(database, 'search_documents');
  }

  async upsert(collection: string, documents: readonly IndexedDocument[]): Promise<void> {
    assertCollectionName(collection);
    // Checked once before any write (the collection's own dimension is checked again below).
    if (validateDocuments(collection, documents, undefined).documents.length === 0) return;
    await guard(this.#database, 'upsert', () =>
      this.#database.db.transaction().execute(async (transaction) => {
        const created = timestamp(this.#database, Date.now());
        await sql`insert into ${this.#collections} (name, dimension, created_at) values (${collection}, null, ${created})
          on conflict (name) do nothing`.execute(transaction);
        // Locked until commit, so that two upserts cannot fix two different dimensions.
        const { rows } = await sql<{ dimension: number | string | null }>`select dimension from ${this.#collections}
          where name = ${collection}${forUpdate(this.#database)}`.execute(transaction);
        const dimension = rows[0]?.dimension == null ? undefined : toNumber(rows[0].dimension);
        const checked = validateDocuments(collection, documents, dimension);
        for (const document of checked.documents) assertStorable(document);
        if (checked.dimension !== dimension) {
          await sql`update ${this.#collections} set dimension = ${checked.dimension} where name = ${collection}`.execute(
            transaction,
          );
        }
        for (let start = 0; start < checked.documents.length; start += CHUNK) {
          await this.#write(transaction, collection, checked.documents.slice(start, start + CHUNK));
        }
      }),
    );
  }

  async delete(collection: string, ids: readonly string[]): Promise<number> {
    assertCollectionName(collection);
    const unique = validateDocumentIds(ids);
    if (unique.length === 0) return 0;
    return guard(this.#database, 'delete', () =>
      this.#database.db.transaction().execute(async (transaction) => {
        let deleted = 0;
        for (let start = 0; start < unique.length; start += CHUNK) {
          const chunk = unique.slice(start, start + CHUNK);
          const { rows } = await sql<{ id: string }>`delete from ${this.#documents}
            where collection = ${collection} and id in (${sql.join(chunk)}) returning id`.execute(transaction);
          deleted += rows.length;
        }
        return deleted;
      }),
    );
  }

  async deleteWhere(collection: string, filter: MetadataFilter): Promise<number> {
    assertCollectionName(collection);
    const checked = validateFilter(filter, { nonEmpty: true });
    const { rows } = await guard(this.#database, 'deleteWhere', () =>
      sql<{ id: string }>`delete from ${this.#documents} as d
        where d.collection = ${collection} and ${filterCondition(this.#database, checked)} returning id`.execute(
        this.#database.db,
      ),
    );
    return rows.length;
  }

  async search(collection: string, query: SearchQuery): Promise<readonly SearchHit[]> {
    assertCollectionName(collection);
    const { text, vector, topK, filter } = validateSearchQuery(query);
    return guard(this.#database, 'search', async () => {
      const { rows } = await sql<{ dimension: number | string | null }>`select dimension from ${this.#collections}
        where name = ${collection}`.execute(this.#database.db);
      if (rows[0] === undefined) return Object.freeze([]);
      const dimension = rows[0].dimension;
      if (vector !== undefined && dimension !== null) assertQueryDimension(collection, toNumber(dimension), vector);
      const hybrid = text !== undefined && vector !== undefined;
      const depth = hybrid ? candidateDepth(topK) : topK;
      const db = this.#database.db;
      const terms = text === undefined ? [] : queryTerms(text);
      // A text without a single word (only punctuation) matches nothing, as in the in-memory index.
      const keyword =
        text === undefined
          ? undefined
          : terms.length === 0
            ? []
            : (await keywordQuery(this.#database, collection, terms, filter, depth).execute(db)).rows;
      const nearest =
        vector === undefined || dimension === null
          ? vector === undefined
            ? undefined
            : []
          : (await vectorQuery(this.#database, collection, vector, filter, depth).execute(db)).rows;
      let hits: FusedRow[];
      if (keyword !== undefined && nearest !== undefined) hits = fuse(keyword, nearest, depth).slice(0, topK);
      else if (keyword !== undefined) hits = only(keyword, 'keyword');
      else hits = only(nearest ?? [], 'vector');
      return Object.freeze(hits.map(toHit));
    });
  }

  async count(collection: string, filter?: MetadataFilter): Promise<number> {
    assertCollectionName(collection);
    const checked = filter === undefined ? undefined : validateFilter(filter);
    const { rows } = await guard(this.#database, 'count', () =>
      sql<{ count: number | string }>`select count(*) as count from ${this.#documents} as d
        where d.collection = ${collection} and ${filterCondition(this.#database, checked)}`.execute(this.#database.db),
    );
    return toNumber(rows[0]?.count ?? 0);
  }

  async collections(): Promise<readonly string[]> {
    const { rows } = await guard(this.#database, 'collections', () =>
      sql<{ name: string }>`select name from ${this.#collections}`.execute(this.#database.db),
    );
    // Sorted here, as JavaScript compares strings, whatever the database's collation.
    return Object.freeze(rows.map((row) => row.name).sort());
  }

  async dropCollection(collection: string): Promise<boolean> {
    assertCollectionName(collection);
    return guard(this.#database, 'dropCollection', () =>
      this.#database.db.transaction().execute(async (transaction) => {
        // Documents first: a shared SQLite connection may have foreign keys (and so the cascade) off.
        await sql`delete from ${this.#documents} where collection = ${collection}`.execute(transaction);
        const { rows } = await sql<{ name: string }>`delete from ${this.#collections}
          where name = ${collection} returning name`.execute(transaction);
        return rows.length > 0;
      }),
    );
  }

  async #write(transaction: Transaction<Tables>, collection: string, documents: readonly CheckedDocument[]) {
    const postgres = this.#database.dialect === 'postgres';
    const values = documents.map((document) => {
      const vector = storedVector(this.#database, document.vector);
      const metadata = JSON.stringify(document.metadata);
      return postgres
        ? sql`(${collection}, ${document.id}, ${document.text}, ${metadata}::jsonb, ${vector}::real[], ${storedNorm(document.vector)})`
        : sql`(${collection}, ${document.id}, ${document.text}, ${metadata}, ${vector})`;
    });
    const columns = postgres
      ? sql`collection, id, text, metadata, vector, norm`
      : sql`collection, id, text, metadata, vector`;
    const update = postgres
      ? sql`text = excluded.text, metadata = excluded.metadata, vector = excluded.vector, norm = excluded.norm`
      : sql`text = excluded.text, metadata = excluded.metadata, vector = excluded.vector`;
    await sql`insert into ${this.#documents} (${columns}) values ${sql.join(values)}
      on conflict (collection, id) do update set ${update}`.execute(transaction);
  }
}

/**
 * Refuses a vector that float32 storage (both databases' form) cannot keep: a value beyond
 * float32's range, or one so small that every value rounds to zero (no direction left).
 */
function assertStorable(document: CheckedDocument): void {
  if (document.vector === undefined) return;
  const stored = document.vector.map((value) => Math.fround(value));
  if (stored.some((value) => !Number.isFinite(value)) || stored.every((value) => value === 0)) {
    throw new PlugboardError(
      'STORE_INVALID_ARGUMENT',
      `document "${document.id}": vector values must fit in 32-bit floats (±3.4e38) and not all round to zero`,
    );
  }
}

function only(rows: readonly RankedRow[], kind: 'keyword' | 'vector'): FusedRow[] {
  return rows.map((row) => ({ ...row, matchedBy: [kind] }));
}

function toHit(row: FusedRow): SearchHit {
  const metadata = typeof row.metadata === 'string' ? (JSON.parse(row.metadata) as object) : row.metadata;
  return Object.freeze({
    id: row.id,
    text: row.text,
    metadata: Object.freeze(metadata) as Readonly<Record<string, JsonScalar>>,
    score: toNumber(row.score),
    matchedBy: Object.freeze([...row.matchedBy]),
  });
}
