/**
 * The first-party plugins of issue #12 as `bench:pipeline` runs them, each alone over the
 * 0-plugin pipeline: content_filter with its default categories, auth with one key (the
 * request carries it), rate_limiter in memory with a limit the run never reaches, and logging
 * to the (silent) log, token_counter with its defaults (the scripted backend reports usage, so no
 * estimate), and cache in memory answering every request after the first (a hit). What these rows do not show, their own benchmarks measure: the pipeline
 * benchmark's text is the content filter's cheap case (no digits; the reply has no whitespace,
 * so it is held whole and scanned once) — bench:content-filter-pipeline has realistic text;
 * logging writes its record after the response, outside the measured time — bench:logging
 * counts it; the rate limiter with Redis — bench:rate-limiter.
 */
import type { ChatContext, PluginSettings } from '../src/index.ts';

export interface FirstPartyBench {
  readonly name: string;
  readonly entry: readonly [unknown, PluginSettings];
  /** What the request must carry for the plugin to let it through (auth's key). */
  readonly request: Partial<Pick<ChatContext, 'client'>>;
}

export async function firstPartyPlugins(): Promise<readonly FirstPartyBench[]> {
  const [contentFilter, auth, keys, rateLimiter, logging, tokenCounter, cache] = await Promise.all([
    import('../plugins/content-filter/content-filter.plugin.ts'),
    import('../plugins/auth/auth.plugin.ts'),
    import('../plugins/auth/key-hash.ts'),
    import('../plugins/rate-limiter/rate-limiter.plugin.ts'),
    import('../plugins/logging/logging.plugin.ts'),
    import('../plugins/token-counter/token-counter.plugin.ts'),
    import('../plugins/cache/cache.plugin.ts'),
  ]);
  const key = keys.generateKey();
  return [
    { name: 'content_filter', entry: [contentFilter.default, {}], request: {} },
    {
      name: 'auth',
      entry: [auth.default, { config: { keys: [{ id: 'bench', hash: keys.hashKey(key), scopes: ['chat'] }] } }],
      request: { client: { address: '127.0.0.1', headers: { authorization: `Bearer ${key}` } } },
    },
    {
      name: 'rate_limiter',
      entry: [rateLimiter.default, { config: { limits: [{ key: 'ip', requests: 1_000_000_000, per_seconds: 60 }] } }],
      request: { client: { address: '127.0.0.1' } },
    },
    { name: 'logging', entry: [logging.default, {}], request: {} },
    { name: 'token_counter', entry: [tokenCounter.default, {}], request: {} },
    // The benchmark sends one request again and again: after the first, every one is a hit
    // (cache_sampled, since it sets no temperature), answered without the backend.
    { name: 'cache', entry: [cache.default, { config: { cache_sampled: true } }], request: {} },
  ];
}
