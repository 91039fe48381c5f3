import { type Connections, PlugboardError } from '../../src/index.ts';
import { DEFAULT_SQLITE_FILE, type SqlStoreConfig } from './config.ts';
import { openOwnSqlite, type SqlDatabase, sqliteSynchronous, usePostgres, useSharedSqlite } from './sql-database.ts';

/** What {@link openConfiguredDatabase} reports for the log and the health check. */
export interface OpenedDatabase {
  readonly database: SqlDatabase;
  /** Set when the database is a shared connection whose settings weaken the durability guarantee. */
  readonly warning: string | undefined;
}

/**
 * The database the config names: a shared `connections:` entry (SQLite or PostgreSQL), or the
 * SQLite file the plugin opens itself (`file`, by default ./data/plugboard.db, relative to the
 * working directory).
 *
 * @example
 * ```ts
 * const { database } = openConfiguredDatabase(config.config, call.services.find(connectionsRef));
 * ```
 * @throws PlugboardError `SERVICE_NOT_PROVIDED` when a connection is named but there is no
 *   `connections:` section; `CONNECTION_UNKNOWN` / `CONNECTION_FAILED` from the connections service.
 */
export function openConfiguredDatabase(config: SqlStoreConfig, connections: Connections | undefined): OpenedDatabase {
  const { driver, connection, table_prefix: prefix } = config;
  if (connection === undefined) {
    return { database: openOwnSqlite(config.file ?? DEFAULT_SQLITE_FILE, prefix), warning: undefined };
  }
  if (connections === undefined) {
    throw new PlugboardError(
      'SERVICE_NOT_PROVIDED',
      `sql_store: connection "${connection}" needs the connections: section of the configuration (service plugboard.connections), and there is none`,
    );
  }
  if (driver === 'postgres') {
    return {
      database: usePostgres(connections.postgres(connection), `PostgreSQL connection "${connection}"`, prefix),
      warning: undefined,
    };
  }
  const handle = connections.sqlite(connection);
  const synchronous = sqliteSynchronous(handle);
  return {
    database: useSharedSqlite(handle, connection, prefix),
    // The connection's own setting applies (it is shared): say so when it is below FULL.
    warning:
      synchronous < 2
        ? `SQLite connection "${connection}" has synchronous = ${synchronous === 1 ? 'normal' : 'off'}: the last acknowledged writes may be lost on power loss (set synchronous: full on the connection)`
        : undefined,
  };
}
