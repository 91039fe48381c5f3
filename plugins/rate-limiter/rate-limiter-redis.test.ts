/**
 * Redis, real (127.0.0.1:6379), through the shared `connections:` entry, with two real
 * `plugboard serve` processes: requests spread across both count together — exactly N of
 * N+k pass, sequentially alternating and in one concurrent burst — which is what a per-process
 * memory count (LiteLLM #40291) gets wrong. With the connection pointing at a closed port:
 * `on_store_error: open` lets requests through under a per-instance memory limit, logs the
 * outage once and shows it in /health as degraded; `closed` refuses with 503 in each API's format.
 * Every test uses its own key prefix and deletes its keys afterwards.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { closedPort } from '../../test/support/closed-port.ts';
import { type CliServer, configWith, startCliServer } from './testing/cli-server.ts';

const REDIS_URL = 'redis://127.0.0.1:6379/0';

function limiterConfig(options: { url: string; prefix: string; onStoreError: 'open' | 'closed'; limits: string[] }) {
  return configWith([
    'middleware:',
    '  rate_limiter:',
    '    config:',
    '      store: { type: redis, connection: shared }',
    `      on_store_error: ${options.onStoreError}`,
    '      limits:',
    ...options.limits.map((limit) => `        - ${limit}`),
    'connections:',
    '  redis:',
    `    shared: { url: ${JSON.stringify(options.url)}, key_prefix: ${JSON.stringify(options.prefix)}, connect_timeout: 1 }`,
  ]);
}

const chat = (server: CliServer, content = 'hi') =>
  fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content }] }),
  });
const generate = (server: CliServer) =>
  fetch(`${server.url}/api/generate`, {
    method: 'POST',
    body: JSON.stringify({ model: 'echo', prompt: 'hi', stream: false }),
  });
async function statusOf(response: Promise<Response>): Promise<number> {
  const answered = await response;
  await answered.arrayBuffer();
  return answered.status;
}
const count = (statuses: readonly number[], status: number) => statuses.filter((value) => value === status).length;

async function stopAll(servers: readonly (CliServer | undefined)[]): Promise<void> {
  await Promise.all(servers.map((server) => server?.stop()));
}

describe('two Plugboard processes sharing one Redis', () => {
  const prefix = `plugboard-test-rl-${randomUUID()}:`;
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  let servers: CliServer[] = [];
  const N = 5;

  before(async () => {
    const yaml = limiterConfig({
      url: REDIS_URL,
      prefix,
      onStoreError: 'closed',
      limits: [
        `{ name: chats, key: ip, requests: ${N}, per_seconds: 120, operations: [chat] }`,
        `{ name: generates, key: ip, requests: ${N}, per_seconds: 120, operations: [generate] }`,
      ],
    });
    const started = await Promise.allSettled([startCliServer(yaml), startCliServer(yaml)]);
    servers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failed = started.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  });

  after(async () => {
    try {
      await stopAll(servers);
    } finally {
      // SCAN patterns are not prefixed by ioredis: this client has no key_prefix, so it sees the full keys.
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });

  test(`N+k requests alternating between the two: exactly N = ${N} pass`, async () => {
    const statuses: number[] = [];
    for (let index = 0; index < N + 4; index++) statuses.push(await statusOf(chat(servers[index % 2]!)));
    assert.deepEqual(statuses, [...Array(N).fill(200), ...Array(4).fill(429)], statuses.join(','));
    const keys = await redis.keys(`${prefix}*`);
    assert.deepEqual(keys, [`${prefix}rate_limiter:chats:req:ip:127.0.0.1`], 'counted in Redis, under the prefix');
  });

  test('a concurrent burst across both processes: still exactly N pass', async () => {
    const statuses = await Promise.all(
      Array.from({ length: N * 4 }, (_, index) => statusOf(generate(servers[index % 2]!))),
    );
    assert.equal(count(statuses, 200), N, statuses.join(','));
    assert.equal(count(statuses, 429), N * 3);
  });
});

describe('Redis unreachable (a closed port)', () => {
  let url: string;
  before(async () => {
    url = `redis://127.0.0.1:${await closedPort()}/0`;
  });

  test('on_store_error: open — requests pass under a per-instance memory limit; logged once; /health degraded', async () => {
    let server: CliServer | undefined;
    try {
      server = await startCliServer(
        limiterConfig({
          url,
          prefix: 'unused:',
          onStoreError: 'open',
          limits: ['{ key: ip, requests: 3, per_seconds: 60 }'],
        }),
      );
      const statuses = [];
      for (let index = 0; index < 5; index++) statuses.push(await statusOf(chat(server)));
      assert.deepEqual(statuses, [200, 200, 200, 429, 429], 'the memory fallback still limits');
      const health = (await (await fetch(`${server.url}/health`)).json()) as {
        plugins: Record<string, { health: { status: string; message?: string } }>;
      };
      const own = health.plugins.rate_limiter?.health;
      assert.equal(own?.status, 'degraded');
      assert.match(own?.message ?? '', /Redis connection "shared" unreachable since .*: .*on_store_error: open/);
      assert.match(own?.message ?? '', /ECONNREFUSED|not ready/);
      const warnings = server
        .output()
        .split('\n')
        .filter((line) => line.includes('rate limiter: Redis unreachable'));
      assert.equal(warnings.length, 1, `logged once per outage, not per request:\n${server.output()}`);
    } finally {
      await server?.stop();
    }
  });

  test('on_store_error: closed — 503 rate_limiter/STORE_UNAVAILABLE in OpenAI’s and Ollama’s formats', async () => {
    let server: CliServer | undefined;
    try {
      server = await startCliServer(
        limiterConfig({
          url,
          prefix: 'unused:',
          onStoreError: 'closed',
          limits: ['{ key: ip, requests: 3, per_seconds: 60 }'],
        }),
      );
      const openai = await chat(server);
      assert.equal(openai.status, 503);
      const openaiBody = (await openai.json()) as { error: { code: string; message: string } };
      assert.equal(openaiBody.error.code, 'rate_limiter/store_unavailable');
      assert.doesNotMatch(openaiBody.error.message, /127\.0\.0\.1|ECONNREFUSED/, 'no host or port to the client');
      const ollama = await generate(server);
      assert.equal(ollama.status, 503);
      assert.equal(((await ollama.json()) as { code: string }).code, 'rate_limiter/STORE_UNAVAILABLE');
      const health = (await (await fetch(`${server.url}/health`)).json()) as {
        plugins: Record<string, { health: { status: string; message?: string } }>;
      };
      assert.equal(health.plugins.rate_limiter?.health.status, 'degraded');
      assert.match(health.plugins.rate_limiter?.health.message ?? '', /refused with 503/);
    } finally {
      await server?.stop();
    }
  });
});
