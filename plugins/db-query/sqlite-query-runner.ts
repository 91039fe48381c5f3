import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { isPlugboardError, type JsonValue, type SqliteDatabase } from '../../src/index.ts';
import type { DatabaseEntry } from './config.ts';
import type { DatabaseRunner, QueryParam, QueryResult, TableDescription } from './database-runner.ts';
import { dbQueryErrors } from './errors.ts';
import { toJsonValue } from './json-values.ts';
import { sqliteRelationsRead } from './sqlite-plan.ts';
import { leadingKeyword, startsLikeQuery } from './statement-kind.ts';
import { TableAllowList } from './table-allow-list.ts';

const SQLITE_COMMENTS = { nestedBlockComments: false } as const;

/** How long the read-only handle waits for a writer's lock before SQLITE_BUSY, in ms. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * db_query on SQLite. The layers, each enough on its own against a write:
 * 1. the statement must start like a query (SELECT, WITH, VALUES);
 * 2. better-sqlite3 prepares one statement only (a second one after `;` is refused);
 * 3. the prepared statement must be `readonly` and return rows (`reader`): SQLite's own verdict,
 *    which catches `WITH … INSERT`, `PRAGMA x = y`, ATTACH, BEGIN …;
 * 4. it runs on a handle of its own opened `{ readonly: true }` with `query_only`, never on the
 *    shared read-write one;
 * then the allow-list: every b-tree the compiled program opens must belong to an allowed table
 * ({@link sqliteRelationsRead}), checked in the same read transaction the query runs in.
 *
 * Time: better-sqlite3 cannot interrupt a statement, so `timeout_ms` is checked between rows:
 * a query that is slow to produce its first (or next) row — a huge aggregate, a runaway
 * recursive CTE — holds the event loop until SQLite is done. See README.
 *
 * @example
 * ```ts
 * const runner = SqliteQueryRunner.open('notes', connections.sqlite('local'), entry);
 * await runner.query('SELECT title FROM notes WHERE id = ?', [3], signal);
 * ```
 */
export class SqliteQueryRunner implements DatabaseRunner {
  readonly dialect = 'sqlite';
  readonly placeholders = '? (or ?1, ?2 …)';
  readonly #allowList: TableAllowList;

  private constructor(
    private readonly database: SqliteDatabase,
    private readonly entry: DatabaseEntry,
    name: string,
  ) {
    this.#allowList = new TableAllowList(name, entry.tables, { defaultSchema: 'main', ignoreCase: true });
  }

  /**
   * Opens a read-only handle on the file of the shared connection `shared`.
   * @throws PlugboardError `db_query/CONFIG_INVALID` for an in-memory database (it has no file
   *   a second handle could open).
   */
  static open(name: string, shared: SqliteDatabase, entry: DatabaseEntry): SqliteQueryRunner {
    if (shared.memory) {
      throw dbQueryErrors.CONFIG_INVALID(
        `databases.${name}: connection "${entry.connection}" is an in-memory SQLite database; db_query needs a file it can open a second time, read-only`,
      );
    }
    const database = new Database(shared.name, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
    database.pragma('query_only = ON');
    return new SqliteQueryRunner(database, entry, name);
  }

  /** The handle queries run on (read-only), for tests of that layer. */
  get handle(): SqliteDatabase {
    return this.database;
  }

  async query(sql: string, params: readonly QueryParam[], signal: AbortSignal): Promise<QueryResult> {
    signal.throwIfAborted();
    if (!startsLikeQuery(sql, SQLITE_COMMENTS)) throw refusedKind(leadingKeyword(sql, SQLITE_COMMENTS));
    const bound = params.map((param) => (typeof param === 'boolean' ? Number(param) : param));
    try {
      const statement = this.database.prepare(sql);
      if (!statement.readonly || !statement.reader) {
        throw dbQueryErrors.WRITE_REFUSED(
          'SQLite says the statement would change the database (or returns no rows); only read-only queries run',
        );
      }
      // One read transaction: the plan is checked against the very snapshot the query reads.
      return this.database.transaction(() => {
        this.#allowList.check(sqliteRelationsRead(this.database, sql, bound));
        return this.#fetch(statement, bound, signal);
      })();
    } catch (error) {
      throw sqliteFailure(error);
    }
  }

  async describe(): Promise<readonly TableDescription[]> {
    const columnsOf = this.database.prepare('SELECT name, type, "notnull", pk FROM pragma_table_info(?, \'main\')');
    return this.entry.tables.map((table) => {
      const name = table.replace(/^main\./i, '');
      const rows = columnsOf.all(name) as { name: string; type: string; notnull: number; pk: number }[];
      return {
        name: table,
        exists: rows.length > 0,
        columns: rows.map((row) => ({
          name: row.name,
          type: row.type,
          nullable: row.notnull === 0 && row.pk === 0,
          primary_key: row.pk > 0,
        })),
      };
    });
  }

  close(): void {
    if (this.database.open) this.database.close();
  }

  #fetch(statement: Database.Statement, params: readonly unknown[], signal: AbortSignal): QueryResult {
    const deadline = performance.now() + this.entry.timeout_ms;
    const columns = statement.columns().map((column) => column.name);
    const rows: JsonValue[][] = [];
    let truncated = false;
    // safeIntegers: a 64-bit integer arrives whole (as a bigint) and becomes a string if it does
    // not fit a double, rather than a silently rounded number.
    for (const row of statement
      .raw(true)
      .safeIntegers(true)
      .iterate(...params) as Iterable<unknown[]>) {
      if (rows.length === this.entry.row_limit) {
        truncated = true;
        break; // leaving the loop finalizes the statement: SQLite computes no more rows
      }
      if (performance.now() > deadline || signal.aborted) throw timeout(this.entry.timeout_ms);
      rows.push(row.map(toJsonValue));
    }
    return { columns, rows, truncated };
  }
}

function refusedKind(keyword: string | undefined): Error {
  const what = keyword === undefined ? 'does not start with a keyword' : `starts with ${keyword}`;
  return dbQueryErrors.WRITE_REFUSED(
    `Only a single read-only query (SELECT, WITH … SELECT, VALUES) may run; this statement ${what}`,
  );
}

function timeout(ms: number): Error {
  return dbQueryErrors.TIMEOUT(`The query ran longer than ${ms} ms and was stopped`);
}

/** A coded error for what better-sqlite3 threw; the database's message is about the query, so the model may read it. */
function sqliteFailure(error: unknown): Error {
  if (isPlugboardError(error)) return error;
  if (error instanceof RangeError && /more than one statement/.test(error.message)) {
    return dbQueryErrors.MULTIPLE_STATEMENTS('The SQL holds more than one statement; send exactly one');
  }
  if (error instanceof Database.SqliteError) {
    if (error.code === 'SQLITE_READONLY' || error.code === 'SQLITE_AUTH') {
      return dbQueryErrors.WRITE_REFUSED(`SQLite refused a write: ${error.message}`);
    }
    if (error.code === 'SQLITE_BUSY' || error.code === 'SQLITE_IOERR' || error.code.startsWith('SQLITE_CANTOPEN')) {
      return dbQueryErrors.UNAVAILABLE(`The database could not be read (${error.code})`);
    }
    return dbQueryErrors.QUERY_FAILED(`SQLite refused the query: ${error.message}`);
  }
  // better-sqlite3's own argument checks (wrong number of parameters, a named parameter missing).
  if (error instanceof RangeError || error instanceof TypeError) {
    return dbQueryErrors.QUERY_FAILED(`The query's parameters do not fit it: ${error.message}`);
  }
  return dbQueryErrors.UNAVAILABLE('The query failed unexpectedly', { cause: error });
}
