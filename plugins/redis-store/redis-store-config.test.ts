/**
 * Loaded by name from a YAML configuration (`middleware: { redis_store: { config } }`, no
 * plugin_file), with a real Redis (127.0.0.1:6379) in the `connections:` section: a plugin that
 * consumes keyValueStoreRef gets the Redis store, two runtimes on the same configuration share
 * its counters, the health check pings Redis; and it fails as documented without a connections:
 * section, with an unknown connection name, and with Redis down.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { ConfigRuntime } from '../../src/config/config-runtime.ts';
import { createSilentLogger } from '../../src/index.ts';
import { chatRequest } from '../../src/testing/index.ts';
import { closedPort } from '../../test/support/closed-port.ts';
import { PLUGBOARD_SRC } from '../../test/support/plugin-sources.ts';
import { RuntimeFixture } from '../../test/support/runtime-fixture.ts';

const REDIS_URL = 'redis://127.0.0.1:6379/0';
/** The connection's key prefix of this run: every key the file writes starts with it. */
const RUN_PREFIX = `plugboard-test-redis-store-config-${randomUUID()}:`;
const raw = new Redis(REDIS_URL);

after(async () => {
  const keys = await raw.keys(`${RUN_PREFIX}*`);
  if (keys.length > 0) await raw.del(...keys);
  raw.disconnect();
});

/**
 * A middleware that consumes the key-value store: it answers every request itself, with what
 * it saw — the store's class, the request counter it incremented, or the store's error.
 */
const PROBE_SOURCE = `
import { createMessage, defineMiddleware, keyValueStoreRef, respond } from ${JSON.stringify(PLUGBOARD_SRC)};
export default defineMiddleware({
  metadata: { name: 'kv_probe', version: '1.0.0', consumes: [keyValueStoreRef] },
  async processRequest(_context, call) {
    const store = call.services.get(keyValueStoreRef);
    let seen;
    try {
      seen = { store: store.constructor.name, hits: await store.withPrefix('probe:').increment('hits') };
    } catch (error) {
      seen = { code: error.code, message: error.message };
    }
    return respond(createMessage({ role: 'assistant', content: JSON.stringify(seen) }));
  },
  processResponse: (response) => response,
});
`;

interface Seen {
  readonly store?: string;
  readonly hits?: number;
  readonly code?: string;
  readonly message?: string;
}

async function fixture(lines: readonly string[]): Promise<RuntimeFixture> {
  const made = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-redis-store-config-'));
  const testing = new URL('../../src/testing/index.ts', import.meta.url).pathname;
  await made.write(
    'scripted.plugin.ts',
    `import { createScriptedBackend } from ${JSON.stringify(testing)};\nexport default createScriptedBackend();\n`,
  );
  await made.write('probe.plugin.ts', PROBE_SOURCE);
  await made.write(
    'config.yaml',
    [
      'mode: staging',
      'backends:',
      '  scripted: { plugin_file: scripted.plugin.ts }',
      'middleware:',
      '  kv_probe: { plugin_file: probe.plugin.ts }',
      ...lines,
    ].join('\n'),
  );
  return made;
}

/** The redis_store entry, and a connections: section with one Redis entry named `shared`. */
function withRedis(url: string, connection = 'shared'): string[] {
  return [
    '  redis_store:',
    `    config: { connection: ${connection}, key_prefix: "kv:" }`,
    'connections:',
    '  redis:',
    `    shared: { url: ${JSON.stringify(url)}, key_prefix: ${JSON.stringify(RUN_PREFIX)}, connect_timeout: 1 }`,
  ];
}

async function ask(runtime: ConfigRuntime): Promise<Seen> {
  const response = await runtime.manager.chat(chatRequest('hi'));
  return JSON.parse(response.message.content) as Seen;
}

describe('redis_store with a real Redis', () => {
  test('a consumer gets the Redis store; two runtimes on the same configuration count together', async () => {
    const made = await fixture(withRedis(REDIS_URL));
    let second: ConfigRuntime | undefined;
    try {
      const first = await made.start();
      const status = first.manager.getPluginStatus().plugins;
      assert.equal(status.redis_store?.state, 'ACTIVE', JSON.stringify(status.redis_store?.lastError));
      assert.equal(status.kv_probe?.state, 'ACTIVE', JSON.stringify(status.kv_probe?.lastError));
      second = await ConfigRuntime.start({ file: made.file, env: {}, logger: createSilentLogger() });

      assert.deepEqual(await ask(first), { store: 'RedisKeyValueStore', hits: 1 });
      assert.deepEqual(await ask(second), { store: 'RedisKeyValueStore', hits: 2 });
      assert.deepEqual(await ask(first), { store: 'RedisKeyValueStore', hits: 3 });
      assert.equal(await raw.get(`${RUN_PREFIX}kv:probe:hits`), '3', 'in Redis, under both prefixes');

      const health = await first.manager.getHealth();
      const own = health.plugins.redis_store?.health;
      assert.equal(own?.status, 'healthy', JSON.stringify(own));
      assert.equal(own?.details?.connection, 'shared');
      assert.equal(typeof own?.details?.latency_ms, 'number');
    } finally {
      await second?.close();
      await made.dispose();
    }
  });

  test('without redis_store, the same consumer gets the in-memory default', async () => {
    const made = await fixture([]);
    try {
      const runtime = await made.start();
      assert.deepEqual(await ask(runtime), { store: 'MemoryKeyValueStore', hits: 1 });
    } finally {
      await made.dispose();
    }
  });

  test('an unknown connection name keeps it out, with a did-you-mean', async () => {
    const made = await fixture(withRedis(REDIS_URL, 'shard'));
    try {
      const runtime = await made.start();
      const status = runtime.manager.getPluginStatus().plugins.redis_store;
      assert.equal(status?.state, 'ERROR');
      assert.match(status?.lastError?.message ?? '', /no redis connection named "shard" \(did you mean "shared"\?\)/);
    } finally {
      await made.dispose();
    }
  });

  test('without a connections: section it does not start, and says what is missing', async () => {
    const made = await fixture(['  redis_store: { config: { connection: shared } }']);
    try {
      const runtime = await made.start();
      const status = runtime.manager.getPluginStatus().plugins.redis_store;
      assert.equal(status?.state, 'ERROR');
      assert.match(status?.lastError?.message ?? '', /plugboard\.connections/);
    } finally {
      await made.dispose();
    }
  });
});

test('Redis down: it starts, calls fail with STORE_FAILED naming the connection, health is unhealthy', async () => {
  const password = 'hunter2-very-secret';
  const made = await fixture(withRedis(`redis://:${password}@127.0.0.1:${await closedPort()}/0`));
  try {
    const runtime = await made.start();
    assert.equal(runtime.manager.getPluginStatus().plugins.redis_store?.state, 'ACTIVE');
    const seen = await ask(runtime);
    assert.equal(seen.code, 'STORE_FAILED', JSON.stringify(seen));
    assert.match(seen.message ?? '', /^Redis connection "shared": increment of key "kv:probe:hits" failed: /);
    assert.match(seen.message ?? '', /ECONNREFUSED/);
    assert.ok(!(seen.message ?? '').includes(password), seen.message);
    const own = (await runtime.manager.getHealth()).plugins.redis_store?.health;
    assert.equal(own?.status, 'unhealthy');
    assert.match(own?.message ?? '', /^Redis connection "shared": ping failed: .*ECONNREFUSED/);
    assert.ok(!JSON.stringify(own).includes(password));
  } finally {
    await made.dispose();
  }
});
