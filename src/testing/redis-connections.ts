import type { Redis } from 'ioredis';
import { definePlugin } from '../authoring/define.ts';
import type { Connections } from '../connections/connections.ts';
import { connectionsRef } from '../connections/connections-plugin.ts';
import type { AnyPlugin } from '../core/plugin/kinds.ts';

/**
 * A plugin that provides `connectionsRef` over one ioredis client you made, as the runtime does
 * for a `connections.redis` entry: every Redis name resolves to that client, and PostgreSQL or
 * SQLite connections are refused. For tests and benchmarks of plugins that share Redis,
 * started with `startManager` or `startTestServer` without a configuration file.
 *
 * @example
 * ```ts
 * const client = new Redis('redis://127.0.0.1:6379/0', { keyPrefix: `test-${randomUUID()}:` });
 * const manager = await startManager([backend, createRedisConnections(client), [limiter, { config }]]);
 * ```
 */
export function createRedisConnections(client: Redis, name = 'default'): AnyPlugin {
  const connections: Connections = {
    redis: () => client,
    postgres: () => {
      throw new Error('createRedisConnections provides Redis only, not PostgreSQL');
    },
    sqlite: () => {
      throw new Error('createRedisConnections provides Redis only, not SQLite');
    },
    names: () => [{ name, kind: 'redis' }],
  };
  return definePlugin({
    metadata: { name: 'connections', version: '1.0.0', provides: [connectionsRef] },
    initialize: (_config, call) => call.provide(connectionsRef, connections),
  });
}
