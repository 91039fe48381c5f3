/**
 * What the rate_limiter middleware adds to a request: a manager with the scripted backend,
 * without the limiter, with it in memory, and with it on Redis (127.0.0.1:6379, or REDIS_URL;
 * skipped when unreachable). N sequential chat requests each, after a warm-up; the limit is
 * set high enough never to refuse. Prints µs per request and the difference to the baseline;
 * writes bench/results/rate-limiter.json. BENCH_QUICK=1 runs fewer requests.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import createRateLimiterPlugin from '../plugins/rate-limiter/rate-limiter.plugin.ts';
import type { PluginManager } from '../src/index.ts';
import { chatRequest, createRedisConnections, createScriptedBackend, startManager } from '../src/testing/index.ts';
import { machine, writeResults } from './report.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const REQUESTS = QUICK ? 500 : 5_000;
const WARMUP = QUICK ? 100 : 1_000;
const ROUNDS = QUICK ? 1 : 3;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const LIMITS = [{ key: 'principal', requests: 1_000_000_000, per_seconds: 3600 }];

/** µs per request over REQUESTS sequential chats (the best of ROUNDS, after a warm-up). */
async function measure(manager: PluginManager): Promise<number> {
  const request = () =>
    manager.chat(chatRequest('hello there', { principal: { id: 'bench' }, client: { address: '127.0.0.1' } }));
  for (let index = 0; index < WARMUP; index++) await request();
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    for (let index = 0; index < REQUESTS; index++) await request();
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1000 / REQUESTS);
  }
  return best;
}

async function run(label: string, plugins: readonly unknown[]): Promise<number> {
  const backend = createScriptedBackend({ recordCalls: false });
  const manager = await startManager([backend, ...plugins]);
  try {
    const status = manager.getPluginStatus().plugins.rate_limiter;
    if (status !== undefined && status.state !== 'ACTIVE') throw new Error(`${label}: ${status.lastError?.message}`);
    return await measure(manager);
  } finally {
    await manager.shutdown();
  }
}

async function redisClient(prefix: string): Promise<Redis | undefined> {
  const client = new Redis(REDIS_URL, { keyPrefix: prefix, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    await client.ping();
    return client;
  } catch {
    client.disconnect();
    return undefined;
  }
}

const host = machine();
console.log(`rate_limiter benchmark — ${host.cpu}, ${host.cores} cores, Node ${host.node}; ${REQUESTS} chats per run`);
const round = (value: number) => Math.round(value * 10) / 10;
const baseline = await run('baseline', []);
const rows: object[] = [{ variant: 'no limiter', us_per_request: round(baseline), added_us: 0, requests: REQUESTS }];
const memory = await run('memory', [[createRateLimiterPlugin, { config: { limits: LIMITS } }]]);
rows.push({ variant: 'memory', us_per_request: round(memory), added_us: round(memory - baseline), requests: REQUESTS });

const prefix = `plugboard-bench-rl-${randomUUID()}:`;
const client = await redisClient(prefix);
if (client === undefined) {
  console.log(`Redis at ${REDIS_URL} unreachable: the Redis variant is skipped`);
} else {
  try {
    const redis = await run('redis', [
      createRedisConnections(client, 'bench'),
      [createRateLimiterPlugin, { config: { limits: LIMITS, store: { type: 'redis', connection: 'bench' } } }],
    ]);
    rows.push({
      variant: 'redis',
      us_per_request: round(redis),
      added_us: round(redis - baseline),
      requests: REQUESTS,
    });
  } finally {
    client.disconnect();
    // A client without the key prefix: ioredis would prefix DEL's keys, but not KEYS's pattern.
    const raw = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) await raw.del(...keys);
    raw.disconnect();
  }
}
console.table(rows);
console.log(`written to ${writeResults('rate-limiter', rows)}`);
