/**
 * The sql_store plugin: provides the core's conversation store (`conversationStoreRef`) and
 * search index (`searchIndexRef`) in SQL: an embedded SQLite file by default (zero set-up), or
 * a shared PostgreSQL for several Plugboard instances, one schema for both through kysely and
 * its migrator. See README.md.
 */
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import {
  type AnyPlugin,
  connectionsRef,
  conversationStoreRef,
  definePlugin,
  type HealthReport,
  isPlugboardError,
  optionalService,
  searchIndexRef,
} from '../../src/index.ts';
import { PROVIDABLE, type SqlStoreConfig, sqlStoreConfigSchema } from './config.ts';
import { migrate } from './migrations.ts';
import { openConfiguredDatabase } from './open-database.ts';
import { detectPgvector } from './pgvector.ts';
import { SqlConversationStore } from './sql-conversation-store.ts';
import type { SqlDatabase } from './sql-database.ts';
import { SqlSearchIndex } from './sql-search-index.ts';

/**
 * A fresh sql_store plugin. Each instance (a config reload makes a new one next to the running
 * one) opens its own kysely instance; the data is in the database, so nothing is lost.
 *
 * @example
 * ```yaml
 * middleware:
 *   sql_store: {}                      # SQLite in ./data/plugboard.db
 * # or, shared by several instances:
 * middleware:
 *   sql_store: { config: { driver: postgres, connection: shared } }
 * connections:
 *   postgres:
 *     shared: { url: "postgres://postgres@127.0.0.1:5432/plugboard" }
 * ```
 */
export function createSqlStorePlugin(): AnyPlugin<SqlStoreConfig> {
  let database: SqlDatabase | undefined;
  let details: Record<string, unknown> = {};
  return definePlugin<SqlStoreConfig>({
    metadata: {
      name: 'sql_store',
      version: '1.0.0',
      description: 'Provides the conversation store and search index in SQLite (default) or PostgreSQL',
      configSchema: sqlStoreConfigSchema,
      // Both, always: the runtime reads `provides` before any config is known, and a declared
      // service must be provided. What `provide` leaves out is the core's in-memory default.
      provides: [conversationStoreRef, searchIndexRef],
      // Optional: the default SQLite file needs no connections: section.
      consumes: [optionalService(connectionsRef)],
    },
    async initialize(config, call) {
      const settings = config.config;
      const opened = openConfiguredDatabase(settings, call.services.find(connectionsRef));
      const own = opened.database;
      try {
        await migrate(own);
        own.pgvector = await detectPgvector(own);
      } catch (error) {
        await own.close();
        throw error;
      }
      database = own;
      if (opened.warning !== undefined) call.logger.warn({ connection: settings.connection }, opened.warning);
      const provided = settings.provide;
      const left = PROVIDABLE.filter((name) => !provided.includes(name));
      call.provide(
        conversationStoreRef,
        provided.includes('conversations') ? new SqlConversationStore(own) : conversationStoreRef.defaultFactory!(),
      );
      call.provide(
        searchIndexRef,
        provided.includes('search') ? new SqlSearchIndex(own) : searchIndexRef.defaultFactory!(),
      );
      if (left.length > 0) {
        call.logger.warn(
          { provide: provided, in_memory: left },
          `sql_store keeps only ${provided.join(', ')}: its consumers of ${left.join(', ')} get the in-memory default (lost on restart); to use another plugin's, name it in their services:`,
        );
      }
      details = {
        driver: settings.driver,
        database: own.description,
        table_prefix: settings.table_prefix,
        provides: [...provided],
        ...(own.dialect === 'postgres' ? { pgvector: own.pgvector } : {}),
      };
      call.logger.info(details, `conversation store and search index in ${own.description}`);
    },
    async healthCheck(): Promise<HealthReport> {
      if (database === undefined) return { status: 'unhealthy', message: 'not initialized' };
      const started = performance.now();
      try {
        // On PostgreSQL this takes a client from the pool: it answers, or the health says why.
        await sql`select 1`.execute(database.db);
        const latencyMs = Math.round((performance.now() - started) * 100) / 100;
        return { status: 'healthy', details: { ...details, latency_ms: latencyMs } };
      } catch (error) {
        const reason = isPlugboardError(error) || error instanceof Error ? error.message : String(error);
        return { status: 'unhealthy', message: `${database.description} does not answer: ${reason}`, details };
      }
    },
    async shutdown() {
      // Closes only what the plugin opened: kysely, and its own SQLite file (never a shared connection).
      await database?.close();
      database = undefined;
    },
  });
}

export default createSqlStorePlugin;
