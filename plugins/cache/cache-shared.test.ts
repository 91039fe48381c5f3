/**
 * `store: shared`: the entries live in the key-value store service, so two instances on one
 * store (here two managers on one KeyValueStore object, as two servers on one Redis) share
 * them: what one stored, the other answers. Entries are written with `ttl_seconds` under
 * `key_prefix`, in the background. A failing or hanging store fails open: the model answers,
 * the lookup gives up after `lookup_timeout_ms`, the health check says degraded until the store
 * is back. On the in-memory default (no provider), the health check says it is not shared.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  definePlugin,
  type JsonValue,
  type KeyValueSetOptions,
  type KeyValueStore,
  keyValueStoreRef,
  MemoryKeyValueStore,
  type PluginManager,
} from '../../src/index.ts';
import { createScriptedBackend, startManager } from '../../src/testing/index.ts';
import { createCachePlugin } from './cache.plugin.ts';
import { ask, request } from './testing/ask.ts';
import { metricsProvider, recordingMetrics } from './testing/recording-metrics.ts';

/** What the store saw, and switches to make it fail or hang. */
interface Probe {
  readonly writes: { key: string; ttlMs: number | undefined }[];
  failing: boolean;
  hanging: boolean;
}

/**
 * A key-value store over `inner` that records writes and can fail or hang on demand: the
 * shared store (Redis) of several instances, as the cache sees it.
 */
function probedStore(inner: KeyValueStore, probe: Probe, prefix = ''): KeyValueStore {
  const guard = async <T>(run: () => Promise<T>): Promise<T> => {
    if (probe.hanging) await sleep(5_000, undefined, { ref: false });
    if (probe.failing) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
    return run();
  };
  return {
    get: <T extends JsonValue = JsonValue>(key: string) => guard(() => inner.get<T>(key)),
    set: (key: string, value: JsonValue, options?: KeyValueSetOptions) =>
      guard(async () => {
        probe.writes.push({ key: prefix + key, ttlMs: options?.ttlMs });
        await inner.set(key, value, options);
      }),
    setIfAbsent: (key, value, options) => guard(() => inner.setIfAbsent(key, value, options)),
    delete: (key) => guard(() => inner.delete(key)),
    increment: (key, delta, options) => guard(() => inner.increment(key, delta, options)),
    ttl: (key) => guard(() => inner.ttl(key)),
    withPrefix: (more) => probedStore(inner.withPrefix(more), probe, prefix + more),
  };
}

/** Provides `store` as the key-value store service, as redis_store does. */
function storeProvider(store: KeyValueStore) {
  return definePlugin({
    metadata: { name: 'test-store', version: '1.0.0', provides: [keyValueStoreRef] },
    initialize: (_config, call) => call.provide(keyValueStoreRef, store),
  });
}

/** Waits until the writes in the background have reached the store. */
async function settled(probe: Probe, count: number): Promise<void> {
  for (let attempt = 0; attempt < 200 && probe.writes.length < count; attempt++) await sleep(5);
}

async function instance(store: KeyValueStore, config: Record<string, unknown> = {}) {
  const backend = createScriptedBackend({ reply: (_context, call) => `reply ${call}` });
  const metrics = recordingMetrics();
  const manager = await startManager([
    backend,
    storeProvider(store),
    metricsProvider(metrics),
    [createCachePlugin, { config: { store: 'shared', ...config } }],
  ]);
  return { backend, metrics, manager };
}

async function health(manager: PluginManager) {
  return (await manager.getHealth()).plugins.cache?.health;
}

describe('two instances on one store', () => {
  test('what one instance stored, the other answers; written with the ttl, under the prefix', async () => {
    const shared = new MemoryKeyValueStore();
    const probe: Probe = { writes: [], failing: false, hanging: false };
    const a = await instance(probedStore(shared, probe), { ttl_seconds: 90 });
    const b = await instance(probedStore(shared, probe), { ttl_seconds: 90 });
    try {
      const first = await ask(a.manager, request('shared question'), true);
      assert.equal(first.headers.get('x-plugboard-cache'), 'miss');
      await settled(probe, 1);
      assert.equal(probe.writes.length, 1);
      assert.match(probe.writes[0]!.key, /^cache:[0-9a-f]{64}$/);
      assert.equal(probe.writes[0]!.ttlMs, 90_000);
      assert.equal(await shared.ttl(probe.writes[0]!.key).then((ttl) => (ttl ?? 0) > 85_000), true);

      const fromB = await ask(b.manager, request('shared question'), true);
      assert.equal(fromB.headers.get('x-plugboard-cache'), 'hit');
      assert.equal(fromB.text, first.text);
      assert.equal(fromB.text, 'reply 1');
      assert.equal(b.backend.calls.length, 0, 'the second instance never called its backend');
      assert.equal(b.metrics.value('cache_requests_total', { result: 'hit' }), 1);
      assert.equal(a.metrics.value('cache_stores_total', { result: 'stored' }), 1);
      assert.ok(b.metrics.value('cache_served_bytes_total') > 0);
      assert.equal((await health(a.manager))?.status, 'healthy');
    } finally {
      await a.manager.shutdown();
      await b.manager.shutdown();
    }
  });

  test('key_prefix: instances with other prefixes do not share', async () => {
    const shared = new MemoryKeyValueStore();
    const probe: Probe = { writes: [], failing: false, hanging: false };
    const a = await instance(probedStore(shared, probe), { key_prefix: 'tenant-a:' });
    const b = await instance(probedStore(shared, probe), { key_prefix: 'tenant-b:' });
    try {
      await ask(a.manager, request('q'));
      await settled(probe, 1);
      assert.match(probe.writes[0]!.key, /^tenant-a:/);
      assert.equal((await ask(b.manager, request('q'))).headers.get('x-plugboard-cache'), 'miss');
    } finally {
      await a.manager.shutdown();
      await b.manager.shutdown();
    }
  });

  test('an entry that is not this version’s (a foreign value under the key) is a miss, never served', async () => {
    const shared = new MemoryKeyValueStore();
    const probe: Probe = { writes: [], failing: false, hanging: false };
    const a = await instance(probedStore(shared, probe));
    try {
      await ask(a.manager, request('q'));
      await settled(probe, 1);
      await shared.set(probe.writes[0]!.key, { v: 2, text: 'from a newer version' });
      const again = await ask(a.manager, request('q'));
      assert.equal(again.headers.get('x-plugboard-cache'), 'miss');
      assert.equal(again.text, 'reply 2');
    } finally {
      await a.manager.shutdown();
    }
  });
});

describe('a failing store fails open', () => {
  test('store errors: the model answers, the outage is counted and in the health, until the store is back', async () => {
    const probe: Probe = { writes: [], failing: true, hanging: false };
    const { manager, backend, metrics } = await instance(probedStore(new MemoryKeyValueStore(), probe));
    try {
      for (const stream of [false, true]) {
        const reply = await ask(manager, request('q'), stream);
        assert.equal(reply.headers.get('x-plugboard-cache'), 'miss');
        assert.match(reply.text, /^reply \d$/);
      }
      await sleep(20);
      assert.equal(backend.calls.length, 2);
      assert.equal(metrics.value('cache_store_errors_total', { operation: 'get' }), 2);
      assert.equal(metrics.value('cache_store_errors_total', { operation: 'set' }), 2);
      assert.equal(metrics.value('cache_stores_total', { result: 'failed' }), 2);
      const down = await health(manager);
      assert.equal(down?.status, 'degraded');
      assert.match(down?.message ?? '', /shared store fails since .*ECONNREFUSED/);
      probe.failing = false;
      await ask(manager, request('q'));
      await settled(probe, 1);
      assert.equal((await health(manager))?.status, 'healthy');
      assert.equal((await ask(manager, request('q'))).headers.get('x-plugboard-cache'), 'hit');
    } finally {
      await manager.shutdown();
    }
  });

  test('a hanging store: the lookup gives up after lookup_timeout_ms and the model answers', async () => {
    const probe: Probe = { writes: [], failing: false, hanging: true };
    const { manager, metrics } = await instance(probedStore(new MemoryKeyValueStore(), probe), {
      lookup_timeout_ms: 50,
    });
    try {
      const started = performance.now();
      const reply = await ask(manager, request('q'), true);
      const took = performance.now() - started;
      assert.equal(reply.text, 'reply 1');
      assert.ok(took < 1_000, `answered in ${Math.round(took)} ms`);
      assert.equal(metrics.value('cache_store_errors_total', { operation: 'get' }), 1);
      // The reply's write still hangs: shutdown waits for it, but not for ever (2 s).
      const stopping = performance.now();
      await manager.shutdown();
      assert.ok(performance.now() - stopping < 3_000);
    } finally {
      await manager.shutdown();
    }
  });
});

test('store: shared on the in-memory default: it works in this process, and the health check says it is not shared', async () => {
  const backend = createScriptedBackend();
  const manager = await startManager([backend, [createCachePlugin, { config: { store: 'shared' } }]]);
  try {
    await ask(manager, request('q'));
    await sleep(10);
    assert.equal((await ask(manager, request('q'))).headers.get('x-plugboard-cache'), 'hit');
    const report = await health(manager);
    assert.equal(report?.status, 'degraded');
    assert.match(report?.message ?? '', /in-memory one: entries are kept in this process only/);
  } finally {
    await manager.shutdown();
  }
});
