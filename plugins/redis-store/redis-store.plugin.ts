/**
 * The redis_store plugin: provides the core's key-value store service (`keyValueStoreRef`) in
 * Redis, through a named connection of the `connections:` section, so that every plugin that
 * consumes it (a response cache, token budgets …) shares its state with every Plugboard
 * instance on that Redis. See README.md.
 */
import {
  type AnyPlugin,
  connectionsRef,
  definePlugin,
  type HealthReport,
  isPlugboardError,
  keyValueStoreRef,
} from '../../src/index.ts';
import { type RedisStoreConfig, redisStoreConfigSchema } from './config.ts';
import { RedisKeyValueStore } from './redis-key-value-store.ts';

/**
 * A fresh redis_store plugin. Each instance (a config reload makes a new one next to the running
 * one) has its own store object over the same shared client, so nothing is lost on a reload:
 * the data is in Redis.
 *
 * @example
 * ```yaml
 * middleware:
 *   redis_store: { config: { connection: cache } }
 * connections:
 *   redis:
 *     cache: { url: "redis://127.0.0.1:6379/0" }
 * ```
 */
export function createRedisStorePlugin(): AnyPlugin<RedisStoreConfig> {
  let store: RedisKeyValueStore | undefined;
  return definePlugin<RedisStoreConfig>({
    metadata: {
      name: 'redis_store',
      version: '1.0.0',
      description: 'Provides the key-value store service in Redis, shared by every Plugboard instance on it',
      configSchema: redisStoreConfigSchema,
      provides: [keyValueStoreRef],
      // Required, not optional: without a Redis connection there is nothing to provide, and the
      // runtime's SERVICE_NOT_PROVIDED says so better than a store that fails every call.
      consumes: [connectionsRef],
    },
    initialize(config, call) {
      const { connection, key_prefix } = config.config;
      // Throws CONNECTION_UNKNOWN (with a did-you-mean) for a name that is not a Redis entry.
      const client = call.services.get(connectionsRef).redis(connection);
      // Redis being down at start does not stop the plugin: calls fail with STORE_FAILED and the
      // health check says why, until it is back (ioredis reconnects on its own).
      store = new RedisKeyValueStore({ client, connection, keyPrefix: key_prefix });
      call.provide(keyValueStoreRef, store);
      call.logger.info({ connection, key_prefix }, 'key-value store in Redis, shared by every instance using it');
    },
    async healthCheck(): Promise<HealthReport> {
      if (store === undefined) return { status: 'unhealthy', message: 'not initialized' };
      const details = { connection: store.connection };
      try {
        const latencyMs = await store.ping();
        return { status: 'healthy', details: { ...details, latency_ms: Math.round(latencyMs * 100) / 100 } };
      } catch (error) {
        // Every consumer's calls fail while Redis does not answer: the store is down, not degraded.
        const message = isPlugboardError(error) ? error.message : String(error);
        return { status: 'unhealthy', message, details };
      }
    },
    shutdown() {
      // Only our listeners: the client is shared, and the connections service closes it.
      store?.close();
    },
  });
}

export default createRedisStorePlugin;
