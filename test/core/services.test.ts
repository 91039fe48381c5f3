/**
 * Services (the core seam plugins share things through): typed refs, providers before
 * consumers, clear failures (missing, ambiguous, undeclared, not provided, malformed), the
 * built-in defaults of the store ports, and reloads that replace a provider and its consumers
 * together.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createServiceRef,
  defineFeatureExtension,
  definePlugin,
  isPlugboardError,
  type KeyValueStore,
  keyValueStoreRef,
  MemoryKeyValueStore,
  optionalService,
} from '../../src/index.ts';
import { chatRequest, createScriptedBackend, startManager } from '../../src/testing/index.ts';

interface Counter {
  next(): number;
  readonly label: string;
}

const counterRef = createServiceRef<Counter>({ id: 'test.counter', members: ['next'] });

/** A provider of counterRef whose counter is labelled, recording its lifecycle in `events`. */
function counterProvider(name: string, label: string, events: string[], version = '1.0.0') {
  return definePlugin({
    metadata: { name, version, provides: [counterRef] },
    initialize(_config, call) {
      events.push(`${name}:start`);
      let count = 0;
      call.provide(counterRef, { label, next: () => ++count });
    },
    shutdown() {
      events.push(`${name}:stop`);
    },
  });
}

/** A consumer that tags each reply's metadata with the counter it got (label:count). */
function counterConsumer(name: string, events: string[], settings: { optional?: boolean } = {}) {
  let started = 0;
  return () => {
    const instance = ++started;
    return defineFeatureExtension({
      metadata: { name, version: '1.0.0', consumes: [settings.optional ? optionalService(counterRef) : counterRef] },
      initialize(_config, call) {
        const counter = call.services.find(counterRef);
        events.push(`${name}#${instance}:start with ${counter?.label ?? 'none'}`);
      },
      extend(context, call) {
        const counter = call.services.find(counterRef);
        return {
          ...context,
          metadata: { ...context.metadata, counted: counter ? `${counter.label}:${counter.next()}` : 'none' },
        };
      },
      shutdown() {
        events.push(`${name}#${instance}:stop`);
      },
    });
  };
}

/** A backend that echoes the context metadata `counted` into the reply's content. */
const reporter = createScriptedBackend({
  reply: (context) => String(context.metadata.counted ?? 'unset'),
});

/** A manager with the counter provider (label A), its consumer `user` and the reporting backend. */
function startPair(events: string[]) {
  return startManager([counterProvider('counter', 'A', events), counterConsumer('user', events), reporter]);
}

describe('services: providers and consumers', () => {
  test('a consumer gets what its provider provided, starts after it and stops before it', async () => {
    const events: string[] = [];
    // Registered consumer first: start-up still puts the provider first.
    const manager = await startManager([
      counterConsumer('user', events),
      reporter,
      counterProvider('counter', 'A', events),
    ]);
    assert.deepEqual(events, ['counter:start', 'user#1:start with A']);
    assert.equal((await manager.chat(chatRequest('one'))).message.content, 'A:1');
    assert.equal((await manager.chat(chatRequest('two'))).message.content, 'A:2');
    assert.deepEqual(manager.getPluginStatus().plugins.user?.dependencies, {});
    await manager.shutdown();
    assert.deepEqual(events.slice(2), ['user#1:stop', 'counter:stop']);
  });

  test('a missing provider fails fast, naming both the consumer and the service; the rest starts', async () => {
    const events: string[] = [];
    const manager = await startManager([counterConsumer('user', events), reporter]);
    try {
      const status = manager.getPluginStatus().plugins.user!;
      assert.equal(status.state, 'ERROR');
      assert.equal(status.lastError?.code, 'SERVICE_NOT_PROVIDED');
      assert.match(
        status.lastError?.message ?? '',
        /Plugin "user" consumes service "test\.counter", but no loaded plugin provides it/,
      );
      assert.equal(manager.getPluginStatus().plugins.scripted?.state, 'ACTIVE');
    } finally {
      await manager.shutdown();
    }
  });

  test('an optional service without a provider is undefined for find and an error for get', async () => {
    const events: string[] = [];
    let got: unknown;
    const probe = definePlugin({
      metadata: { name: 'probe', version: '1.0.0', consumes: [optionalService(counterRef)] },
      initialize(_config, call) {
        got = call.services.find(counterRef);
        try {
          call.services.get(counterRef);
        } catch (error) {
          events.push(isPlugboardError(error, 'SERVICE_UNAVAILABLE') ? 'get: unavailable' : String(error));
        }
      },
      onRequestEnd() {},
    });
    const manager = await startManager([probe, reporter]);
    try {
      assert.equal(got, undefined);
      assert.deepEqual(events, ['get: unavailable']);
      assert.equal(manager.getPluginStatus().plugins.probe?.state, 'ACTIVE');
    } finally {
      await manager.shutdown();
    }
  });

  test('two providers and no choice is SERVICE_AMBIGUOUS; settings.services picks one', async () => {
    const events: string[] = [];
    const ambiguous = await startManager([
      counterProvider('one', 'A', events),
      counterProvider('two', 'B', events),
      counterConsumer('user', events),
      reporter,
    ]);
    try {
      const error = ambiguous.getPluginStatus().plugins.user?.lastError;
      assert.equal(error?.code, 'SERVICE_AMBIGUOUS');
      assert.match(
        error?.message ?? '',
        /"one" and "two" all provide; choose one in its entry: services: \{ test\.counter: one \}/,
      );
    } finally {
      await ambiguous.shutdown();
    }
    const chosen = await startManager([
      counterProvider('one', 'A', events),
      counterProvider('two', 'B', events),
      [counterConsumer('user', events), { services: { 'test.counter': 'two' } }],
      reporter,
    ]);
    try {
      assert.equal((await chosen.chat(chatRequest('hi'))).message.content, 'B:1');
      assert.deepEqual(chosen.getPluginStatus().plugins.user?.dependencies, {});
    } finally {
      await chosen.shutdown();
    }
  });

  test('asking for an undeclared service, or not providing a declared one, is an error naming the plugin', async () => {
    const sneaky = definePlugin({
      metadata: { name: 'sneaky', version: '1.0.0' },
      initialize(_config, call) {
        call.services.get(counterRef);
      },
      onRequestEnd() {},
    });
    const lazy = definePlugin({
      metadata: { name: 'lazy', version: '1.0.0', provides: [counterRef] },
      initialize() {},
    });
    const sloppy = definePlugin({
      metadata: { name: 'sloppy', version: '1.0.0', provides: [counterRef] },
      initialize(_config, call) {
        call.provide(counterRef, { label: 'no next method' } as unknown as Counter);
      },
    });
    const manager = await startManager([sneaky, lazy, sloppy, reporter]);
    try {
      const plugins = manager.getPluginStatus().plugins;
      assert.match(
        plugins.sneaky?.lastError?.message ?? '',
        /"sneaky" asked for service "test\.counter" without declaring it/,
      );
      assert.match(
        plugins.lazy?.lastError?.message ?? '',
        /"lazy" declares it provides "test\.counter", but its initialize did not call call\.provide/,
      );
      assert.match(
        plugins.sloppy?.lastError?.message ?? '',
        /"sloppy" provided "test\.counter" without the methods next/,
      );
      for (const name of ['sneaky', 'lazy', 'sloppy']) assert.equal(plugins[name]?.state, 'ERROR', name);
    } finally {
      await manager.shutdown();
    }
  });

  test('a service nobody provides falls back to its ref default, one instance shared, closed at shutdown', async () => {
    const stores: KeyValueStore[] = [];
    const user = (name: string) =>
      definePlugin({
        metadata: { name, version: '1.0.0', consumes: [keyValueStoreRef] },
        initialize(_config, call) {
          stores.push(call.services.get(keyValueStoreRef));
        },
        onRequestEnd() {},
      });
    const manager = await startManager([user('first'), user('second'), reporter]);
    assert.equal(stores.length, 2);
    assert.ok(stores[0] instanceof MemoryKeyValueStore);
    assert.equal(stores[0], stores[1], 'one default instance for every consumer');
    await stores[0]!.set('k', 1);
    assert.equal(await stores[1]!.get('k'), 1);
    await manager.shutdown();
  });

  test('unloading a provider others consume is refused, naming them', async () => {
    const events: string[] = [];
    const manager = await startPair(events);
    try {
      await assert.rejects(manager.unloadPlugin('counter'), /Cannot unload "counter": "user" depends on it/);
      await manager.unloadPlugin('user');
      await manager.unloadPlugin('counter');
    } finally {
      await manager.shutdown();
    }
  });
});

describe('services across reloads', () => {
  test('replacing a provider replaces its consumers together; requests in flight finish on the old pair', async () => {
    const events: string[] = [];
    const manager = await startPair(events);
    try {
      assert.equal((await manager.chat(chatRequest('hi'))).message.content, 'A:1');
      const report = await manager.applyChanges([
        { type: 'replace', name: 'counter', plugin: counterProvider('counter', 'B', events, '1.1.0'), settings: {} },
      ]);
      assert.deepEqual([...report.applied].sort(), ['counter', 'user']);
      assert.deepEqual(report.refused, []);
      assert.equal(
        (await manager.chat(chatRequest('hi'))).message.content,
        'B:1',
        'the fresh consumer uses the new provider',
      );
      // The new pair started before the old pair stopped, consumers before providers on the way out.
      assert.deepEqual(events, [
        'counter:start',
        'user#1:start with A',
        'counter:start',
        'user#2:start with B',
        'user#1:stop',
        'counter:stop',
      ]);
    } finally {
      await manager.shutdown();
    }
  });

  test('adding a provider rebinds a consumer that used the default; removing it falls back again', async () => {
    const seen: string[] = [];
    let instance = 0;
    const user = () => {
      const mine = ++instance;
      return definePlugin({
        metadata: { name: 'user', version: '1.0.0', consumes: [keyValueStoreRef] },
        initialize(_config, call) {
          const store = call.services.get(keyValueStoreRef);
          seen.push(
            `#${mine}: ${store instanceof MemoryKeyValueStore && !(store as { tagged?: boolean }).tagged ? 'default' : 'provided'}`,
          );
        },
        onRequestEnd() {},
      });
    };
    const provided = Object.assign(new MemoryKeyValueStore(), { tagged: true });
    const provider = definePlugin({
      metadata: { name: 'kv', version: '1.0.0', provides: [keyValueStoreRef] },
      initialize: (_config, call) => call.provide(keyValueStoreRef, provided),
    });
    const manager = await startManager([user, reporter]);
    try {
      const added = await manager.applyChanges([{ type: 'add', plugin: provider, settings: {} }]);
      assert.deepEqual([...added.applied].sort(), ['kv', 'user']);
      const removed = await manager.applyChanges([{ type: 'remove', name: 'kv' }]);
      assert.deepEqual([...removed.applied].sort(), ['kv', 'user']);
      assert.deepEqual(seen, ['#1: default', '#2: provided', '#3: default']);
    } finally {
      await manager.shutdown();
    }
  });

  test('removing a provider whose consumers have nowhere else to go is refused; both keep running', async () => {
    const events: string[] = [];
    const manager = await startPair(events);
    try {
      const report = await manager.applyChanges([{ type: 'remove', name: 'counter' }]);
      assert.deepEqual(report.applied, []);
      assert.equal(report.refused[0]?.plugin, 'counter');
      assert.match(report.refused[0]?.error.message ?? '', /"user" depends on it/);
      assert.equal((await manager.chat(chatRequest('hi'))).message.content, 'A:1');
    } finally {
      await manager.shutdown();
    }
  });
});
