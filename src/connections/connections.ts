import type BetterSqlite3 from 'better-sqlite3';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { ConnectionKind } from './schema.ts';

export type { ConnectionKind } from './schema.ts';

/** A better-sqlite3 database handle. */
export type SqliteDatabase = BetterSqlite3.Database;

/** One configured connection: its name (unique across kinds) and its kind. */
export interface ConnectionName {
  readonly name: string;
  readonly kind: ConnectionKind;
}

/**
 * The shared connections of the `connections:` configuration section, as plugins see them.
 *
 * Every caller asking for the same name gets the very same client: one Redis client, one
 * PostgreSQL pool, one SQLite handle per configured connection. Plugins use them and never
 * close them; the runtime health-checks and closes them.
 *
 * A name that is not configured for that kind throws `CONNECTION_UNKNOWN` (the message lists
 * the connections there are and suggests the closest name); a connection that cannot be opened,
 * or is used after the runtime closed it, throws `CONNECTION_FAILED`.
 *
 * @example
 * ```ts
 * const redis = connections.redis('cache');
 * await redis.set('greeting', 'hello', 'EX', 60); // stored under key_prefix + 'greeting'
 * const { rows } = await connections.postgres('shared').query('SELECT now()');
 * connections.sqlite('local').prepare('CREATE TABLE IF NOT EXISTS notes (body TEXT)').run();
 * ```
 */
export interface Connections {
  /** The shared ioredis client of the `connections.redis.<name>` entry. */
  redis(name: string): Redis;
  /** The shared pg pool of the `connections.postgres.<name>` entry. */
  postgres(name: string): Pool;
  /** The shared better-sqlite3 database of the `connections.sqlite.<name>` entry. */
  sqlite(name: string): SqliteDatabase;
  /** Every configured connection (used or not), redis first, then postgres, then sqlite. */
  names(): readonly ConnectionName[];
}
