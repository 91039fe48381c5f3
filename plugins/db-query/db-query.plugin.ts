/**
 * The db_query plugin: gives the model read-only SQL over named SQLite and PostgreSQL
 * connections of the `connections:` section, as two tools in the tool registry — `db_query`
 * (one parameterised SELECT on an allowed set of tables, a row limit, a timeout) and
 * `db_schema` (the columns of those tables). The `tools` extension runs them. See README.md.
 */
import {
  type AnyPlugin,
  type Connections,
  connectionsRef,
  definePlugin,
  type Logger,
  toolRegistryRef,
} from '../../src/index.ts';
import { type DatabaseEntry, type DbQueryConfig, dbQueryConfigSchema } from './config.ts';
import type { DatabaseRunner } from './database-runner.ts';
import { dbQueryErrors } from './errors.ts';
import { PostgresQueryRunner } from './postgres-query-runner.ts';
import { createQueryTools, type QueryableDatabase } from './query-tools.ts';
import { SqliteQueryRunner } from './sqlite-query-runner.ts';

/** The plugin's name, and the owner of its tools in the registry. */
export const DB_QUERY_PLUGIN = 'db_query';

/**
 * A fresh db_query plugin. Each instance opens its own read-only SQLite handles (closed at
 * shutdown) and registers its tools; a reload's new instance replaces them.
 *
 * @example
 * ```yaml
 * features:
 *   db_query:
 *     config:
 *       databases:
 *         shop: { connection: main, tables: [orders, customers], description: "The web shop's orders" }
 * connections:
 *   postgres:
 *     main: { url: "postgres://reader@127.0.0.1:5432/shop" }
 * ```
 */
export function createDbQueryPlugin(): AnyPlugin<DbQueryConfig> {
  let databases: QueryableDatabase[] = [];
  let unregister: (() => void) | undefined;
  return definePlugin<DbQueryConfig>({
    metadata: {
      name: DB_QUERY_PLUGIN,
      version: '1.0.0',
      description: 'Read-only SQL tools (db_query, db_schema) over named SQLite and PostgreSQL connections',
      configSchema: dbQueryConfigSchema,
      consumes: [toolRegistryRef, connectionsRef],
      errors: dbQueryErrors,
    },
    async initialize(config, call) {
      const connections = call.services.get(connectionsRef);
      try {
        for (const [name, entry] of Object.entries(config.config.databases)) {
          const runner = openRunner(name, entry, connections, call.logger);
          databases.push({ name, entry, runner });
          if (runner instanceof PostgresQueryRunner && (await runner.runsAsSuperuser()) === true) {
            call.logger.warn(
              { database: name, connection: entry.connection },
              `db_query: database "${name}" runs as a superuser: functions (pg_read_file …) are not limited by the table list; set role: to a role with SELECT on the listed tables only`,
            );
          }
        }
        unregister = call.services.get(toolRegistryRef).register(DB_QUERY_PLUGIN, createQueryTools(databases));
      } catch (error) {
        closeAll(databases);
        databases = [];
        throw error;
      }
      call.logger.info(
        { databases: databases.map(({ name, runner }) => `${name} (${runner.dialect})`) },
        'db_query tools registered',
      );
    },
    shutdown() {
      unregister?.();
      unregister = undefined;
      closeAll(databases);
      databases = [];
    },
  });
}

/**
 * The runner of one entry, by the kind of its connection.
 * @throws PlugboardError `db_query/CONFIG_INVALID` for a connection that is not a configured
 *   SQLite or PostgreSQL one (or is an in-memory SQLite database).
 */
function openRunner(name: string, entry: DatabaseEntry, connections: Connections, logger: Logger): DatabaseRunner {
  const configured = connections.names();
  const kind = configured.find((connection) => connection.name === entry.connection)?.kind;
  if (kind === 'sqlite') return SqliteQueryRunner.open(name, connections.sqlite(entry.connection), entry);
  if (kind === 'postgres') return new PostgresQueryRunner(name, connections.postgres(entry.connection), entry, logger);
  const usable = configured.filter((connection) => connection.kind !== 'redis').map((connection) => connection.name);
  const list =
    usable.length > 0
      ? `the SQLite and PostgreSQL connections are: ${usable.join(', ')}`
      : 'no SQLite or PostgreSQL connection is configured under connections:';
  throw dbQueryErrors.CONFIG_INVALID(
    kind === 'redis'
      ? `databases.${name}: connection "${entry.connection}" is a Redis connection; ${list}`
      : `databases.${name}: there is no connection named "${entry.connection}"; ${list}`,
  );
}

function closeAll(databases: readonly QueryableDatabase[]): void {
  for (const { runner } of databases) runner.close();
}

export default createDbQueryPlugin;
