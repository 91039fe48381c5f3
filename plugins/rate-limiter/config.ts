import { z } from 'zod';
import { OPERATIONS } from '../../src/index.ts';

/**
 * The rate_limiter plugin's `config`, checked strictly (a misspelt key is an error). A number
 * written as `${VAR}` in YAML is coerced by the configuration loader before this schema sees it.
 */

const whole = (min: number, max: number) => z.number().int().min(min).max(max);

/** What a limit counts per: see keys.ts for how each kind is derived from the request. */
export const KEY_KINDS = ['principal', 'ip', 'model', 'principal_model', 'global'] as const;
export type KeyKind = (typeof KEY_KINDS)[number];

/** One limit: `requests` and/or `tokens` per window of `per_seconds`, for one key kind. */
export const limitSchema = z
  .strictObject({
    /** Names the limit in messages and in the store's keys; derived from the definition when absent. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: 'expected 1–64 letters, digits, ".", "_" or "-"' })
      .optional(),
    key: z.enum(KEY_KINDS, { error: `expected one of ${KEY_KINDS.join(', ')}` }),
    requests: whole(1, 1_000_000_000).optional(),
    tokens: whole(1, 1_000_000_000_000).optional(),
    // Whole seconds: Redis expiries are set in seconds, so a fraction would be cut off there.
    per_seconds: whole(1, 31_536_000),
    operations: z
      .array(z.enum(OPERATIONS, { error: `expected one of ${OPERATIONS.join(', ')}` }))
      .min(1)
      .optional(),
  })
  .refine((limit) => limit.requests !== undefined || limit.tokens !== undefined, {
    error: 'give requests, tokens or both',
    path: ['requests'],
  });

/** The in-memory store: one process only. */
export const memoryStoreSchema = z.strictObject({ type: z.literal('memory') });

/** A Redis store through a named connection of the `connections:` section: shared by every instance. */
export const redisStoreSchema = z.strictObject({
  type: z.literal('redis'),
  connection: z.string().min(1),
  /** Added after the connection's own key_prefix. */
  key_prefix: z.string().default('rate_limiter:'),
});

export const storeSchema = z.discriminatedUnion('type', [memoryStoreSchema, redisStoreSchema], {
  error: 'expected store.type: memory or redis',
});

/** The zod schema of the plugin's `config`. */
export const rateLimiterConfigSchema = z
  .strictObject({
    limits: z.array(limitSchema).min(1, { error: 'give at least one limit' }),
    store: storeSchema.default({ type: 'memory' }),
    on_store_error: z.enum(['open', 'closed']).default('open'),
    ip_header: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, { error: 'expected an HTTP header name' })
      .transform((name) => name.toLowerCase())
      .optional(),
  })
  .refine((config) => new Set(config.limits.map(limitName)).size === config.limits.length, {
    error: 'two limits have the same name (or the same definition): give them distinct `name`s',
    path: ['limits'],
  });

/** The plugin's config as validated, defaults applied. */
export type RateLimiterConfig = z.output<typeof rateLimiterConfigSchema>;
/** One `limits:` entry. */
export type LimitConfig = RateLimiterConfig['limits'][number];
/** The `store:` section. */
export type StoreConfig = RateLimiterConfig['store'];

/**
 * A limit's name: its own, or one derived from what it counts, so that every instance with
 * the same config shares the same Redis counters, and a changed limit starts fresh ones.
 */
export function limitName(limit: z.output<typeof limitSchema>): string {
  if (limit.name !== undefined) return limit.name;
  const parts: string[] = [limit.key];
  if (limit.requests !== undefined) parts.push(`${limit.requests}r`);
  if (limit.tokens !== undefined) parts.push(`${limit.tokens}t`);
  parts.push(`${limit.per_seconds}s`);
  if (limit.operations !== undefined) parts.push([...limit.operations].sort().join('+'));
  return parts.join('-');
}
