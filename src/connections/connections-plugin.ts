import type { AnyPlugin } from '../core/plugin/kinds.ts';
import { createServiceRef } from '../core/services/service-ref.ts';
import type { ConnectionRegistry } from './connection-registry.ts';
import type { Connections } from './connections.ts';

/**
 * The shared connections service: the Redis, PostgreSQL and SQLite connections named in the
 * configuration's `connections:` section, one client per name for every plugin.
 *
 * @example
 * ```ts
 * defineMiddleware({
 *   metadata: { name: 'hits', version: '1.0.0', consumes: [connectionsRef] },
 *   initialize(config, call) {
 *     this.redis = call.services.get(connectionsRef).redis(config.config.connection);
 *   },
 *   processRequest: async (context) => { await this.redis.incr('hits'); return context; },
 * });
 * ```
 */
export const connectionsRef = createServiceRef<Connections>({
  id: 'plugboard.connections',
  description: 'The Redis, PostgreSQL and SQLite connections named under `connections:` in the configuration',
  members: ['redis', 'postgres', 'sqlite', 'names'],
});

/** The name of the built-in plugin that provides {@link connectionsRef}. */
export const CONNECTIONS_PLUGIN = 'connections';

/**
 * The built-in plugin that provides the shared connections: started before every plugin that
 * consumes them, stopped after the last of them (it then closes every client), and one health
 * check for all of them (each connection in use answers a ping, bounded in time).
 */
export function createConnectionsPlugin(registry: ConnectionRegistry): AnyPlugin {
  return {
    metadata: {
      name: CONNECTIONS_PLUGIN,
      version: '1.0.0',
      description: 'Shared Redis, PostgreSQL and SQLite connections (the connections: section)',
      provides: [connectionsRef],
    },
    initialize: (_config, call) => call.provide(connectionsRef, registry),
    healthCheck: async () => {
      const health = await registry.healthCheck();
      return { status: health.status, details: health.details };
    },
    shutdown: () => registry.close(),
  };
}
