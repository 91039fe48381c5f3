/**
 * Plugin lifecycle (FR-1): the state machine and its recorded transitions, initialization with
 * a PluginConfig (settings, metadata defaults, manager defaults, frozen, validated against the
 * plugin's schema), initialization failures, shutdown (reverse dependency order, bounded by a
 * timeout), unloading (draining in-flight requests first), duplicates, disabled plugins and
 * pause/resume.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { PluginStateMachine } from '../../src/core/plugin/state.ts';
import {
  type AnyPlugin,
  createSilentLogger,
  defineMessageProcessor,
  definePlugin,
  fail,
  isPlugboardError,
  PLUGIN_STATES,
  type PluginConfig,
  PluginManager,
  type PluginManagerOptions,
  type PluginSettings,
  type PluginState,
  type PluginStatus,
  withContent,
} from '../../src/index.ts';
import { chatRequest, createScriptedBackend, startManager } from '../../src/testing/index.ts';
import { deferred } from '../support/deferred.ts';

// ——— helpers ———

/** Tests that would hang if a bound were missing fail after this long instead. */
const HANG_GUARD_MS = 5_000;

function newManager(options: PluginManagerOptions = {}): PluginManager {
  return new PluginManager({ logger: createSilentLogger(), ...options });
}

function statusOf(manager: PluginManager, name: string): PluginStatus {
  const status = manager.getPluginStatus().plugins[name];
  assert.ok(status, `no status for plugin "${name}"`);
  return status;
}

function path(status: PluginStatus): string[] {
  return status.transitions.map((transition) => `${transition.from}→${transition.to}`);
}

/** An input processor that appends ` +<name>` to the user's message, recording its lifecycle in `events`. */
function tagger(name: string, events: string[] = [], extra: Partial<AnyPlugin> = {}): AnyPlugin {
  return definePlugin({
    metadata: { name, version: '1.0.0' },
    direction: 'input',
    initialize: () => {
      events.push(`init:${name}`);
    },
    shutdown: () => {
      events.push(`shutdown:${name}`);
    },
    processMessage: (message) => withContent(message, `${message.content} +${name}`),
    onRequestEnd: () => {
      events.push(`requestEnd:${name}`);
    },
    ...extra,
  });
}

// ——— the state machine ———

/** The transitions FR-1.3 allows, written out independently of the implementation. */
const LEGAL: Readonly<Record<PluginState, readonly PluginState[]>> = {
  UNLOADED: ['LOADING'],
  LOADING: ['LOADED', 'ERROR'],
  LOADED: ['INITIALIZING', 'UNLOADING', 'ERROR'],
  INITIALIZING: ['ACTIVE', 'ERROR'],
  ACTIVE: ['PAUSED', 'UNLOADING', 'ERROR'],
  PAUSED: ['ACTIVE', 'UNLOADING', 'ERROR'],
  ERROR: ['INITIALIZING', 'UNLOADING'],
  UNLOADING: ['UNLOADED', 'ERROR'],
};

/** A legal way to reach each state from UNLOADED. */
const ROUTE: Readonly<Record<PluginState, readonly PluginState[]>> = {
  UNLOADED: [],
  LOADING: ['LOADING'],
  LOADED: ['LOADING', 'LOADED'],
  INITIALIZING: ['LOADING', 'LOADED', 'INITIALIZING'],
  ACTIVE: ['LOADING', 'LOADED', 'INITIALIZING', 'ACTIVE'],
  PAUSED: ['LOADING', 'LOADED', 'INITIALIZING', 'ACTIVE', 'PAUSED'],
  ERROR: ['LOADING', 'ERROR'],
  UNLOADING: ['LOADING', 'LOADED', 'UNLOADING'],
};

function machineIn(state: PluginState): PluginStateMachine {
  const machine = new PluginStateMachine('sample');
  for (const step of ROUTE[state]) machine.moveTo(step, 'setup');
  assert.equal(machine.state, state);
  return machine;
}

describe('plugin state machine (FR-1.3)', () => {
  test('has the eight states of the spec', () => {
    assert.deepEqual(
      [...PLUGIN_STATES].sort(),
      ['ACTIVE', 'ERROR', 'INITIALIZING', 'LOADED', 'LOADING', 'PAUSED', 'UNLOADED', 'UNLOADING'].sort(),
    );
  });

  test('starts UNLOADED with no history', () => {
    const machine = new PluginStateMachine('sample');
    assert.equal(machine.state, 'UNLOADED');
    assert.deepEqual(machine.history, []);
  });

  test('allows exactly the legal transitions, from every state', () => {
    for (const from of PLUGIN_STATES) {
      for (const to of PLUGIN_STATES) {
        const legal = LEGAL[from].includes(to);
        assert.equal(machineIn(from).canMoveTo(to), legal, `${from} → ${to}`);
        const machine = machineIn(from);
        if (legal) {
          machine.moveTo(to, 'test');
          assert.equal(machine.state, to);
        } else {
          assert.throws(() => machine.moveTo(to, 'test'), { code: 'ILLEGAL_STATE_TRANSITION' }, `${from} → ${to}`);
          assert.equal(machine.state, from, 'a refused transition changes nothing');
        }
      }
    }
  });

  test('a refused transition names both states and the reason, and is not recorded', () => {
    const machine = machineIn('LOADED');
    const before = machine.history.length;
    assert.throws(
      () => machine.moveTo('PAUSED', 'operator asked'),
      (error: unknown) => {
        assert.ok(isPlugboardError(error, 'ILLEGAL_STATE_TRANSITION'));
        assert.equal(error.message, 'Plugin "sample" cannot move from LOADED to PAUSED (operator asked)');
        assert.equal(error.plugin, 'sample');
        assert.deepEqual(error.details, {
          from: 'LOADED',
          to: 'PAUSED',
          allowed: ['INITIALIZING', 'UNLOADING', 'ERROR'],
        });
        return true;
      },
    );
    assert.equal(machine.history.length, before);
  });

  test('records each transition with from, to, an ISO time and the reason', () => {
    const machine = new PluginStateMachine('sample');
    const before = Date.now();
    const returned = machine.moveTo('LOADING', 'reading file');
    machine.moveTo('LOADED', 'structure valid');
    const after = Date.now();
    assert.deepEqual(
      machine.history.map(({ from, to, reason }) => ({ from, to, reason })),
      [
        { from: 'UNLOADED', to: 'LOADING', reason: 'reading file' },
        { from: 'LOADING', to: 'LOADED', reason: 'structure valid' },
      ],
    );
    assert.equal(returned, machine.history[0]);
    for (const { at } of machine.history) {
      assert.equal(new Date(at).toISOString(), at, 'an ISO-8601 timestamp');
      assert.ok(Date.parse(at) >= before - 1 && Date.parse(at) <= after + 1, at);
    }
  });

  test('keeps a bounded history: the most recent 50 transitions', () => {
    const machine = machineIn('ACTIVE');
    for (let index = 0; index < 60; index++) {
      machine.moveTo('PAUSED', `pause ${index}`);
      machine.moveTo('ACTIVE', `resume ${index}`);
    }
    assert.equal(machine.history.length, 50);
    assert.equal(machine.history.at(-1)?.reason, 'resume 59');
    assert.equal(machine.history[0]?.reason, 'pause 35');
  });
});

// ——— states through the manager ———

describe('lifecycle through the manager', () => {
  test('walks LOADING → LOADED → INITIALIZING → ACTIVE → UNLOADING → UNLOADED, with reasons', async () => {
    const manager = newManager();
    const seen: Record<string, PluginState> = {};
    await manager.register(
      tagger('walker', [], {
        initialize: () => {
          seen.initialize = statusOf(manager, 'walker').state;
        },
        shutdown: () => {
          seen.shutdown = statusOf(manager, 'walker').state;
        },
      }),
    );
    assert.equal(statusOf(manager, 'walker').state, 'LOADED');
    await manager.initialize();
    assert.equal(statusOf(manager, 'walker').state, 'ACTIVE');
    await manager.shutdown('test over');
    const status = statusOf(manager, 'walker');
    assert.equal(status.state, 'UNLOADED');
    assert.deepEqual(path(status), [
      'UNLOADED→LOADING',
      'LOADING→LOADED',
      'LOADED→INITIALIZING',
      'INITIALIZING→ACTIVE',
      'ACTIVE→UNLOADING',
      'UNLOADING→UNLOADED',
    ]);
    assert.deepEqual(seen, { initialize: 'INITIALIZING', shutdown: 'UNLOADING' });
    for (const transition of status.transitions)
      assert.ok(transition.reason.length > 0, 'every transition has a reason');
    assert.equal(status.transitions.at(-1)?.reason, 'test over', 'the shutdown reason is recorded');
    const times = status.transitions.map((transition) => Date.parse(transition.at));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
      'timestamps never go back',
    );
  });

  test('a plugin registered while the manager runs starts at once', async () => {
    const events: string[] = [];
    const manager = await startManager([createScriptedBackend()]);
    await manager.register(tagger('late', events));
    assert.equal(statusOf(manager, 'late').state, 'ACTIVE');
    assert.deepEqual(events, ['init:late']);
    const response = await manager.chat(chatRequest('hi'));
    assert.equal(response.message.content, 'You said: hi +late');
    await manager.shutdown();
  });

  test('the startup hook lists the plugins that started, and pluginLoaded fires for each', async () => {
    const started: string[][] = [];
    const loaded: string[] = [];
    const observer = definePlugin({
      metadata: { name: 'observer', version: '1.0.0' },
      onStartup: ({ plugins }) => {
        started.push([...plugins]);
      },
      onPluginLoaded: ({ plugin }) => {
        loaded.push(plugin);
      },
    });
    const broken = tagger('broken', [], {
      initialize: () => {
        throw new Error('nope');
      },
    });
    const manager = await startManager([observer, broken, tagger('fine')]);
    assert.deepEqual(started, [['observer', 'fine']]);
    assert.deepEqual(loaded, ['observer', 'fine'], 'one pluginLoaded per plugin that started (itself included)');
    await manager.shutdown();
  });
});

// ——— PluginConfig ———

describe('initialize with a PluginConfig (FR-1.2)', () => {
  function capturing(metadata: Partial<AnyPlugin['metadata']> = {}) {
    const received: PluginConfig[] = [];
    const plugin = definePlugin({
      metadata: { name: 'configured', version: '1.0.0', ...metadata },
      initialize: (config) => {
        received.push(config);
      },
      processMessage: (message) => message,
    });
    return { plugin, received };
  }

  test('settings win over metadata, which wins over manager defaults', async () => {
    const { plugin, received } = capturing({ priority: 'LOW', timeoutMs: 1234, failurePolicy: 'closed' });
    const manager = newManager({ defaultTimeoutMs: 999, defaultPriority: 'HIGH', defaultFailurePolicy: 'open' });
    const settings: PluginSettings = {
      priority: 'CRITICAL',
      timeoutMs: 50,
      failurePolicy: 'open',
      config: { answer: 42 },
    };
    await manager.register(plugin, settings);
    await manager.initialize();
    assert.deepEqual(received, [
      {
        enabled: true,
        priority: 'CRITICAL',
        timeoutMs: 50,
        hookTimeoutMs: 50,
        failurePolicy: 'open',
        config: { answer: 42 },
        backend: { retries: 0, retryDelayMs: 500, maxQueued: 100 },
      },
    ]);
    const status = statusOf(manager, 'configured');
    assert.equal(status.priority, 'CRITICAL');
    assert.equal(status.timeoutMs, 50);
    assert.equal(status.failurePolicy, 'open');
    await manager.shutdown();
  });

  test('metadata supplies defaults when settings are absent', async () => {
    const { plugin, received } = capturing({ priority: 'LOW', timeoutMs: 1234, failurePolicy: 'closed' });
    const manager = newManager({ defaultTimeoutMs: 999, defaultPriority: 'HIGH' });
    await manager.register(plugin);
    await manager.initialize();
    assert.deepEqual(received, [
      {
        enabled: true,
        priority: 'LOW',
        timeoutMs: 1234,
        hookTimeoutMs: 1234,
        failurePolicy: 'closed',
        config: {},
        backend: { retries: 0, retryDelayMs: 500, maxQueued: 100 },
      },
    ]);
    await manager.shutdown();
  });

  test('manager defaults apply when neither settings nor metadata say', async () => {
    const { plugin, received } = capturing();
    const manager = newManager({ defaultTimeoutMs: 999, defaultPriority: 'HIGH', defaultFailurePolicy: 'closed' });
    await manager.register(plugin);
    await manager.initialize();
    assert.deepEqual(received, [
      {
        enabled: true,
        priority: 'HIGH',
        timeoutMs: 999,
        hookTimeoutMs: 999,
        failurePolicy: 'closed',
        config: {},
        backend: { retries: 0, retryDelayMs: 500, maxQueued: 100 },
      },
    ]);
    await manager.shutdown();
  });

  test('the spec defaults: NORMAL priority, 30 s timeout, fail-open', async () => {
    const { plugin, received } = capturing();
    const manager = await startManager([plugin]);
    assert.equal(received[0]?.priority, 'NORMAL');
    assert.equal(received[0]?.timeoutMs, 30_000);
    assert.equal(received[0]?.failurePolicy, 'open');
    await manager.shutdown();
  });

  test('the config is frozen all the way down', async () => {
    const { plugin, received } = capturing();
    const manager = await startManager([[plugin, { config: { nested: { list: [1, 2] } } }]]);
    const config = received[0]!;
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.config));
    const inner = config.config as { nested: { list: number[] } };
    assert.ok(Object.isFrozen(inner.nested));
    assert.ok(Object.isFrozen(inner.nested.list));
    assert.throws(() => {
      (config as { priority: string }).priority = 'CRITICAL';
    }, TypeError);
    assert.throws(() => {
      inner.nested.list.push(3);
    }, TypeError);
    assert.equal(statusOf(manager, 'configured').priority, 'NORMAL');
    await manager.shutdown();
  });

  describe('validated against the plugin configSchema (zod)', () => {
    const schema = z.object({
      greeting: z.string().min(1).default('Hello'),
      limits: z.object({ max: z.coerce.number().int().positive().default(10) }).default({ max: 10 }),
    });

    function schemaPlugin(received: unknown[]) {
      return defineMessageProcessor<z.output<typeof schema>>({
        metadata: { name: 'schema-user', version: '1.0.0', configSchema: schema },
        initialize: (config) => {
          received.push(config.config);
        },
        processMessage: (message) => message,
      });
    }

    test('defaults are applied when no config is given', async () => {
      const received: unknown[] = [];
      const manager = await startManager([schemaPlugin(received)]);
      assert.deepEqual(received, [{ greeting: 'Hello', limits: { max: 10 } }]);
      assert.ok(Object.isFrozen(received[0]), 'the parsed config is frozen too');
      assert.ok(Object.isFrozen((received[0] as { limits: object }).limits));
      await manager.shutdown();
    });

    test('given values are kept, partial objects completed and values coerced', async () => {
      const received: unknown[] = [];
      const manager = await startManager([
        [schemaPlugin(received), { config: { greeting: 'Hi', limits: { max: '5' } } }],
      ]);
      assert.deepEqual(received, [{ greeting: 'Hi', limits: { max: 5 } }]);
      await manager.shutdown();
    });

    test('invalid config → ERROR with PLUGIN_CONFIG_INVALID naming each key; initialize never runs; others start', async () => {
      const received: unknown[] = [];
      const manager = newManager();
      await manager.register(createScriptedBackend());
      const name = await manager.register(schemaPlugin(received), {
        config: { greeting: '', limits: { max: -3 } },
      });
      assert.equal(name, 'schema-user', 'register returns the name even when the config is refused');
      assert.equal(statusOf(manager, 'schema-user').state, 'ERROR', 'fails at load time, before initialize()');
      await manager.initialize();

      const status = statusOf(manager, 'schema-user');
      assert.equal(status.state, 'ERROR');
      assert.equal(status.lastError?.code, 'PLUGIN_CONFIG_INVALID');
      assert.match(status.lastError?.message ?? '', /^Plugin "schema-user" has invalid config: /);
      assert.match(status.lastError?.message ?? '', /greeting: /);
      assert.match(status.lastError?.message ?? '', /limits\.max: /);
      assert.deepEqual(path(status), ['UNLOADED→LOADING', 'LOADING→ERROR']);
      assert.equal(status.transitions.at(-1)?.reason, status.lastError?.message);
      assert.deepEqual(received, []);

      assert.equal(statusOf(manager, 'scripted').state, 'ACTIVE');
      const response = await manager.chat(chatRequest('hi'));
      assert.equal(response.message.content, 'You said: hi');
      assert.ok(!response.steps.some((step) => step.plugin === 'schema-user'));
      await manager.shutdown();
      assert.equal(statusOf(manager, 'schema-user').state, 'UNLOADED');
    });

    test('an unknown key is named when the schema is strict', async () => {
      const manager = newManager();
      await manager.register(
        definePlugin({
          metadata: { name: 'strict', version: '1.0.0', configSchema: z.strictObject({ limit: z.number() }) },
          processMessage: (message) => message,
        }),
        { config: { limit: 3, limt: 4 } },
      );
      const error = statusOf(manager, 'strict').lastError;
      assert.equal(error?.code, 'PLUGIN_CONFIG_INVALID');
      assert.match(error?.message ?? '', /limt/);
    });

    test('an asynchronous schema is refused with a clear reason', async () => {
      const manager = newManager();
      await manager.register(
        definePlugin({
          metadata: {
            name: 'async-schema',
            version: '1.0.0',
            configSchema: z.object({ ok: z.boolean().default(true) }).refine(async () => true),
          },
          processMessage: (message) => message,
        }),
      );
      const error = statusOf(manager, 'async-schema').lastError;
      assert.equal(error?.code, 'PLUGIN_CONFIG_INVALID');
      assert.match(error?.message ?? '', /asynchronous config schemas are not supported/);
    });
  });
});

// ——— initialization failures ———

describe('initialization failures (FR-1: handled gracefully)', () => {
  const failures: readonly [string, AnyPlugin['initialize'], RegExp][] = [
    [
      'throws',
      () => {
        throw new Error('database unreachable');
      },
      /database unreachable/,
    ],
    [
      'rejects',
      async () => {
        await Promise.resolve();
        throw new Error('async database unreachable');
      },
      /async database unreachable/,
    ],
    ['returns fail(...)', () => fail('PLUGIN_INIT_FAILED', 'missing API key'), /missing API key/],
    ['resolves to fail(...)', async () => fail('BACKEND_FAILED', 'upstream said no'), /upstream said no/],
  ];

  for (const [label, initialize, cause] of failures) {
    test(`initialize() that ${label} → ERROR with PLUGIN_INIT_FAILED; other plugins keep running`, async () => {
      const events: string[] = [];
      const manager = await startManager([
        createScriptedBackend(),
        tagger('healthy', events),
        tagger('faulty', events, { initialize }),
      ]);
      const status = statusOf(manager, 'faulty');
      assert.equal(status.state, 'ERROR');
      assert.equal(status.lastError?.code, 'PLUGIN_INIT_FAILED');
      assert.equal(status.lastError?.hook, 'initialize');
      assert.match(status.lastError?.message ?? '', /^Plugin "faulty" failed to initialize: /);
      assert.match(status.lastError?.message ?? '', cause);
      assert.deepEqual(path(status), [
        'UNLOADED→LOADING',
        'LOADING→LOADED',
        'LOADED→INITIALIZING',
        'INITIALIZING→ERROR',
      ]);

      assert.equal(statusOf(manager, 'healthy').state, 'ACTIVE');
      const response = await manager.chat(chatRequest('hi'));
      assert.equal(response.message.content, 'You said: hi +healthy', 'the failed plugin is not in the pipeline');
      assert.deepEqual(events, ['init:healthy', 'requestEnd:healthy'], 'the failed plugin’s hooks were not registered');
      await manager.shutdown();
      assert.ok(!events.includes('shutdown:faulty'), 'a plugin that never started is not shut down');
      assert.equal(statusOf(manager, 'faulty').state, 'UNLOADED');
    });
  }

  test('initialize() that hangs is cut off by the plugin timeout and told to stop', {
    timeout: HANG_GUARD_MS,
  }, async () => {
    const aborted = deferred<unknown>();
    const manager = await startManager([
      [
        tagger('slow-start', [], {
          initialize: (_config, call) => {
            call.signal.addEventListener('abort', () => aborted.resolve(call.signal.reason));
            return new Promise<void>(() => {});
          },
        }),
        { timeoutMs: 20 },
      ],
      tagger('other'),
    ]);
    const status = statusOf(manager, 'slow-start');
    assert.equal(status.state, 'ERROR');
    assert.equal(status.lastError?.code, 'PLUGIN_INIT_FAILED');
    assert.match(status.lastError?.message ?? '', /did not finish initialize within 20 ms/);
    assert.ok(isPlugboardError(await aborted.promise, 'PLUGIN_TIMEOUT'), 'the signal carries the timeout error');
    assert.equal(statusOf(manager, 'other').state, 'ACTIVE');
    await manager.shutdown();
  });

  test('a failing plugin registered while running does not make register() throw', async () => {
    const manager = await startManager([createScriptedBackend()]);
    const name = await manager.register(
      tagger('late-fail', [], {
        initialize: () => {
          throw new Error('late boom');
        },
      }),
    );
    assert.equal(name, 'late-fail');
    assert.equal(statusOf(manager, 'late-fail').lastError?.code, 'PLUGIN_INIT_FAILED');
    assert.equal((await manager.chat(chatRequest('hi'))).message.content, 'You said: hi');
    await manager.shutdown();
  });
});

// ——— shutdown ———

describe('shutdown (FR-1.4)', () => {
  test('the shutdown hook runs first, then each plugin’s cleanup in reverse dependency order', async () => {
    const events: string[] = [];
    const plugin = (name: string, dependencies: Record<string, string> = {}) =>
      definePlugin({
        metadata: { name, version: '1.0.0', dependencies },
        onShutdown: ({ reason }) => {
          events.push(`hook:${name}:${reason}`);
        },
        shutdown: () => {
          events.push(`cleanup:${name}`);
        },
      });
    // Loaded dependents-first on purpose: start order is store, cache, api, metrics.
    const manager = await startManager([
      plugin('api', { cache: '^1.0.0' }),
      plugin('cache', { store: '^1.0.0' }),
      plugin('metrics'),
      plugin('store'),
    ]);
    await manager.shutdown('deploy');
    const hooks = events.filter((event) => event.startsWith('hook:'));
    const cleanups = events.filter((event) => event.startsWith('cleanup:'));
    assert.equal(hooks.length, 4);
    assert.ok(hooks.every((event) => event.endsWith(':deploy')));
    assert.deepEqual(events.slice(0, 4).sort(), [...hooks].sort(), 'the hook runs before any cleanup');
    assert.deepEqual(cleanups, ['cleanup:metrics', 'cleanup:api', 'cleanup:cache', 'cleanup:store']);
    for (const name of ['api', 'cache', 'metrics', 'store']) assert.equal(statusOf(manager, name).state, 'UNLOADED');
  });

  test('a hanging shutdown is bounded by shutdownTimeoutMs; the others still shut down', {
    timeout: HANG_GUARD_MS,
  }, async () => {
    const events: string[] = [];
    const aborted = deferred();
    const manager = await startManager(
      [
        tagger('first', events),
        tagger('stuck', events, {
          shutdown: (call) => {
            events.push('shutdown:stuck (hangs)');
            call.signal.addEventListener('abort', () => aborted.resolve());
            return new Promise<void>(() => {});
          },
        }),
        tagger('last', events),
      ],
      { shutdownTimeoutMs: 25 },
    );
    await manager.shutdown();
    assert.deepEqual(
      events.filter((event) => event.startsWith('shutdown:')),
      ['shutdown:last', 'shutdown:stuck (hangs)', 'shutdown:first'],
    );
    const stuck = statusOf(manager, 'stuck');
    assert.equal(stuck.state, 'UNLOADED');
    assert.equal(stuck.lastError?.code, 'PLUGIN_SHUTDOWN_FAILED');
    assert.match(stuck.lastError?.message ?? '', /did not finish shutdown within 25 ms/);
    await aborted.promise; // the plugin was told to give up
    assert.equal(statusOf(manager, 'first').state, 'UNLOADED');
    assert.equal(statusOf(manager, 'first').lastError, undefined);
  });

  test('a throwing shutdown is recorded and does not stop the others', async () => {
    const events: string[] = [];
    const manager = await startManager([
      tagger('one', events),
      tagger('thrower', events, {
        shutdown: () => {
          throw new Error('socket already closed');
        },
      }),
    ]);
    await manager.shutdown();
    assert.ok(events.includes('shutdown:one'));
    const status = statusOf(manager, 'thrower');
    assert.equal(status.state, 'UNLOADED');
    assert.equal(status.lastError?.code, 'PLUGIN_SHUTDOWN_FAILED');
    assert.match(status.lastError?.message ?? '', /socket already closed/);
  });

  test('only started plugins are cleaned up: not disabled, failed or never-initialized ones; paused ones are', async () => {
    const events: string[] = [];
    const manager = newManager();
    await manager.register(tagger('never-started', events));
    await manager.shutdown();
    assert.deepEqual(events, [], 'shutdown before initialize calls no plugin code');
    assert.equal(statusOf(manager, 'never-started').state, 'UNLOADED');
    assert.deepEqual(path(statusOf(manager, 'never-started')).slice(-2), ['LOADED→UNLOADING', 'UNLOADING→UNLOADED']);

    const second = await startManager([
      [tagger('disabled', events), { enabled: false }],
      tagger('failed', events, {
        initialize: () => {
          throw new Error('x');
        },
      }),
      tagger('paused', events),
    ]);
    second.pausePlugin('paused');
    events.length = 0;
    await second.shutdown();
    assert.deepEqual(events, ['shutdown:paused']);
    for (const name of ['disabled', 'failed', 'paused']) assert.equal(statusOf(second, name).state, 'UNLOADED');
  });

  test('shutdown is idempotent and the manager refuses work afterwards', async () => {
    const events: string[] = [];
    const manager = await startManager([createScriptedBackend(), tagger('once', events)]);
    await manager.shutdown();
    await manager.shutdown();
    assert.deepEqual(
      events.filter((event) => event.startsWith('shutdown:')),
      ['shutdown:once'],
    );
    assert.equal(manager.running, false);
    await assert.rejects(manager.register(tagger('after')), { code: 'MANAGER_NOT_RUNNING' });
    await assert.rejects(manager.loadPlugin('/nowhere.plugin.ts'), { code: 'MANAGER_NOT_RUNNING' });
    await assert.rejects(manager.initialize(), { code: 'MANAGER_NOT_RUNNING' });
    assert.throws(() => manager.chat(chatRequest('hi')), { code: 'MANAGER_NOT_RUNNING' });
  });
});

// ——— unloading ———

describe('unloadPlugin (FR-1.4)', () => {
  test('drains first: a request already running finishes on the plugin, then its shutdown runs', {
    timeout: HANG_GUARD_MS,
  }, async () => {
    const events: string[] = [];
    const backendCalled = deferred();
    const backend = createScriptedBackend({
      latencyMs: 30,
      reply: (context) => {
        events.push('backend:called');
        backendCalled.resolve();
        return `echo ${context.messages.at(-1)?.content}`;
      },
    });
    const outputTagger = definePlugin({
      metadata: { name: 'out-tagger', version: '1.0.0' },
      direction: 'output',
      processMessage: (message) => {
        events.push('out-tagger:process');
        return withContent(message, `${message.content} [tagged]`);
      },
      shutdown: () => {
        events.push('out-tagger:shutdown');
      },
    });
    const observer = definePlugin({
      metadata: { name: 'observer', version: '1.0.0' },
      onRequestEnd: ({ outcome }) => {
        events.push(`request:${outcome}`);
      },
    });
    const manager = await startManager([backend, outputTagger, observer]);

    const first = manager.chat(chatRequest('one'));
    await backendCalled.promise; // the request is in flight, waiting on the slow backend
    const unloading = manager.unloadPlugin('out-tagger', 'operator');
    assert.equal(statusOf(manager, 'out-tagger').state, 'UNLOADING', 'it leaves the pipeline at once');

    // A request that starts now runs without the plugin being unloaded.
    const second = manager.chat(chatRequest('two'));
    const [firstResponse, secondResponse] = await Promise.all([first, second]);
    await unloading;

    assert.equal(firstResponse.message.content, 'echo one [tagged]', 'the running request kept the plugin');
    assert.equal(secondResponse.message.content, 'echo two');
    const shutdownAt = events.indexOf('out-tagger:shutdown');
    assert.ok(shutdownAt > events.indexOf('out-tagger:process'), events.join(', '));
    assert.ok(shutdownAt > events.indexOf('request:completed'), `shutdown must follow the request end: ${events}`);
    assert.equal(events.filter((event) => event === 'out-tagger:process').length, 1);
    assert.equal(manager.getPluginStatus().plugins['out-tagger'], undefined, 'gone from the status');
    await manager.shutdown();
  });

  test('unloading the backend mid-request: the request completes, then the backend shuts down', {
    timeout: HANG_GUARD_MS,
  }, async () => {
    const events: string[] = [];
    const backendCalled = deferred();
    const scripted = createScriptedBackend({
      latencyMs: 30,
      reply: () => {
        backendCalled.resolve();
        return 'late answer';
      },
    });
    const backend = definePlugin({
      metadata: scripted.metadata,
      chat: async (context, call) => {
        const reply = await scripted.chat(context, call);
        events.push('backend:replied');
        return reply;
      },
      listModels: scripted.listModels,
      shutdown: () => {
        events.push('backend:shutdown');
      },
    });
    const manager = await startManager([backend]);
    const chat = manager.chat(chatRequest('hi'));
    await backendCalled.promise;
    const unloading = manager.unloadPlugin('scripted');
    const response = await chat;
    await unloading;
    assert.equal(response.message.content, 'late answer');
    assert.deepEqual(events, ['backend:replied', 'backend:shutdown']);
    assert.deepEqual(manager.backendNames, []);
    await manager.shutdown();
  });

  test('draining is bounded by drainTimeoutMs when a request never ends', { timeout: HANG_GUARD_MS }, async () => {
    const events: string[] = [];
    const backendCalled = deferred();
    const manager = await startManager(
      [
        createScriptedBackend({
          latencyMs: Number.POSITIVE_INFINITY,
          reply: () => {
            backendCalled.resolve();
            return 'never';
          },
        }),
        tagger('tag', events),
      ],
      { drainTimeoutMs: 20 },
    );
    const controller = new AbortController();
    const chat = manager.chat(chatRequest('hi'), { signal: controller.signal });
    await backendCalled.promise;
    await manager.unloadPlugin('tag');
    assert.ok(events.includes('shutdown:tag'), 'unload finished although the request is still running');
    controller.abort();
    await assert.rejects(chat, { code: 'REQUEST_ABORTED' });
    await manager.shutdown();
  });

  test('unload removes its hooks, fires pluginUnloaded, and the name can be loaded again', async () => {
    const events: string[] = [];
    const unloaded: string[] = [];
    const observer = definePlugin({
      metadata: { name: 'observer', version: '1.0.0' },
      onPluginUnloaded: ({ plugin, reason }) => {
        unloaded.push(`${plugin}:${reason}`);
      },
    });
    const manager = await startManager([createScriptedBackend(), observer, tagger('tag', events)]);
    await manager.chat(chatRequest('a'));
    await manager.unloadPlugin('tag', 'replaced');
    assert.deepEqual(unloaded, ['tag:replaced']);
    await manager.chat(chatRequest('b'));
    assert.equal(events.filter((event) => event === 'requestEnd:tag').length, 1, 'no hook calls after unload');

    await manager.register(tagger('tag', events));
    assert.equal(statusOf(manager, 'tag').state, 'ACTIVE');
    assert.equal((await manager.chat(chatRequest('c'))).message.content, 'You said: c +tag');
    await manager.shutdown();
  });

  test('a plugin in ERROR or never started can be unloaded without running its code', async () => {
    const events: string[] = [];
    const manager = await startManager([
      tagger('broken', events, {
        initialize: () => {
          throw new Error('x');
        },
      }),
      [tagger('off', events), { enabled: false }],
    ]);
    await manager.unloadPlugin('broken');
    await manager.unloadPlugin('off');
    assert.deepEqual(events, []);
    assert.deepEqual(Object.keys(manager.getPluginStatus().plugins), []);
    await manager.shutdown();
  });
});

// ——— duplicates, disabled plugins, pause/resume ———

describe('duplicate names', () => {
  test('a second plugin with a loaded name is rejected with PLUGIN_DUPLICATE_NAME; the first is untouched', async () => {
    const events: string[] = [];
    const manager = await startManager([createScriptedBackend(), tagger('dup', events)]);
    await assert.rejects(manager.register(tagger('dup', events)), (error: unknown) => {
      assert.ok(isPlugboardError(error, 'PLUGIN_DUPLICATE_NAME'));
      assert.match(error.message, /a plugin named "dup" is already loaded/);
      assert.equal(error.plugin, 'dup');
      return true;
    });
    assert.deepEqual(events, ['init:dup']);
    assert.equal(statusOf(manager, 'dup').state, 'ACTIVE');
    assert.equal((await manager.chat(chatRequest('hi'))).message.content, 'You said: hi +dup');
    await manager.shutdown();
  });
});

describe('disabled plugins (enabled: false)', () => {
  test('stay LOADED, are not initialized, are not in the pipeline and their hooks do not run', async () => {
    const events: string[] = [];
    const manager = await startManager([
      createScriptedBackend(),
      [tagger('off', events), { enabled: false }],
      tagger('on', events),
    ]);
    const status = statusOf(manager, 'off');
    assert.equal(status.state, 'LOADED');
    assert.equal(status.enabled, false);
    assert.deepEqual(path(status), ['UNLOADED→LOADING', 'LOADING→LOADED']);
    const response = await manager.chat(chatRequest('hi'));
    assert.equal(response.message.content, 'You said: hi +on');
    assert.deepEqual(events, ['init:on', 'requestEnd:on']);
    await manager.shutdown();
  });

  test('a disabled backend is not offered', async () => {
    const manager = await startManager([
      [createScriptedBackend({ name: 'off-backend' }), { enabled: false }],
      createScriptedBackend({ name: 'on-backend' }),
    ]);
    assert.deepEqual(manager.backendNames, ['on-backend']);
    assert.equal(manager.getBackendProvider('off-backend'), undefined);
    await manager.shutdown();
  });
});

describe('pause and resume', () => {
  test('a paused plugin leaves the pipeline and its hooks stop; resuming brings both back', async () => {
    const events: string[] = [];
    const manager = await startManager([createScriptedBackend(), tagger('tag', events)]);
    manager.pausePlugin('tag', 'maintenance');
    assert.equal(statusOf(manager, 'tag').state, 'PAUSED');
    assert.equal((await manager.chat(chatRequest('a'))).message.content, 'You said: a');
    assert.ok(!events.includes('requestEnd:tag'));

    manager.resumePlugin('tag', 'maintenance over');
    assert.equal(statusOf(manager, 'tag').state, 'ACTIVE');
    assert.equal((await manager.chat(chatRequest('b'))).message.content, 'You said: b +tag');
    assert.deepEqual(events, ['init:tag', 'requestEnd:tag'], 'no re-initialization on resume');
    const last = statusOf(manager, 'tag').transitions.slice(-2);
    assert.deepEqual(
      last.map(({ from, to, reason }) => `${from}→${to} (${reason})`),
      ['ACTIVE→PAUSED (maintenance)', 'PAUSED→ACTIVE (maintenance over)'],
    );
    await manager.shutdown();
  });

  test('a paused backend is not offered', async () => {
    const manager = await startManager([createScriptedBackend()]);
    manager.pausePlugin('scripted');
    assert.deepEqual(manager.backendNames, []);
    manager.resumePlugin('scripted');
    assert.deepEqual(manager.backendNames, ['scripted']);
    await manager.shutdown();
  });

  test('illegal pauses and resumes are refused with ILLEGAL_STATE_TRANSITION and change nothing', async () => {
    const manager = newManager();
    await manager.register(tagger('idle'));
    assert.throws(
      () => manager.pausePlugin('idle'),
      (error: unknown) => {
        assert.ok(isPlugboardError(error, 'ILLEGAL_STATE_TRANSITION'));
        assert.match(error.message, /cannot move from LOADED to PAUSED/);
        return true;
      },
    );
    await manager.initialize();
    assert.throws(() => manager.resumePlugin('idle'), { code: 'ILLEGAL_STATE_TRANSITION' });
    manager.pausePlugin('idle');
    assert.throws(() => manager.pausePlugin('idle'), { code: 'ILLEGAL_STATE_TRANSITION' });
    assert.equal(statusOf(manager, 'idle').state, 'PAUSED');

    await manager.register(
      tagger('failed', [], {
        initialize: () => {
          throw new Error('x');
        },
      }),
    );
    assert.throws(() => manager.resumePlugin('failed'), { code: 'ILLEGAL_STATE_TRANSITION' });
    assert.throws(() => manager.pausePlugin('failed'), { code: 'ILLEGAL_STATE_TRANSITION' });
    assert.equal(statusOf(manager, 'failed').state, 'ERROR');
    assert.throws(() => manager.pausePlugin('ghost'), { code: 'PLUGIN_NOT_FOUND' });
    await manager.shutdown();
  });
});
