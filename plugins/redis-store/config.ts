import { z } from 'zod';
import { MAX_KEY_LENGTH } from '../../src/index.ts';

/**
 * The redis_store plugin's `config`, checked strictly (a misspelt key is an error), like every
 * first-party plugin's.
 */
export const redisStoreConfigSchema = z.strictObject({
  /**
   * The name of a `connections.redis` entry. Required, as rate_limiter's `store.connection` is:
   * there is no implicit connection, and a guessed one would put shared state in the wrong Redis.
   */
  connection: z.string().min(1, { error: 'give the name of a connections.redis entry' }),
  /**
   * Put before every key, after the connection's own `key_prefix` (`plugboard:` by default), so
   * the store's keys stay apart from other users of the same Redis: `plugboard:kv:<key>`.
   * Bounded like a `withPrefix` prefix, which is what it becomes.
   */
  key_prefix: z
    .string()
    .max(MAX_KEY_LENGTH, { error: `expected at most ${MAX_KEY_LENGTH} characters` })
    .default('kv:'),
});

/** The plugin's config as validated, defaults applied. */
export type RedisStoreConfig = z.output<typeof redisStoreConfigSchema>;
