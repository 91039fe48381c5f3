/**
 * What differs between SQLite and PostgreSQL in search: metadata filters, keyword ranking
 * (FTS5 BM25 vs tsvector ts_rank_cd), vector ranking (sqlite-vec vs SQL over real[], or
 * pgvector), and how vectors are stored. Plus the reciprocal rank fusion both share, the same
 * as the in-memory index's so that scores mean the same thing on every store.
 */
import { type RawBuilder, sql } from 'kysely';
import type { JsonScalar, MetadataFilter } from '../../src/index.ts';
import type { SqlDatabase } from './sql-database.ts';

/** The constant of reciprocal rank fusion, as in the in-memory index (Cormack et al., 2009). */
export const RRF_K = 60;

/** How deep each ranking goes before fusion: the in-memory index's "retrieve more, fuse, cut". */
export function candidateDepth(topK: number): number {
  return Math.max(topK * 4, 50);
}

/** One ranked document, as the ranking queries return it. */
export interface RankedRow {
  readonly id: string;
  readonly text: string;
  /** JSON text (SQLite) or the parsed object (pg's jsonb). */
  readonly metadata: string | Record<string, JsonScalar>;
  readonly score: number;
}

export interface FusedRow extends RankedRow {
  readonly matchedBy: readonly ('keyword' | 'vector')[];
}

/**
 * Reciprocal rank fusion of the first `depth` of each ranking: score = Σ 1 / (RRF_K + rank),
 * best first, ties by id.
 *
 * @example
 * ```ts
 * fuse(keywordRows, vectorRows, candidateDepth(topK)).slice(0, topK);
 * ```
 */
export function fuse(keyword: readonly RankedRow[], nearest: readonly RankedRow[], depth: number): FusedRow[] {
  const fused = new Map<string, { row: RankedRow; score: number; matchedBy: ('keyword' | 'vector')[] }>();
  for (const [ranking, kind] of [
    [keyword, 'keyword'],
    [nearest, 'vector'],
  ] as const) {
    for (const [index, row] of ranking.slice(0, depth).entries()) {
      const entry = fused.get(row.id) ?? { row, score: 0, matchedBy: [] };
      entry.score += 1 / (RRF_K + index + 1);
      entry.matchedBy.push(kind);
      fused.set(row.id, entry);
    }
  }
  return [...fused.values()]
    .map(({ row, score, matchedBy }) => ({ ...row, score, matchedBy }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The words of a query, lower-cased: letters, digits and marks, as unicode61 and 'simple' split text. */
export function queryTerms(text: string): string[] {
  return [...new Set(text.toLowerCase().match(/[\p{L}\p{N}\p{M}\p{Co}]+/gu) ?? [])];
}

/**
 * The SQL condition for a metadata filter on `d.metadata`, by JSON type as the in-memory index
 * compares (`2024` is not `"2024"`, `false` is not `0`, `null` matches only a present null).
 */
export function filterCondition(database: SqlDatabase, filter: MetadataFilter | undefined): RawBuilder<unknown> {
  if (filter === undefined) return sql`1 = 1`;
  const conditions = Object.entries(filter).map(([key, expected]) => {
    const values: readonly JsonScalar[] = Array.isArray(expected) ? expected : [expected as JsonScalar];
    if (values.length === 0) return sql`1 = 0`;
    if (database.dialect === 'postgres') {
      // jsonb equality is typed: '2024' = '"2024"' is false; a missing key is NULL, never true.
      return sql`d.metadata -> ${key}::text = any(${values.map((value) => JSON.stringify(value))}::jsonb[])`;
    }
    const matches = values.map((value) => sqliteValueMatch(value));
    return sql`exists (select 1 from json_each(d.metadata) as m where m.key = ${key} and (${sql.join(matches, sql` or `)}))`;
  });
  return sql.join(conditions, sql` and `);
}

/** json_each's `type` tells JSON true/false/null/integer/real/text apart; `atom` is the SQL value. */
function sqliteValueMatch(value: JsonScalar): RawBuilder<unknown> {
  if (value === null) return sql`m.type = 'null'`;
  if (value === true) return sql`m.type = 'true'`;
  if (value === false) return sql`m.type = 'false'`;
  if (typeof value === 'number') return sql`(m.type in ('integer', 'real') and m.atom = ${value})`;
  return sql`(m.type = 'text' and m.atom = ${value})`;
}

/**
 * The keyword ranking, best first: SQLite FTS5's BM25 (`bm25()` is lower-is-better, so negated),
 * PostgreSQL's `ts_rank_cd` over the generated tsvector (GIN index). A document matches when it
 * has any of the query's words, as in the in-memory index.
 */
export function keywordQuery(
  database: SqlDatabase,
  collection: string,
  terms: readonly string[],
  filter: MetadataFilter | undefined,
  limit: number,
): RawBuilder<RankedRow> {
  const documents = sql.table(`${database.prefix}search_documents`);
  const where = filterCondition(database, filter);
  if (database.dialect === 'postgres') {
    // Each word quoted (they hold only letters and digits), joined by OR.
    const query = terms.map((term) => `'${term}'`).join(' | ');
    return sql<RankedRow>`select d.id, d.text, d.metadata, ts_rank_cd(d.tsv, q.query)::float8 as score
      from ${documents} as d, to_tsquery('simple', ${query}) as q(query)
      where d.collection = ${collection} and d.tsv @@ q.query and ${where}
      order by score desc, d.id limit ${limit}`;
  }
  const fts = sql.table(`${database.prefix}search_fts`);
  // Each word as an FTS5 string (no operators can be smuggled in), joined by OR.
  const match = terms.map((term) => `"${term}"`).join(' OR ');
  return sql<RankedRow>`select d.id, d.text, d.metadata, -bm25(${fts}) as score
    from ${fts} join ${documents} as d on d.doc_rowid = ${fts}.rowid
    where ${fts} match ${match} and d.collection = ${collection} and ${where}
    order by score desc, d.id limit ${limit}`;
}

/**
 * The vector ranking, best first, by exact cosine similarity over every matching document with a
 * vector: sqlite-vec's `vec_distance_cosine` on SQLite; on PostgreSQL pgvector's `<=>` when the
 * server has it, else a dot product over the `real[]` in SQL divided by the stored norms.
 */
export function vectorQuery(
  database: SqlDatabase,
  collection: string,
  vector: readonly number[],
  filter: MetadataFilter | undefined,
  limit: number,
): RawBuilder<RankedRow> {
  const documents = sql.table(`${database.prefix}search_documents`);
  const where = filterCondition(database, filter);
  let score: RawBuilder<unknown>;
  if (database.dialect === 'sqlite') {
    score = sql`1 - vec_distance_cosine(d.vector, ${float32Blob(vector)})`;
  } else if (database.pgvector) {
    // Not exercised by the tests: this machine's PostgreSQL has no pgvector (see the test).
    score = sql`1 - (d.vector::vector <=> ${pgArray(vector)}::vector)`;
  } else {
    score = sql`(select sum(a::float8 * b) from unnest(d.vector, ${[...vector]}::float8[]) as t(a, b)) / (d.norm * ${norm(vector)})`;
  }
  return sql<RankedRow>`select d.id, d.text, d.metadata, ${score} as score
    from ${documents} as d
    where d.collection = ${collection} and d.vector is not null and ${where}
    order by score desc, d.id limit ${limit}`;
}

/** How a vector is stored: float32 little-endian bytes (SQLite, for sqlite-vec) or a real[] (PostgreSQL). */
export function storedVector(database: SqlDatabase, vector: readonly number[] | undefined): Buffer | number[] | null {
  if (vector === undefined) return null;
  return database.dialect === 'sqlite' ? float32Blob(vector) : [...vector];
}

/** The length of the vector as stored (in float32), for the cosine in SQL on PostgreSQL. */
export function storedNorm(vector: readonly number[] | undefined): number | null {
  return vector === undefined ? null : norm(vector.map((value) => Math.fround(value)));
}

function float32Blob(vector: readonly number[]): Buffer {
  const floats = Float32Array.from(vector);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength);
}

/** pgvector's text form, `[1,2,3]`. */
function pgArray(vector: readonly number[]): string {
  return `[${vector.join(',')}]`;
}

function norm(vector: readonly number[]): number {
  let squares = 0;
  for (const value of vector) squares += value * value;
  return Math.sqrt(squares);
}
