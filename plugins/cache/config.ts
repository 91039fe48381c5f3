import { z } from 'zod';

/**
 * The cache plugin's `config`, checked strictly (a misspelt key is an error). Keys are
 * snake_case like the rest of the configuration file. A number or boolean written as a whole
 * `${VAR}` reference is coerced by the configuration loader before this schema sees it.
 */

/** Where entries live: this process's memory (lru-cache), or the key-value store service (Redis with `redis_store`). */
export const STORES = ['memory', 'shared'] as const;
export type StoreKind = (typeof STORES)[number];

const whole = (min: number, max: number) => z.number().int().min(min).max(max);

/** The largest `max_entry_bytes` accepted: a bound, so that a slip of the keyboard cannot let one entry fill the heap. */
const MAX_ENTRY_LIMIT = 16 * 1024 * 1024;

/** The zod schema of the plugin's `config`. */
export const cacheConfigSchema = z
  .strictObject({
    store: z.enum(STORES, { error: `expected one of ${STORES.join(', ')}` }).default('memory'),
    ttl_seconds: whole(1, 31_536_000).default(3600),
    max_entry_bytes: whole(64, MAX_ENTRY_LIMIT).default(256 * 1024),
    memory_max_bytes: whole(1024, 64 * 1024 * 1024 * 1024).default(64 * 1024 * 1024),
    per_principal: z.boolean().default(true),
    cache_sampled: z.boolean().default(false),
    cache_truncated: z.boolean().default(false),
    key_metadata: z
      .array(z.string().regex(/^[A-Za-z_$][\w$]*$/, { error: 'expected a metadata key such as thinkLevel' }))
      .default(['thinkLevel']),
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, { error: 'expected an HTTP header name' })
      .transform((name) => name.toLowerCase())
      .default('x-plugboard-cache'),
    honor_cache_control: z.boolean().default(true),
    key_prefix: z.string().min(1).max(256).default('cache:'),
    lookup_timeout_ms: whole(1, 60_000).default(200),
  })
  .refine((config) => config.max_entry_bytes <= config.memory_max_bytes, {
    error: 'max_entry_bytes is larger than memory_max_bytes: no entry could ever be kept',
    path: ['max_entry_bytes'],
  });

/** The plugin's config as validated, defaults applied. */
export type CacheConfig = z.output<typeof cacheConfigSchema>;
