/**
 * What the cache middleware costs and saves per request, through the manager with the
 * scripted backend (no model: the backend answers in microseconds, so this measures the
 * cache's own work, not the time a real model saves). Sequential chats, after a warm-up; the
 * variants take turns for ROUNDS rounds and each keeps its best:
 * - no cache: the baseline;
 * - miss: every request new (hash, lookup, raw reply kept, entry stored);
 * - hit: the same request again (hash, lookup, answer through the output chain, no backend);
 * each whole and streamed, with the memory store, with `store: shared` on the in-memory
 * key-value store (the asynchronous path, without the network), and with `store: shared` on
 * Redis through redis_store (127.0.0.1:6379, or REDIS_URL; skipped when unreachable; its keys
 * are deleted at the end). Prints µs per request; asserts nothing, writes no results file.
 * BENCH_QUICK=1 runs fewer requests.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createCachePlugin } from '../plugins/cache/cache.plugin.ts';
import { createRedisStorePlugin } from '../plugins/redis-store/redis-store.plugin.ts';
import { type ChatContext, type PluginManager, updateContext } from '../src/index.ts';
import { chatRequest, createRedisConnections, createScriptedBackend, startManager } from '../src/testing/index.ts';
import { machine } from './report.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const REQUESTS = QUICK ? 500 : 5_000;
const WARMUP = QUICK ? 100 : 1_000;
const ROUNDS = QUICK ? 1 : 5;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const REDIS_PREFIX = `plugboard-bench-cache-${randomUUID()}:`;
const REPLY = 'A GGUF file holds a model’s weights and metadata in one file that llama.cpp maps into memory. '.repeat(
  4,
);

/** Deterministic requests; `unique` gives each its own text (a miss every time). */
function requests(unique: boolean, stream: boolean): () => ChatContext {
  let index = 0;
  const fixed = chatRequest('What is a GGUF file?', { options: { temperature: 0 }, stream });
  return () =>
    unique
      ? chatRequest(`What is a GGUF file? (${index++})`, { options: { temperature: 0 }, stream })
      : updateContext(fixed, { requestId: `r-${index++}` });
}

async function send(manager: PluginManager, context: ChatContext): Promise<void> {
  if (!context.stream) {
    await manager.chat(context);
    return;
  }
  const stream = manager.stream(context);
  for await (const _ of stream) {
    // drain
  }
  await stream.response;
}

/** One variant: a manager and the requests it is sent. */
interface Variant {
  readonly mode: 'whole' | 'streamed';
  readonly name: string;
  readonly manager: PluginManager;
  readonly next: () => ChatContext;
  best: number;
}

async function redisClient(): Promise<Redis | undefined> {
  const client = new Redis(REDIS_URL, { keyPrefix: REDIS_PREFIX, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    await client.ping();
    return client;
  } catch {
    client.disconnect();
    return undefined;
  }
}

async function variant(
  mode: Variant['mode'],
  name: string,
  cache: Record<string, unknown> | undefined,
  unique: boolean,
  redis?: Redis,
): Promise<Variant> {
  const backend = createScriptedBackend({ recordCalls: false, reply: REPLY, chunking: 16 });
  const manager = await startManager([
    backend,
    ...(redis === undefined
      ? []
      : [createRedisConnections(redis, 'bench'), [createRedisStorePlugin, { config: { connection: 'bench' } }]]),
    ...(cache === undefined ? [] : [[createCachePlugin, { config: cache }]]),
  ]);
  const status = manager.getPluginStatus().plugins.cache;
  if (status !== undefined && status.state !== 'ACTIVE') throw new Error(String(status.lastError?.message));
  const next = requests(unique, mode === 'streamed');
  for (let index = 0; index < WARMUP; index++) await send(manager, next());
  return { mode, name, manager, next, best: Number.POSITIVE_INFINITY };
}

/** µs per request over REQUESTS sequential chats. */
async function measure(subject: Variant): Promise<number> {
  const batch = Array.from({ length: REQUESTS }, subject.next);
  const started = process.hrtime.bigint();
  for (const context of batch) await send(subject.manager, context);
  return Number(process.hrtime.bigint() - started) / 1000 / REQUESTS;
}

const host = machine();
console.log(`cache benchmark — ${host.cpu}, ${host.cores} cores, Node ${host.node}; ${REQUESTS} chats per run`);
const redis = await redisClient();
if (redis === undefined) console.log(`Redis at ${REDIS_URL} unreachable: the Redis variants are skipped`);
const variants: Variant[] = [];
for (const mode of ['whole', 'streamed'] as const) {
  variants.push(await variant(mode, 'no cache', undefined, true));
  for (const store of ['memory', 'shared'] as const) {
    variants.push(await variant(mode, `${store} miss`, { store }, true));
    variants.push(await variant(mode, `${store} hit`, { store }, false));
  }
  if (redis !== undefined) {
    variants.push(await variant(mode, 'redis miss', { store: 'shared' }, true, redis));
    variants.push(await variant(mode, 'redis hit', { store: 'shared' }, false, redis));
  }
}
// Rounds go through every variant in turn, so a slow spell of a shared machine touches them
// all alike; each keeps its best round.
for (let round = 0; round < ROUNDS; round++) {
  for (const subject of variants) subject.best = Math.min(subject.best, await measure(subject));
}
const round = (value: number) => Math.round(value * 10) / 10;
const baseline = (mode: Variant['mode']) =>
  variants.find((each) => each.mode === mode && each.name === 'no cache')!.best;
console.table(
  variants.map((each) => ({
    mode: each.mode,
    variant: each.name,
    us_per_request: round(each.best),
    vs_no_cache_us: round(each.best - baseline(each.mode)),
  })),
);
for (const each of variants) await each.manager.shutdown();
if (redis !== undefined) {
  redis.disconnect();
  // A client without the key prefix: ioredis would prefix DEL's keys, but not KEYS's pattern.
  const raw = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const keys = await raw.keys(`${REDIS_PREFIX}*`);
  if (keys.length > 0) await raw.del(...keys);
  raw.disconnect();
}
