/**
 * Dependency management (FR-3): the start-order planner on its own, then the manager using it —
 * start in dependency order (ties keep load order), fail fast on a missing dependency or a
 * version outside the range (for the plugin and everything that depends on it, while unrelated
 * plugins start), detect cycles with their path, and refuse to unload what others depend on.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { type DependencyNode, planStartOrder } from '../../src/core/plugin/dependency-graph.ts';
import {
  type AnyPlugin,
  createSilentLogger,
  definePlugin,
  isPlugboardError,
  PluginManager,
  type PluginSettings,
  type PluginStatus,
} from '../../src/index.ts';
import { chatRequest, createScriptedBackend } from '../../src/testing/index.ts';

const DEPS = fileURLToPath(new URL('../fixtures/plugins/deps/', import.meta.url));

function node(name: string, dependencies: Record<string, string> = {}, version = '1.0.0'): DependencyNode {
  return { name, version, dependencies };
}

/** Asserts every node comes after all its dependencies in `order`. */
function assertDependenciesFirst(order: readonly string[], nodes: readonly DependencyNode[]): void {
  const position = new Map(order.map((name, index) => [name, index]));
  for (const current of nodes) {
    if (!position.has(current.name)) continue;
    for (const dependency of Object.keys(current.dependencies)) {
      assert.ok(
        (position.get(dependency) ?? Number.POSITIVE_INFINITY) < position.get(current.name)!,
        `${dependency} must come before ${current.name} in ${order.join(', ')}`,
      );
    }
  }
}

describe('planStartOrder (the dependency planner)', () => {
  test('no plugins, no plan', () => {
    const plan = planStartOrder([]);
    assert.deepEqual(plan.order, []);
    assert.equal(plan.failures.size, 0);
  });

  test('independent plugins keep their input order', () => {
    const plan = planStartOrder([node('c'), node('a'), node('b')]);
    assert.deepEqual(plan.order, ['c', 'a', 'b']);
    assert.equal(plan.failures.size, 0);
  });

  test('a chain given backwards starts from its root', () => {
    const nodes = [node('c', { b: '^1.0.0' }), node('b', { a: '^1.0.0' }), node('a')];
    assert.deepEqual(planStartOrder(nodes).order, ['a', 'b', 'c']);
  });

  test('a diamond: the shared dependency first, siblings in input order, the top last', () => {
    const nodes = [
      node('app', { left: '*', right: '*' }),
      node('right', { base: '*' }),
      node('left', { base: '*' }),
      node('base'),
    ];
    const plan = planStartOrder(nodes);
    assert.deepEqual(plan.order, ['base', 'right', 'left', 'app']);
    assertDependenciesFirst(plan.order, nodes);
  });

  test('ties keep input order: only what must move moves', () => {
    const nodes = [node('x'), node('needs-z', { z: '*' }), node('y'), node('z')];
    assert.deepEqual(planStartOrder(nodes).order, ['x', 'z', 'needs-z', 'y']);
  });

  test('a missing dependency fails that plugin (naming the dependency and range), not unrelated ones', () => {
    const plan = planStartOrder([node('rag', { 'vector-store': '^2.0.0' }), node('logger')]);
    assert.deepEqual(plan.order, ['logger']);
    const error = plan.failures.get('rag');
    assert.ok(isPlugboardError(error, 'PLUGIN_DEPENDENCY_MISSING'));
    assert.equal(error.message, 'Plugin "rag" depends on "vector-store" (^2.0.0), which is not loaded');
    assert.equal(error.plugin, 'rag');
    assert.deepEqual(error.details, { dependency: 'vector-store', range: '^2.0.0' });
    assert.equal(plan.failures.size, 1);
  });

  test('a dependency that exists but is unavailable is reported with why', () => {
    const plan = planStartOrder([node('rag', { store: '*' })], new Map([['store', 'it is disabled']]));
    assert.equal(
      plan.failures.get('rag')?.message,
      'Plugin "rag" depends on "store", which cannot start: it is disabled',
    );
  });

  test('failure spreads to dependents, transitively, with the chain of reasons', () => {
    const nodes = [
      node('top', { mid: '*' }),
      node('mid', { bottom: '*' }),
      node('bottom', { gone: '*' }),
      node('free'),
    ];
    const plan = planStartOrder(nodes);
    assert.deepEqual(plan.order, ['free']);
    for (const name of ['top', 'mid', 'bottom']) {
      assert.equal(plan.failures.get(name)?.code, 'PLUGIN_DEPENDENCY_MISSING', name);
    }
    const top = plan.failures.get('top')!;
    assert.match(top.message, /^Plugin "top" depends on "mid", which cannot start: Plugin "mid" depends on "bottom"/);
    assert.match(top.message, /"gone", which is not loaded$/);
    assert.deepEqual(top.details, { dependency: 'mid', dependencyError: 'PLUGIN_DEPENDENCY_MISSING' });
  });

  test('a version outside the range fails with PLUGIN_DEPENDENCY_VERSION naming range and found version', () => {
    const plan = planStartOrder([
      node('store', {}, '1.9.0'),
      node('rag', { store: '^2.0.0' }),
      node('ok', { store: '^1.2.0' }),
    ]);
    assert.deepEqual(plan.order, ['store', 'ok']);
    const error = plan.failures.get('rag');
    assert.ok(isPlugboardError(error, 'PLUGIN_DEPENDENCY_VERSION'));
    assert.equal(error.message, 'Plugin "rag" needs "store" ^2.0.0, but version 1.9.0 is loaded');
    assert.deepEqual(error.details, { dependency: 'store', range: '^2.0.0', found: '1.9.0' });
  });

  test('version ranges follow semver, prereleases included', () => {
    const satisfied = (version: string, range: string) =>
      !planStartOrder([node('dep', {}, version), node('user', { dep: range })]).failures.has('user');
    assert.equal(satisfied('1.4.2', '^1.2.0'), true);
    assert.equal(satisfied('1.1.9', '^1.2.0'), false);
    assert.equal(satisfied('2.0.0', '^1.2.0'), false);
    assert.equal(satisfied('1.2.5', '~1.2.0'), true);
    assert.equal(satisfied('1.3.0', '~1.2.0'), false);
    assert.equal(satisfied('3.0.0', '>=2 <4'), true);
    assert.equal(satisfied('1.5.0-beta.1', '^1.0.0'), true);
    assert.equal(satisfied('2.0.0-rc.1', '^1.0.0'), false);
  });

  test('a cycle a → b → c → a is reported with its path in the message and in details.cycle', () => {
    const plan = planStartOrder([node('a', { b: '*' }), node('b', { c: '*' }), node('c', { a: '*' }), node('d')]);
    assert.deepEqual(plan.order, ['d']);
    for (const name of ['a', 'b', 'c']) {
      const error = plan.failures.get(name);
      assert.ok(isPlugboardError(error, 'PLUGIN_DEPENDENCY_CYCLE'), name);
      assert.equal(error.message, `Plugin "${name}" is part of a dependency cycle: a → b → c → a`);
      assert.deepEqual(error.details?.cycle, ['a', 'b', 'c', 'a']);
      assert.equal(error.plugin, name);
    }
  });

  test('a self-dependency and a two-plugin cycle are cycles too', () => {
    const self = planStartOrder([node('narcissus', { narcissus: '*' })]);
    assert.equal(self.failures.get('narcissus')?.code, 'PLUGIN_DEPENDENCY_CYCLE');
    assert.deepEqual(self.failures.get('narcissus')?.details?.cycle, ['narcissus', 'narcissus']);

    const pair = planStartOrder([node('x', { y: '*' }), node('y', { x: '*' })]);
    assert.match(pair.failures.get('y')?.message ?? '', /x → y → x$/);
    assert.deepEqual(pair.order, []);
  });

  test('a plugin depending on a cycle fails as missing, citing the cycle', () => {
    const plan = planStartOrder([node('user', { a: '*' }), node('a', { b: '*' }), node('b', { a: '*' })]);
    const error = plan.failures.get('user');
    assert.ok(isPlugboardError(error, 'PLUGIN_DEPENDENCY_MISSING'));
    assert.equal(error.details?.dependencyError, 'PLUGIN_DEPENDENCY_CYCLE');
    assert.match(error.message, /a → b → a/);
  });

  test('property: for any acyclic graph, everything starts and dependencies come first', () => {
    // Each node may depend only on nodes with a smaller index (so the graph is acyclic); the
    // input order is then shuffled.
    const graph = fc
      .integer({ min: 1, max: 12 })
      .chain((size) =>
        fc.tuple(
          fc.array(fc.array(fc.nat({ max: size - 1 }), { maxLength: 3 }), { minLength: size, maxLength: size }),
          fc.shuffledSubarray(
            Array.from({ length: size }, (_, index) => index),
            { minLength: size, maxLength: size },
          ),
        ),
      )
      .map(([edges, permutation]) => {
        const nodes = edges.map((targets, index) =>
          node(`p${index}`, Object.fromEntries(targets.filter((t) => t < index).map((t) => [`p${t}`, '*']))),
        );
        return permutation.map((index) => nodes[index]!);
      });
    fc.assert(
      fc.property(graph, (nodes) => {
        const plan = planStartOrder(nodes);
        assert.equal(plan.failures.size, 0);
        assert.deepEqual([...plan.order].sort(), nodes.map((n) => n.name).sort());
        assertDependenciesFirst(plan.order, nodes);
      }),
    );
  });

  test('property: a missing dependency fails exactly the plugins that reach it', () => {
    const graph = fc
      .integer({ min: 2, max: 10 })
      .chain((size) =>
        fc.tuple(
          fc.array(fc.array(fc.nat({ max: size - 1 }), { maxLength: 3 }), { minLength: size, maxLength: size }),
          fc.nat({ max: size - 1 }),
        ),
      );
    fc.assert(
      fc.property(graph, ([edges, broken]) => {
        const dependencies = edges.map((targets, index) => [...new Set(targets.filter((t) => t < index))]);
        const nodes = dependencies.map((targets, index) =>
          node(
            `p${index}`,
            Object.fromEntries([...targets.map((t) => [`p${t}`, '*']), ...(index === broken ? [['absent', '*']] : [])]),
          ),
        );
        const reaches = (index: number): boolean =>
          index === broken || dependencies[index]!.some((target) => reaches(target));
        const plan = planStartOrder(nodes);
        for (let index = 0; index < nodes.length; index++) {
          assert.equal(plan.failures.has(`p${index}`), reaches(index), `p${index}`);
          assert.equal(plan.order.includes(`p${index}`), !reaches(index), `p${index}`);
        }
      }),
    );
  });
});

// ——— through the manager ———

/** A plugin that records when it starts and stops into `events`. */
function tracked(
  events: string[],
  name: string,
  dependencies: Record<string, string> = {},
  extra: Partial<AnyPlugin> = {},
  version = '1.0.0',
): AnyPlugin {
  return definePlugin({
    metadata: { name, version, dependencies },
    initialize: () => {
      events.push(`start:${name}`);
    },
    shutdown: () => {
      events.push(`stop:${name}`);
    },
    onRequestEnd: () => {},
    ...extra,
  });
}

async function managerWith(plugins: readonly (AnyPlugin | readonly [AnyPlugin, PluginSettings])[]) {
  const manager = new PluginManager({ logger: createSilentLogger() });
  for (const entry of plugins) {
    if (Array.isArray(entry)) await manager.register(entry[0], entry[1]);
    else await manager.register(entry);
  }
  return manager;
}

function statusOf(manager: PluginManager, name: string): PluginStatus {
  const status = manager.getPluginStatus().plugins[name];
  assert.ok(status, `no status for ${name}`);
  return status;
}

describe('dependency resolution in the manager', () => {
  test('plugins start in dependency order and stop in reverse; ties keep load order', async () => {
    const events: string[] = [];
    const manager = await managerWith([
      tracked(events, 'app', { cache: '^1.0.0', auth: '^1.0.0' }),
      tracked(events, 'solo'),
      tracked(events, 'cache', { store: '^1.0.0' }),
      tracked(events, 'auth'),
      tracked(events, 'store'),
    ]);
    await manager.initialize();
    assert.deepEqual(
      events.splice(0),
      ['start:store', 'start:cache', 'start:auth', 'start:app', 'start:solo'],
      'dependencies first; otherwise load order',
    );
    await manager.shutdown();
    assert.deepEqual(events, ['stop:solo', 'stop:app', 'stop:auth', 'stop:cache', 'stop:store']);
  });

  test('dependency order holds across files: a-consumer loads first but starts after b-provider', async () => {
    const store = globalThis as { plugboardFixtureStarts?: string[] };
    store.plugboardFixtureStarts = [];
    const manager = new PluginManager({ logger: createSilentLogger() });
    const loaded = await manager.loadPluginsFromDirectory(DEPS);
    assert.deepEqual(loaded, ['consumer', 'provider'], 'loaded in sorted file order');
    await manager.initialize();
    assert.deepEqual(store.plugboardFixtureStarts, ['provider', 'consumer']);
    assert.equal(statusOf(manager, 'consumer').state, 'ACTIVE');
    assert.deepEqual(statusOf(manager, 'consumer').dependencies, { provider: '^1.2.0' });
    await manager.shutdown();
    delete store.plugboardFixtureStarts;
  });

  test('a missing dependency fails the plugin and its dependents; unrelated plugins start', async () => {
    const events: string[] = [];
    const manager = await managerWith([
      tracked(events, 'rag', { 'vector-store': '^2.0.0' }),
      tracked(events, 'summary', { rag: '*' }),
      tracked(events, 'unrelated'),
      createScriptedBackend(),
    ]);
    await manager.initialize();
    assert.deepEqual(events, ['start:unrelated'], 'neither rag nor its dependent was initialized');

    const rag = statusOf(manager, 'rag');
    assert.equal(rag.state, 'ERROR');
    assert.equal(rag.lastError?.code, 'PLUGIN_DEPENDENCY_MISSING');
    assert.equal(rag.lastError?.message, 'Plugin "rag" depends on "vector-store" (^2.0.0), which is not loaded');
    assert.equal(rag.transitions.at(-1)?.to, 'ERROR');
    assert.equal(rag.transitions.at(-1)?.reason, rag.lastError?.message, 'the reason is recorded on the transition');

    const summary = statusOf(manager, 'summary');
    assert.equal(summary.state, 'ERROR');
    assert.equal(summary.lastError?.code, 'PLUGIN_DEPENDENCY_MISSING');
    assert.match(
      summary.lastError?.message ?? '',
      /^Plugin "summary" depends on "rag", which cannot start: .*vector-store/,
    );

    assert.equal(statusOf(manager, 'unrelated').state, 'ACTIVE');
    const response = await manager.chat(chatRequest('still works'));
    assert.equal(response.message.content, 'You said: still works');
    await manager.shutdown();
    assert.ok(!events.includes('stop:rag'), 'a plugin that never started is not shut down');
  });

  test('a dependency outside the version range → PLUGIN_DEPENDENCY_VERSION; the dependency itself runs', async () => {
    const events: string[] = [];
    const manager = await managerWith([
      tracked(events, 'store', {}, {}, '1.9.0'),
      tracked(events, 'rag', { store: '^2.0.0' }),
    ]);
    await manager.initialize();
    assert.equal(statusOf(manager, 'store').state, 'ACTIVE');
    const rag = statusOf(manager, 'rag');
    assert.equal(rag.state, 'ERROR');
    assert.equal(rag.lastError?.code, 'PLUGIN_DEPENDENCY_VERSION');
    assert.equal(rag.lastError?.message, 'Plugin "rag" needs "store" ^2.0.0, but version 1.9.0 is loaded');
    assert.deepEqual(events, ['start:store']);
    await manager.shutdown();
  });

  test('a cycle a → b → c → a puts all three in ERROR with the path; others start', async () => {
    const events: string[] = [];
    const manager = await managerWith([
      tracked(events, 'a', { b: '*' }),
      tracked(events, 'b', { c: '*' }),
      tracked(events, 'c', { a: '*' }),
      tracked(events, 'd'),
    ]);
    await manager.initialize();
    for (const name of ['a', 'b', 'c']) {
      const status = statusOf(manager, name);
      assert.equal(status.state, 'ERROR', name);
      assert.equal(status.lastError?.code, 'PLUGIN_DEPENDENCY_CYCLE', name);
      assert.ok(status.lastError?.message.includes('a → b → c → a'), status.lastError?.message);
    }
    assert.equal(statusOf(manager, 'd').state, 'ACTIVE');
    assert.deepEqual(events, ['start:d']);
    await manager.shutdown();
  });

  test('a dependency that fails to initialize takes its dependents down with a reason', async () => {
    const events: string[] = [];
    const manager = await managerWith([
      tracked(
        events,
        'store',
        {},
        {
          initialize: () => {
            throw new Error('disk full');
          },
        },
      ),
      tracked(events, 'rag', { store: '^1.0.0' }),
      tracked(events, 'other'),
    ]);
    await manager.initialize();
    assert.equal(statusOf(manager, 'store').lastError?.code, 'PLUGIN_INIT_FAILED');
    const rag = statusOf(manager, 'rag');
    assert.equal(rag.state, 'ERROR');
    assert.equal(rag.lastError?.code, 'PLUGIN_DEPENDENCY_MISSING');
    assert.match(rag.lastError?.message ?? '', /depends on "store", which did not start: .*disk full/);
    assert.deepEqual(events, ['start:other']);
    await manager.shutdown();
  });

  test('depending on a disabled plugin or one with invalid config fails with why', async () => {
    const events: string[] = [];
    const strict = definePlugin({
      metadata: {
        name: 'strict',
        version: '1.0.0',
        configSchema: {
          '~standard': {
            version: 1,
            vendor: 'test',
            validate: () => ({ issues: [{ message: 'always wrong' }] }),
          },
        },
      },
      onStartup: () => {},
    });
    const manager = await managerWith([
      [tracked(events, 'off'), { enabled: false }],
      tracked(events, 'needs-off', { off: '*' }),
      strict,
      tracked(events, 'needs-strict', { strict: '*' }),
    ]);
    await manager.initialize();
    assert.equal(statusOf(manager, 'off').state, 'LOADED');
    assert.match(statusOf(manager, 'needs-off').lastError?.message ?? '', /"off", which cannot start: it is disabled/);
    assert.equal(statusOf(manager, 'strict').lastError?.code, 'PLUGIN_CONFIG_INVALID');
    assert.match(
      statusOf(manager, 'needs-strict').lastError?.message ?? '',
      /which cannot start: it is in ERROR \(.*always wrong\)/,
    );
    assert.deepEqual(events, []);
    await manager.shutdown();
  });

  test('a plugin registered while running may depend on active ones', async () => {
    const events: string[] = [];
    const manager = await managerWith([tracked(events, 'store')]);
    await manager.initialize();
    await manager.register(tracked(events, 'rag', { store: '^1.0.0' }));
    assert.equal(statusOf(manager, 'rag').state, 'ACTIVE');
    await manager.register(tracked(events, 'orphan', { nowhere: '*' }));
    assert.equal(statusOf(manager, 'orphan').lastError?.code, 'PLUGIN_DEPENDENCY_MISSING');
    assert.deepEqual(events, ['start:store', 'start:rag']);
    await manager.shutdown();
  });
});

describe('unloading and dependencies', () => {
  test('unloadPlugin refuses while an active plugin depends on it, then allows it once the dependent is gone', async () => {
    const events: string[] = [];
    const manager = await managerWith([tracked(events, 'store'), tracked(events, 'rag', { store: '*' })]);
    await manager.initialize();
    await assert.rejects(manager.unloadPlugin('store'), (error: unknown) => {
      assert.ok(isPlugboardError(error, 'PLUGIN_DEPENDENCY_MISSING'));
      assert.match(error.message, /Cannot unload "store": "rag" depends on it; unload it first/);
      assert.deepEqual(error.details?.dependents, ['rag']);
      return true;
    });
    assert.equal(statusOf(manager, 'store').state, 'ACTIVE', 'the refused unload changed nothing');
    assert.ok(!events.includes('stop:store'));

    await manager.unloadPlugin('rag');
    await manager.unloadPlugin('store');
    assert.deepEqual(events, ['start:store', 'start:rag', 'stop:rag', 'stop:store']);
    assert.deepEqual(Object.keys(manager.getPluginStatus().plugins), []);
    await manager.shutdown();
  });

  test('unloadPlugin refuses while a paused plugin (which could resume) depends on it', async () => {
    const events: string[] = [];
    const manager = await managerWith([tracked(events, 'store'), tracked(events, 'rag', { store: '*' })]);
    await manager.initialize();
    manager.pausePlugin('rag');
    await assert.rejects(manager.unloadPlugin('store'), (error: unknown) =>
      isPlugboardError(error, 'PLUGIN_DEPENDENCY_MISSING'),
    );
    assert.equal(statusOf(manager, 'store').state, 'ACTIVE');
    await manager.shutdown();
  });

  test('a dependent that never started does not block unloading', async () => {
    const events: string[] = [];
    const manager = await managerWith([
      tracked(events, 'store', {}, {}, '1.0.0'),
      tracked(events, 'rag', { store: '^2.0.0' }),
    ]);
    await manager.initialize();
    assert.equal(statusOf(manager, 'rag').state, 'ERROR');
    await manager.unloadPlugin('store');
    assert.deepEqual(events, ['start:store', 'stop:store']);
    await manager.shutdown();
  });

  test('unloading an unknown plugin → PLUGIN_NOT_FOUND listing what is loaded', async () => {
    const manager = await managerWith([tracked([], 'store')]);
    await assert.rejects(
      manager.unloadPlugin('stor'),
      (error: unknown) => isPlugboardError(error, 'PLUGIN_NOT_FOUND') && /loaded: store/.test(error.message),
    );
  });
});
