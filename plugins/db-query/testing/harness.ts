import assert from 'node:assert/strict';
import { ConnectionRegistry } from '../../../src/connections/connection-registry.ts';
import { createConnectionsPlugin } from '../../../src/connections/connections-plugin.ts';
import { type ConnectionsInput, connectionsSchema } from '../../../src/connections/schema.ts';
import type { PluginManager } from '../../../src/core/manager/plugin-manager.ts';
import { createSilentLogger, type Logger, type RegisteredTool, toolRegistryRef } from '../../../src/index.ts';
import { startManager } from '../../../src/testing/index.ts';
import { createDbQueryPlugin } from '../db-query.plugin.ts';

/** A running PluginManager with the connections service and db_query loaded, and its tools. */
export interface DbQueryHarness {
  readonly manager: PluginManager;
  /** The registered tool of that name (fails the test when it is missing). */
  tool(name: string): RegisteredTool;
  /** Runs `db_query` with these arguments, as the tool loop would. */
  query(args: Record<string, unknown>): Promise<unknown>;
  /** Runs `db_schema`. */
  schema(args?: Record<string, unknown>): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Starts the real manager with a real connections registry (`connections`, relative to `cwd`)
 * and db_query configured with `config`.
 *
 * @example
 * ```ts
 * const harness = await startDbQuery({ data_dir: dir, sqlite: { app: { file: 'app.db' } } }, { databases: { app: { connection: 'app', tables: ['notes'] } } });
 * await harness.query({ database: 'app', sql: 'SELECT * FROM notes' });
 * ```
 */
export async function startDbQuery(
  connections: ConnectionsInput,
  config: unknown,
  logger: Logger = createSilentLogger(),
): Promise<DbQueryHarness> {
  const registry = new ConnectionRegistry(connectionsSchema.parse(connections), { logger });
  const manager = await startManager([createConnectionsPlugin(registry), [createDbQueryPlugin(), { config }]], {
    logger,
  });
  const tool = (name: string): RegisteredTool => {
    const found = manager.defaultService(toolRegistryRef)?.get(name);
    assert.ok(found, `the tool ${name} is registered`);
    return found;
  };
  const invocation = () => ({ requestId: 'test-request', signal: new AbortController().signal });
  return {
    manager,
    tool,
    query: async (args) => tool('db_query').run(args, invocation()),
    schema: async (args = {}) => tool('db_schema').run(args, invocation()),
    close: () => manager.shutdown(),
  };
}

/** Asserts that `promise` rejects with the PlugboardError `code`, whose message matches `message`. */
export async function assertRefused(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: { code?: unknown; message?: unknown; status?: unknown }) => {
    assert.equal(error.code, code, `expected ${code}, got ${String(error.code)}: ${String(error.message)}`);
    assert.ok(typeof error.status === 'number' && error.status >= 400 && error.status < 500, `${code} is a 4xx`);
    if (message !== undefined) assert.match(String(error.message), message);
    return true;
  });
}
