import type pg from 'pg';
import { isPlugboardError, type Logger, redactText } from '../../src/index.ts';
import type { DatabaseEntry } from './config.ts';
import type { DatabaseRunner, QueryParam, QueryResult, TableDescription } from './database-runner.ts';
import { dbQueryErrors } from './errors.ts';
import { toJsonValue } from './json-values.ts';
import { postgresRelationsRead } from './postgres-plan.ts';
import { leadingKeyword, startsLikeQuery } from './statement-kind.ts';
import { TableAllowList } from './table-allow-list.ts';

const POSTGRES_COMMENTS = { nestedBlockComments: true } as const;
/** The cursor each query is fetched through (one per transaction, so one name is enough). */
const CURSOR = 'plugboard_db_query';

/**
 * db_query on PostgreSQL, on a client checked out of the shared pool. Each query runs in its
 * own `BEGIN READ ONLY` transaction, always rolled back, with `SET LOCAL statement_timeout`
 * (and `SET LOCAL ROLE` when configured). The layers:
 * 1. the statement must start like a query (SELECT, WITH, VALUES, TABLE);
 * 2. the extended protocol (always used, parameters or not) refuses a second statement;
 * 3. the plan (`EXPLAIN`, same parameters) must not modify anything, and must read allowed
 *    relations only ({@link postgresRelationsRead});
 * 4. rows come through `DECLARE … CURSOR`, which takes a plain query only: it refuses
 *    `SELECT … INTO` and data-modifying CTEs;
 * 5. the READ ONLY transaction refuses any write that is left (nextval, setval, a writing function);
 * 6. the role, when set: the database's own privileges.
 * `FETCH row_limit + 1` reads one row more than the limit, to tell `truncated`, and no more.
 *
 * @example
 * ```ts
 * const runner = new PostgresQueryRunner('shop', connections.postgres('main'), entry, logger);
 * await runner.query('SELECT id FROM orders WHERE total > $1', [100], signal);
 * ```
 */
export class PostgresQueryRunner implements DatabaseRunner {
  readonly dialect = 'postgres';
  readonly placeholders = '$1, $2 …';
  readonly #allowList: TableAllowList;

  constructor(
    private readonly name: string,
    private readonly pool: pg.Pool,
    private readonly entry: DatabaseEntry,
    private readonly logger: Logger,
  ) {
    this.#allowList = new TableAllowList(name, entry.tables, { defaultSchema: 'public', ignoreCase: false });
  }

  query(sql: string, params: readonly QueryParam[], signal: AbortSignal): Promise<QueryResult> {
    if (!startsLikeQuery(sql, POSTGRES_COMMENTS)) {
      const keyword = leadingKeyword(sql, POSTGRES_COMMENTS);
      const what = keyword === undefined ? 'does not start with a keyword' : `starts with ${keyword}`;
      return Promise.reject(
        dbQueryErrors.WRITE_REFUSED(
          `Only a single read-only query (SELECT, WITH … SELECT, VALUES, TABLE) may run; this statement ${what}`,
        ),
      );
    }
    return this.#inReadOnlyTransaction(signal, async (client) => {
      const values = params;
      const plan = await client.query(extendedQuery(`EXPLAIN (VERBOSE, FORMAT JSON) ${sql}`, values));
      this.#allowList.check(postgresRelationsRead(plan.rows[0]?.['QUERY PLAN']));
      await client.query(extendedQuery(`DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${sql}`, values));
      const limit = this.entry.row_limit;
      const fetched = await client.query({ text: `FETCH FORWARD ${limit + 1} FROM ${CURSOR}`, rowMode: 'array' });
      const rows = (fetched.rows as unknown[][]).slice(0, limit).map((row) => row.map(toJsonValue));
      return { columns: fetched.fields.map((field) => field.name), rows, truncated: fetched.rows.length > limit };
    });
  }

  describe(signal: AbortSignal): Promise<readonly TableDescription[]> {
    const tables = this.entry.tables.map((table) => (table.includes('.') ? table.split('.') : ['public', table])) as [
      string,
      string,
    ][];
    return this.#inReadOnlyTransaction(signal, async (client) => {
      const { rows } = await client.query<{
        table_schema: string;
        table_name: string;
        column_name: string;
        data_type: string;
        is_nullable: string;
        primary_key: boolean;
      }>(
        `SELECT c.table_schema, c.table_name, c.column_name, format_type(a.atttypid, a.atttypmod) AS data_type,
                c.is_nullable, coalesce(i.indisprimary, false) AS primary_key
           FROM information_schema.columns c
           JOIN pg_catalog.pg_attribute a
             ON a.attrelid = format('%I.%I', c.table_schema, c.table_name)::regclass AND a.attname = c.column_name
           LEFT JOIN pg_catalog.pg_index i ON i.indrelid = a.attrelid AND i.indisprimary AND a.attnum = ANY (i.indkey)
          WHERE (c.table_schema, c.table_name) IN (SELECT * FROM unnest($1::text[], $2::text[]))
          ORDER BY c.table_schema, c.table_name, c.ordinal_position`,
        [tables.map(([schema]) => schema), tables.map(([, table]) => table)],
      );
      return this.entry.tables.map((table, index) => {
        const [schema, name] = tables[index]!;
        const columns = rows
          .filter((row) => row.table_schema === schema && row.table_name === name)
          .map((row) => ({
            name: row.column_name,
            type: row.data_type,
            nullable: row.is_nullable === 'YES',
            primary_key: row.primary_key,
          }));
        return { name: table, exists: columns.length > 0, columns };
      });
    });
  }

  /**
   * True when the connection logs in as a superuser and no `role` is set: then functions such
   * as `pg_read_file` would run with every privilege. Undefined when the database cannot be asked.
   */
  async runsAsSuperuser(): Promise<boolean | undefined> {
    if (this.entry.role !== undefined) return false;
    try {
      const { rows } = await this.pool.query<{ rolsuper: boolean }>(
        'SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user',
      );
      return rows[0]?.rolsuper === true;
    } catch {
      return undefined;
    }
  }

  close(): void {
    // The pool is shared: the connections service closes it.
  }

  async #inReadOnlyTransaction<T>(signal: AbortSignal, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    signal.throwIfAborted();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.#failure(error);
    }
    let reusable = true;
    try {
      await client.query('BEGIN TRANSACTION READ ONLY');
      // Both are plain integers from the validated config: nothing here comes from the model.
      await client.query(`SET LOCAL statement_timeout = ${this.entry.timeout_ms}`);
      if (this.entry.role !== undefined) await client.query(`SET LOCAL ROLE "${this.entry.role}"`);
      return await work(client);
    } catch (error) {
      throw this.#failure(error);
    } finally {
      try {
        await client.query('ROLLBACK');
      } catch {
        reusable = false; // a client that cannot roll back must not go back to the pool
      }
      client.release(!reusable);
    }
  }

  /** A coded error for what pg threw: the database's message for a query it refused, nothing else. */
  #failure(error: unknown): Error {
    if (isPlugboardError(error)) return error;
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : String(error);
    if (typeof code === 'string' && code.length === 5) {
      if (code === '57014')
        return dbQueryErrors.TIMEOUT(`The query ran longer than ${this.entry.timeout_ms} ms and was cancelled`);
      if (code === '25006')
        return dbQueryErrors.WRITE_REFUSED(`PostgreSQL refused a write in the read-only transaction: ${message}`);
      if (code === '42601' && /multiple commands/.test(message)) {
        return dbQueryErrors.MULTIPLE_STATEMENTS('The SQL holds more than one statement; send exactly one');
      }
      // DECLARE CURSOR takes a plain query only: these are writes that started like one.
      if (
        (code === '42601' && /INTO is not allowed/.test(message)) ||
        (code === '0A000' && /data-modifying/.test(message))
      ) {
        return dbQueryErrors.WRITE_REFUSED(`The statement would change the database: ${message}`);
      }
      // Classes about the query itself: syntax, names, privileges, types, data, cardinality.
      if (/^(42|22|21|2B|0A|P0|39|38|44|23|2F)/.test(code)) {
        return dbQueryErrors.QUERY_FAILED(`PostgreSQL refused the query: ${message}`);
      }
    }
    this.logger.warn(
      { database: this.name, code, cause: redactText(message) },
      `db_query: database "${this.name}" failed`,
    );
    return dbQueryErrors.UNAVAILABLE(`Database "${this.name}" could not run the query; try again later`);
  }
}

/**
 * A query sent with the extended protocol even without parameters: PostgreSQL then refuses a
 * second statement in the text ("cannot insert multiple commands into a prepared statement"),
 * where the simple protocol would run them all. (`queryMode` is missing from @types/pg.)
 */
function extendedQuery(text: string, values: readonly QueryParam[]): pg.QueryConfig {
  const config = { text, values: [...values], queryMode: 'extended' };
  return config;
}
