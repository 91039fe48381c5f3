import type { JsonValue } from '../../src/index.ts';

/** A value the model may bind to a placeholder: data, never SQL. */
export type QueryParam = string | number | boolean | null;

/** What a query answers, as the model reads it. */
export interface QueryResult {
  /** Column names, in the order of each row's values (duplicates kept: `a.id`, `b.id` are both `id`). */
  readonly columns: readonly string[];
  readonly rows: readonly (readonly JsonValue[])[];
  /** True when the query had more rows than `row_limit`: only the first `row_limit` are here. */
  readonly truncated: boolean;
}

/** One column of an allowed table, for `db_schema`. */
export interface ColumnDescription {
  readonly name: string;
  readonly type: string;
  readonly nullable: boolean;
  readonly primary_key: boolean;
}

/** An allowed table's columns; `exists: false` when the database has no such table. */
export interface TableDescription {
  readonly name: string;
  readonly exists: boolean;
  readonly columns: readonly ColumnDescription[];
}

/**
 * One configured database as the tools use it: a dialect's way of running a query under every
 * db_query rule (read-only, one statement, allowed tables only, row limit, timeout) and of
 * describing the allowed tables. Every refusal throws a coded `db_query/…` error.
 *
 * @example
 * ```ts
 * const { columns, rows, truncated } = await runner.query('SELECT id FROM orders WHERE total > ?', [100], signal);
 * ```
 */
export interface DatabaseRunner {
  readonly dialect: 'sqlite' | 'postgres';
  /** How this dialect writes placeholders, for the tool description. */
  readonly placeholders: string;
  query(sql: string, params: readonly QueryParam[], signal: AbortSignal): Promise<QueryResult>;
  describe(signal: AbortSignal): Promise<readonly TableDescription[]>;
  /** Releases what the runner opened itself (never the shared connection). */
  close(): void;
}
