/**
 * The database the sql_store plugin works in: a kysely instance over SQLite (better-sqlite3) or
 * PostgreSQL (pg), with what differs between the two (timestamps, case-insensitive matching,
 * row locks) behind a few small functions, so that the stores are written once.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, type RawBuilder, SqliteDialect, sql } from 'kysely';
import type pg from 'pg';
import * as sqliteVec from 'sqlite-vec';
import type { SqliteDatabase } from '../../src/connections/connections.ts';

export type SqlDialectName = 'sqlite' | 'postgres';

/** SQLite: how long a write waits for another process's lock before SQLITE_BUSY (ms). */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;

/** Tables of the schema; kysely is used through `sql` templates, so rows are typed per query. */
export type Tables = Record<string, never>;

/**
 * An open database and what the stores need to know about it.
 *
 * @example
 * ```ts
 * const database = openOwnSqlite('./data/plugboard.db', 'plugboard_');
 * await migrate(database);
 * const store = new SqlConversationStore(database);
 * ```
 */
export interface SqlDatabase {
  readonly dialect: SqlDialectName;
  readonly db: Kysely<Tables>;
  /** Put before every table name. */
  readonly prefix: string;
  /** For messages and the health check: `SQLite file /…/plugboard.db`, `PostgreSQL connection "shared"`. */
  readonly description: string;
  /** PostgreSQL only: the server has pgvector installed in this database (checked at open). */
  pgvector: boolean;
  /** Ends kysely; closes the SQLite file or pg pool only if the plugin opened it itself. */
  close(): Promise<void>;
}

/** `prefix + name` as a quoted table identifier. */
export function table(database: SqlDatabase, name: string): RawBuilder<unknown> {
  return sql.table(`${database.prefix}${name}`);
}

/** A time as the column type wants it: ISO text on SQLite (sortable as text), a Date on PostgreSQL (timestamptz). */
export function timestamp(database: SqlDatabase, ms: number): Date | string {
  const date = new Date(ms);
  return database.dialect === 'sqlite' ? date.toISOString() : date;
}

/** A timestamp column read back: SQLite returns the ISO text we wrote, pg a Date. */
export function toDate(value: unknown): Date {
  const date = value instanceof Date ? new Date(value.getTime()) : new Date(String(value));
  if (Number.isNaN(date.getTime())) throw new Error(`a timestamp column holds ${JSON.stringify(value)}`);
  return date;
}

/** A count or bigint column as a number (pg returns int8 as a string). */
export function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

/**
 * `FOR UPDATE` on PostgreSQL (lock the rows read, until commit); nothing on SQLite, where the
 * transaction already holds the database's write lock (BEGIN IMMEDIATE, see below).
 */
export function forUpdate(database: SqlDatabase): RawBuilder<unknown> {
  return database.dialect === 'postgres' ? sql` for update` : sql``;
}

/** `%`, `_` and the escape character itself taken literally in a LIKE pattern (escape `\`). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

/**
 * True when `column` contains `needle`, ignoring case, `%` and `_` literal. PostgreSQL: ILIKE
 * (case folding by the database's locale). SQLite: its LIKE folds ASCII only, so both sides go
 * through `plugboard_lower` (JavaScript's toLowerCase, registered on the connection), which is
 * what the in-memory store compares with.
 */
export function containsIgnoringCase(database: SqlDatabase, column: RawBuilder<unknown>, needle: string) {
  const pattern = `%${escapeLike(needle.toLowerCase())}%`;
  return database.dialect === 'postgres'
    ? sql`${column} ilike ${pattern} escape '\\'`
    : sql`plugboard_lower(${column}) like ${pattern} escape '\\'`;
}

/**
 * Opens (creating its folder) the SQLite file the plugin owns: WAL, `synchronous = FULL`,
 * busy timeout. FULL, not NORMAL: in WAL mode NORMAL does not sync the log at each commit, so
 * the last transactions acknowledged before a power loss (or an OS crash) may be lost; FULL
 * syncs the WAL on every commit, which is what "a message acknowledged is on disk" needs.
 */
export function openOwnSqlite(file: string, prefix: string): SqlDatabase {
  const location = path.resolve(file);
  let entry = ownFiles.get(location);
  if (entry === undefined) {
    fs.mkdirSync(path.dirname(location), { recursive: true });
    const handle = new Database(location, { timeout: SQLITE_BUSY_TIMEOUT_MS });
    try {
      handle.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
      const journal = String(handle.pragma('journal_mode = WAL', { simple: true })).toLowerCase();
      if (journal !== 'wal') throw new Error(`WAL journaling is not available here (journal_mode is ${journal})`);
      handle.pragma('synchronous = FULL');
      handle.pragma('foreign_keys = ON');
    } catch (error) {
      handle.close();
      throw error;
    }
    entry = { handle, users: 0 };
    ownFiles.set(location, entry);
  }
  entry.users++;
  const opened = entry;
  return wrapSqlite(opened.handle, prefix, `SQLite file ${location}`, () => {
    if (--opened.users > 0) return;
    ownFiles.delete(location);
    opened.handle.close();
  });
}

/**
 * One handle per file, and one kysely per handle, in this process. Why: better-sqlite3 waits for
 * a lock synchronously, so a second connection of the same process waiting for the first one's
 * write lock would block the very thread that must finish the first one's transaction (until
 * busy_timeout, then SQLITE_BUSY); and two kysely instances on one handle would interleave their
 * transactions' statements. Sharing both serialises every transaction of the process on the
 * file behind kysely's connection mutex (a config reload runs two plugin instances at once).
 */
const ownFiles = new Map<string, { readonly handle: SqliteDatabase; users: number }>();
const kyselyByHandle = new WeakMap<SqliteDatabase, { readonly db: Kysely<Tables>; users: number }>();

/**
 * A shared SQLite connection of the `connections:` section (the connections service set WAL and
 * its `synchronous`; it closes the handle, we never do).
 */
export function useSharedSqlite(handle: SqliteDatabase, name: string, prefix: string): SqlDatabase {
  return wrapSqlite(handle, prefix, `SQLite connection "${name}"`, () => {});
}

/** The `synchronous` setting of a SQLite handle: 2 is FULL, 3 EXTRA; 1 NORMAL; 0 OFF. */
export function sqliteSynchronous(handle: SqliteDatabase): number {
  return Number(handle.pragma('synchronous', { simple: true }));
}

function wrapSqlite(handle: SqliteDatabase, prefix: string, description: string, release: () => void) {
  let shared = kyselyByHandle.get(handle);
  if (shared === undefined) {
    shared = { db: new Kysely<Tables>({ dialect: sqliteDialect(handle) }), users: 0 };
    kyselyByHandle.set(handle, shared);
  }
  shared.users++;
  const used = shared;
  let closed = false;
  return {
    dialect: 'sqlite',
    db: used.db,
    prefix,
    description,
    pgvector: false,
    async close() {
      if (closed) return;
      closed = true;
      if (--used.users === 0) {
        kyselyByHandle.delete(handle);
        await used.db.destroy();
      }
      release();
    },
  } satisfies SqlDatabase;
}

function sqliteDialect(handle: SqliteDatabase): SqliteDialect {
  // sqlite-vec: vec_distance_cosine over float32 blobs, for exact vector ranking.
  sqliteVec.load(handle);
  // Case folding for search (see containsIgnoringCase): deterministic, so SQLite may cache it.
  handle.function('plugboard_lower', { deterministic: true }, (value: unknown) =>
    typeof value === 'string' ? value.toLowerCase() : value,
  );
  return new SqliteDialect({
    database: {
      // kysely opens its transactions with a plain (deferred) BEGIN. A deferred transaction that
      // reads, then writes, gets SQLITE_BUSY at once (busy_timeout does not apply) when another
      // process wrote in between; BEGIN IMMEDIATE takes the write lock first, waiting for it.
      prepare: (text: string) => handle.prepare(text.trim().toLowerCase() === 'begin' ? 'begin immediate' : text),
      // kysely's destroy() closes its database: the handle is closed by its owner instead.
      close: () => {},
    },
  });
}

/**
 * A PostgreSQL pool: the shared one of a `connections.postgres` entry (never ended by us), or
 * one the caller owns (`ownPool`, ended on close: tests and scripts).
 */
export function usePostgres(pool: pg.Pool, description: string, prefix: string, ownPool = false): SqlDatabase {
  const dialect = new PostgresDialect({
    pool: {
      connect: () => pool.connect(),
      // kysely's destroy() ends its pool: a shared pool is ended by the connections service.
      end: async () => {},
    },
  });
  const db = new Kysely<Tables>({ dialect });
  return {
    dialect: 'postgres',
    db,
    prefix,
    description,
    pgvector: false,
    async close() {
      await db.destroy();
      if (ownPool) await pool.end();
    },
  };
}
