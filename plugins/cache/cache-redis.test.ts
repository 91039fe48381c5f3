/**
 * `store: shared` on the real Redis at 127.0.0.1:6379, through the `redis_store` plugin: two
 * Plugboard HTTP servers, each with its own Redis client (two instances), asked with the
 * official `openai` client. A stream recorded by one is replayed as a stream by the other,
 * whose backend is never called; the entry is a Redis key `<prefix>kv:cache:<sha-256>` with the
 * ttl as its expiry. Every key this file writes starts with a prefix of its own run, and is
 * deleted at the end.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { createRedisConnections, createScriptedBackend, type ScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { createRedisStorePlugin } from '../redis-store/redis-store.plugin.ts';
import { createCachePlugin } from './cache.plugin.ts';

const REDIS_URL = 'redis://127.0.0.1:6379/0';
/** The client prefix of this run (the connection's key_prefix): every key the file writes starts with it. */
const RUN_PREFIX = `plugboard-test-cache-${randomUUID()}:`;
/** No key prefix: sees the full keys, to inspect and clean up (KEYS patterns are not prefixed). */
const raw = new Redis(REDIS_URL);

interface Instance {
  readonly server: TestServer;
  readonly backend: ScriptedBackend;
  readonly client: Redis;
  readonly openai: OpenAI;
}

async function instance(reply: string): Promise<Instance> {
  const client = new Redis(REDIS_URL, { keyPrefix: RUN_PREFIX, maxRetriesPerRequest: 1 });
  const backend = createScriptedBackend({ reply, chunking: 5 });
  const server = await startTestServer([
    backend,
    createRedisConnections(client, 'cache'),
    [createRedisStorePlugin, { config: { connection: 'cache' } }],
    [createCachePlugin, { config: { store: 'shared', ttl_seconds: 120 } }],
  ]);
  const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  return { server, backend, client, openai };
}

let a: Instance;
let b: Instance;

before(async () => {
  // The two backends would answer differently: a hit on b can only be a's reply.
  a = await instance('Instance A answered this, and Redis remembers it for everyone.');
  b = await instance('Instance B answered this.');
});
after(async () => {
  for (const each of [a, b]) {
    await each?.server.close();
    each?.client.disconnect();
  }
  const keys = await raw.keys(`${RUN_PREFIX}*`);
  if (keys.length > 0) await raw.del(...keys);
  raw.disconnect();
});

async function stream(openai: OpenAI) {
  const { data, response } = await openai.chat.completions
    .create({
      model: 'scripted-model',
      messages: [{ role: 'user', content: 'Who answers?' }],
      temperature: 0,
      stream: true,
    })
    .withResponse();
  let text = '';
  let deltas = 0;
  for await (const chunk of data) {
    if (chunk.choices[0]?.delta.content) {
      text += chunk.choices[0].delta.content;
      deltas++;
    }
  }
  return { text, deltas, cache: response.headers.get('x-plugboard-cache') };
}

test('a stream one instance recorded in Redis is replayed as a stream by the other', async () => {
  const first = await stream(a.openai);
  assert.equal(first.cache, 'miss');
  assert.equal(first.text, 'Instance A answered this, and Redis remembers it for everyone.');
  assert.ok(first.deltas > 3);

  // The write happens after the reply, in the background.
  let keys: string[] = [];
  for (let attempt = 0; attempt < 100 && keys.length === 0; attempt++) {
    keys = await raw.keys(`${RUN_PREFIX}*`);
    if (keys.length === 0) await sleep(10);
  }
  assert.equal(keys.length, 1);
  assert.match(keys[0]!, new RegExp(`^${RUN_PREFIX}kv:cache:[0-9a-f]{64}$`));
  const ttl = await raw.pttl(keys[0]!);
  assert.ok(ttl > 110_000 && ttl <= 120_000, `ttl ${ttl} ms`);
  const entry = JSON.parse((await raw.get(keys[0]!)) ?? '{}') as { v: number; content: string; finish: string };
  assert.equal(entry.v, 1);
  assert.equal(entry.content, first.text);
  assert.equal(entry.finish, 'stop');

  const second = await stream(b.openai);
  assert.equal(second.cache, 'hit');
  assert.equal(second.text, first.text);
  assert.equal(b.backend.calls.length, 0, 'instance B never called its backend');
  assert.equal(a.backend.calls.length, 1);

  const health = await (await fetch(`${b.server.url}/health`)).json();
  assert.equal(
    (health as { plugins: Record<string, { health: { status: string } }> }).plugins.cache?.health.status,
    'healthy',
  );
});
