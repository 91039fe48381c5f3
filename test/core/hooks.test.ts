/**
 * The hook system (FR-4, FR-5): the 13 hooks and their kinds, when each fires, priority
 * order, registration (automatic and manual), waterfall replacement and its validation,
 * background MONITORING handlers, the concurrency limit, failFast, timeouts and metrics.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AnyPlugin,
  appendMessages,
  type ChatContext,
  createMessage,
  createSilentLogger,
  definePlugin,
  HOOK_KINDS,
  HOOK_NAMES,
  type HookName,
  hookMethodName,
  isPlugboardError,
  lastUserMessage,
  type Message,
  type PlugboardError,
  PluginManager,
  type PluginManagerOptions,
  type PluginSettings,
  type Priority,
  updateContext,
  withContent,
} from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';
import { deferred } from '../support/deferred.ts';

// ——— small synchronisation helpers (promises, never sleeps) ———

/** A counter whose value can be awaited. */
class Counter {
  value = 0;
  max = 0;
  readonly #waiters: { target: number; wake: () => void }[] = [];

  up(): void {
    this.value++;
    this.max = Math.max(this.max, this.value);
    for (const waiter of this.#waiters.filter((w) => this.value >= w.target)) waiter.wake();
  }

  down(): void {
    this.value--;
  }

  reached(target: number): Promise<void> {
    if (this.value >= target) return Promise.resolve();
    return new Promise((wake) => this.#waiters.push({ target, wake }));
  }
}

/** Lets every already-queued callback and promise job run (not a time-based wait). */
async function drainEventLoop(rounds = 5): Promise<void> {
  for (let round = 0; round < rounds; round++) await new Promise((resolve) => setImmediate(resolve));
}

/** A plugin with only `on<Hook>` handlers, each pushing the hook name and payload. */
function createRecorder(name = 'recorder', settings: { priority?: Priority } = {}) {
  const events: { hook: HookName; payload: Record<string, unknown> }[] = [];
  const plugin: Record<string, unknown> = {
    metadata: { name, version: '1.0.0', ...(settings.priority ? { priority: settings.priority } : {}) },
  };
  for (const hook of HOOK_NAMES) {
    plugin[hookMethodName(hook)] = (payload: Record<string, unknown>) => {
      events.push({ hook, payload });
    };
  }
  return {
    plugin: plugin as unknown as AnyPlugin,
    events,
    hooks: () => events.map((event) => event.hook),
    of: (hook: HookName) => events.filter((event) => event.hook === hook).map((event) => event.payload),
    clear: () => {
      events.length = 0;
    },
  };
}

/** A hook-only plugin handling `hook` with `handler`. */
function hookPlugin<H extends HookName>(
  name: string,
  hook: H,
  handler: (payload: never, call: never) => unknown,
  metadata: Partial<AnyPlugin['metadata']> = {},
): AnyPlugin {
  return { metadata: { name, version: '1.0.0', ...metadata }, [hookMethodName(hook)]: handler } as AnyPlugin;
}

function manager(
  plugins: readonly (unknown | readonly [unknown, PluginSettings])[],
  options: PluginManagerOptions = {},
): Promise<PluginManager> {
  return startManager(plugins, options);
}

const EXPECTED_KINDS = {
  startup: 'sequential',
  shutdown: 'sequential',
  pluginLoaded: 'parallel',
  pluginUnloaded: 'parallel',
  configReloaded: 'parallel',
  requestStart: 'waterfall',
  requestEnd: 'parallel',
  messageReceived: 'waterfall',
  messageSent: 'parallel',
  beforeModelCall: 'waterfall',
  afterModelCall: 'sequential',
  streamChunk: 'sequential',
  error: 'parallel',
} as const;

describe('hook map', () => {
  test('has exactly the 13 hooks of the spec, each with its kind', () => {
    assert.equal(HOOK_NAMES.length, 13);
    assert.deepEqual([...HOOK_NAMES].sort(), Object.keys(EXPECTED_KINDS).sort());
    assert.deepEqual({ ...HOOK_KINDS }, EXPECTED_KINDS);
  });

  test('maps each hook to its on<Hook> method name', () => {
    assert.equal(hookMethodName('messageReceived'), 'onMessageReceived');
    assert.equal(hookMethodName('error'), 'onError');
    const methods = HOOK_NAMES.map(hookMethodName);
    assert.equal(new Set(methods).size, 13);
    for (const method of methods) assert.match(method, /^on[A-Z][A-Za-z]+$/);
  });

  test('getHookInfo lists every hook with its kind and handlers', async () => {
    const recorder = createRecorder();
    const m = await manager([createScriptedBackend(), recorder.plugin]);
    try {
      const info = m.hooks.getHookInfo();
      assert.deepEqual(Object.keys(info).sort(), [...HOOK_NAMES].sort());
      for (const hook of HOOK_NAMES) {
        assert.equal(info[hook].kind, EXPECTED_KINDS[hook]);
        assert.deepEqual(info[hook].handlers, [{ plugin: 'recorder', priority: 'NORMAL', automatic: true }]);
      }
    } finally {
      await m.shutdown();
    }
  });
});

describe('every hook fires at the right moment', () => {
  test('lifecycle, chat (plain and streamed), errors, config reload, unload and shutdown', async () => {
    const recorder = createRecorder();
    const lifecycle: string[] = [];
    // The recorder logs its own shutdown() too, to check the shutdown hook runs before plugins stop.
    (recorder.plugin as { shutdown?: () => void }).shutdown = () => {
      lifecycle.push('recorder.shutdown()');
      recorder.events.push({ hook: 'shutdown', payload: { marker: 'plugin-shutdown-method' } });
    };
    const victim = hookPlugin('victim', 'requestEnd', () => undefined);
    const backend = createScriptedBackend({
      reply: 'Hello there friend',
      chunking: 5,
      fail: (call) => (call === 3 ? { error: new Error('backend exploded') } : undefined),
    });
    const m = new PluginManager({ logger: createSilentLogger() });
    await m.register(recorder.plugin);
    await m.register(backend);
    await m.register(victim);
    assert.deepEqual(recorder.hooks(), [], 'nothing fires before initialize()');
    await m.initialize();

    // Start-up: pluginLoaded for each plugin as it starts (the recorder starts first), then startup.
    assert.deepEqual(recorder.hooks(), ['pluginLoaded', 'pluginLoaded', 'pluginLoaded', 'startup']);
    assert.deepEqual(
      recorder.of('pluginLoaded').map((payload) => payload.plugin),
      ['recorder', 'scripted', 'victim'],
    );
    assert.equal((recorder.of('pluginLoaded')[1]!.metadata as { name: string }).name, 'scripted');
    assert.deepEqual([...(recorder.of('startup')[0]!.plugins as string[])].sort(), ['recorder', 'scripted', 'victim']);

    // A plain chat request.
    recorder.clear();
    const response = await m.chat(chatRequest('hi there'));
    assert.equal(response.message.content, 'Hello there friend');
    assert.deepEqual(recorder.hooks(), [
      'requestStart',
      'messageReceived',
      'beforeModelCall',
      'afterModelCall',
      'messageSent',
      'requestEnd',
    ]);
    const requestId = response.requestId;
    for (const event of recorder.events) {
      assert.equal((event.payload.context as ChatContext).requestId, requestId, `${event.hook} carries the request`);
    }
    assert.equal((recorder.of('messageReceived')[0]!.message as Message).content, 'hi there');
    assert.equal(recorder.of('beforeModelCall')[0]!.backend, 'scripted');
    assert.equal(recorder.of('beforeModelCall')[0]!.turn, 1);
    const after = recorder.of('afterModelCall')[0]!;
    assert.equal((after.message as Message).content, 'Hello there friend');
    assert.equal(after.turn, 1);
    assert.equal(after.finishReason, 'stop');
    assert.equal(typeof after.durationMs, 'number');
    assert.equal((recorder.of('messageSent')[0]!.message as Message).content, 'Hello there friend');
    const end = recorder.of('requestEnd')[0]!;
    assert.equal(end.outcome, 'completed');
    assert.equal(end.response, response);
    assert.ok((end.durationMs as number) >= 0);

    // A streamed request: streamChunk fires once per chunk, in order, before the caller gets it.
    recorder.clear();
    const streamed = await collectStream(m.stream(chatRequest('stream please', { stream: true })));
    assert.equal(streamed.text, 'Hello there friend');
    const chunkEvents = recorder.of('streamChunk');
    assert.equal(chunkEvents.length, streamed.chunks.length);
    assert.deepEqual(
      chunkEvents.map((payload) => payload.index),
      chunkEvents.map((_, index) => index),
    );
    assert.deepEqual(
      chunkEvents.map((payload) => payload.chunk),
      streamed.chunks,
    );
    const streamOrder = recorder.hooks();
    assert.equal(streamOrder[0], 'requestStart');
    assert.ok(streamOrder.indexOf('streamChunk') > streamOrder.indexOf('beforeModelCall'));
    assert.ok(streamOrder.indexOf('streamChunk') < streamOrder.indexOf('afterModelCall'));
    assert.deepEqual(streamOrder.slice(-2), ['messageSent', 'requestEnd']);

    // A failing request: the error hook, then requestEnd with outcome 'failed'.
    recorder.clear();
    await assert.rejects(m.chat(chatRequest('this one fails')), (error: unknown) => {
      assert.ok(isPlugboardError(error, 'BACKEND_FAILED'));
      return true;
    });
    const failedOrder = recorder.hooks();
    assert.deepEqual(failedOrder.slice(-2), ['error', 'requestEnd']);
    assert.ok(!failedOrder.includes('messageSent'));
    const reported = recorder.of('error')[0]!;
    assert.equal((reported.error as PlugboardError).code, 'BACKEND_FAILED');
    assert.equal(reported.stage, 'chat');
    assert.equal(recorder.of('requestEnd')[0]!.outcome, 'failed');
    assert.equal((recorder.of('requestEnd')[0]!.error as PlugboardError).code, 'BACKEND_FAILED');

    // configReloaded is dispatched by the config layer; here directly.
    recorder.clear();
    const report = { version: 2, changed: ['victim'], refused: [{ plugin: 'x', reason: 'not allowed' }] };
    const dispatch = await m.hooks.execute('configReloaded', report);
    assert.deepEqual(recorder.hooks(), ['configReloaded']);
    assert.deepEqual(recorder.of('configReloaded')[0], report);
    assert.equal(dispatch.results.length, 1);
    assert.ok(dispatch.results[0]!.result.ok);

    // pluginUnloaded, after the plugin is gone.
    recorder.clear();
    await m.unloadPlugin('victim', 'no longer wanted');
    assert.deepEqual(recorder.hooks(), ['pluginUnloaded']);
    assert.deepEqual(recorder.of('pluginUnloaded')[0], { plugin: 'victim', reason: 'no longer wanted' });
    assert.equal(m.getPluginStatus().plugins.victim, undefined);

    // shutdown: the hook runs while plugins are still up, before their shutdown() methods.
    recorder.clear();
    await m.shutdown('maintenance');
    assert.deepEqual(recorder.hooks(), ['shutdown', 'shutdown']);
    assert.deepEqual(recorder.events[0]!.payload, { reason: 'maintenance' });
    assert.deepEqual(recorder.events[1]!.payload, { marker: 'plugin-shutdown-method' });
    assert.deepEqual(lifecycle, ['recorder.shutdown()']);
  });

  test('all 13 hooks fired at least once over a session', async () => {
    const recorder = createRecorder();
    const m = await manager([
      recorder.plugin,
      createScriptedBackend({ fail: (call) => (call === 2 ? { error: new Error('down') } : undefined) }),
      hookPlugin('other', 'startup', () => undefined),
    ]);
    await m.chat(chatRequest('one', { stream: true }));
    await m.chat(chatRequest('two')).catch(() => undefined);
    await m.hooks.execute('configReloaded', { version: 1, changed: [], refused: [] });
    await m.unloadPlugin('other');
    await m.shutdown();
    assert.deepEqual([...new Set(recorder.hooks())].sort(), [...HOOK_NAMES].sort());
  });
});

describe('priority order', () => {
  test('CRITICAL → HIGH → NORMAL → LOW → MONITORING, registration order within a priority', async () => {
    const order: string[] = [];
    const monitoringDone = deferred();
    const observer = (name: string) => async () => {
      order.push(`${name}:start`);
      await Promise.resolve();
      order.push(`${name}:end`);
      if (name === 'mon') monitoringDone.resolve();
    };
    // Registered deliberately out of order.
    const plugins: [AnyPlugin, PluginSettings][] = [
      [hookPlugin('low', 'afterModelCall', observer('low')), { priority: 'LOW' }],
      [hookPlugin('mon', 'afterModelCall', observer('mon')), { priority: 'MONITORING' }],
      [hookPlugin('normal-a', 'afterModelCall', observer('normal-a')), {}],
      [hookPlugin('crit', 'afterModelCall', observer('crit')), { priority: 'CRITICAL' }],
      [hookPlugin('normal-b', 'afterModelCall', observer('normal-b')), { priority: 'NORMAL' }],
      [hookPlugin('high', 'afterModelCall', observer('high')), { priority: 'HIGH' }],
    ];
    const m = await manager([createScriptedBackend(), ...plugins]);
    try {
      assert.deepEqual(
        m.hooks.getHookInfo().afterModelCall.handlers.map((handler) => `${handler.plugin}/${handler.priority}`),
        ['crit/CRITICAL', 'high/HIGH', 'normal-a/NORMAL', 'normal-b/NORMAL', 'low/LOW', 'mon/MONITORING'],
      );
      await m.chat(chatRequest('order'));
      await monitoringDone.promise;
      // Sequential hook: each handler finishes before the next starts; MONITORING comes last.
      assert.deepEqual(order, [
        'crit:start',
        'crit:end',
        'high:start',
        'high:end',
        'normal-a:start',
        'normal-a:end',
        'normal-b:start',
        'normal-b:end',
        'low:start',
        'low:end',
        'mon:start',
        'mon:end',
      ]);
    } finally {
      await m.shutdown();
    }
  });

  test('a waterfall hook passes the subject down in priority order', async () => {
    const tag =
      (label: string) =>
      ({ context }: { context: ChatContext }) =>
        updateContext(context, {
          metadata: { ...context.metadata, trail: [...((context.metadata.trail as string[]) ?? []), label] },
        });
    const backend = createScriptedBackend();
    const m = await manager([
      backend,
      [hookPlugin('b-low', 'requestStart', tag('low')), { priority: 'LOW' }],
      [hookPlugin('a-normal-1', 'requestStart', tag('normal-1')), {}],
      [hookPlugin('c-critical', 'requestStart', tag('critical')), { priority: 'CRITICAL' }],
      [hookPlugin('d-normal-2', 'requestStart', tag('normal-2')), {}],
    ]);
    try {
      await m.chat(chatRequest('trail'));
      assert.deepEqual(backend.calls[0]!.metadata.trail, ['critical', 'normal-1', 'normal-2', 'low']);
    } finally {
      await m.shutdown();
    }
  });

  test('a manual registration may use a priority other than its plugin’s', async () => {
    const order: string[] = [];
    const m = await manager([
      createScriptedBackend(),
      [hookPlugin('early', 'messageSent', () => void order.push('early')), { priority: 'HIGH' }],
      [hookPlugin('late', 'startup', () => undefined), { priority: 'LOW' }],
    ]);
    try {
      m.registerHook('messageSent', () => void order.push('late-manual'), 'CRITICAL', 'late');
      await m.chat(chatRequest('x'));
      // messageSent is parallel, but with a free slot for each handler they start in priority order.
      assert.deepEqual(order, ['late-manual', 'early']);
    } finally {
      await m.shutdown();
    }
  });
});

describe('registration', () => {
  test('on<Hook> methods auto-register, also on class instances (with `this` bound)', async () => {
    class Audit {
      readonly metadata = { name: 'audit', version: '1.0.0' };
      readonly seen: string[] = [];
      onRequestStart({ context }: { context: ChatContext }) {
        this.seen.push(`start:${lastUserMessage(context)?.content}`);
      }
      onRequestEnd({ outcome }: { outcome: string }) {
        this.seen.push(`end:${outcome}`);
      }
    }
    const audit = new Audit();
    const m = await manager([createScriptedBackend(), audit]);
    try {
      const info = m.hooks.getHookInfo();
      assert.deepEqual(info.requestStart.handlers, [{ plugin: 'audit', priority: 'NORMAL', automatic: true }]);
      assert.deepEqual(info.requestEnd.handlers, [{ plugin: 'audit', priority: 'NORMAL', automatic: true }]);
      assert.deepEqual(info.messageSent.handlers, []);
      assert.deepEqual([...m.getPluginStatus().plugins.audit!.hooks].sort(), ['requestEnd', 'requestStart']);
      await m.chat(chatRequest('hello'));
      assert.deepEqual(audit.seen, ['start:hello', 'end:completed']);
    } finally {
      await m.shutdown();
    }
  });

  test('a misspelt on<Hook> method is refused with a suggestion', async () => {
    const m = new PluginManager({ logger: createSilentLogger() });
    await assert.rejects(
      m.register({ metadata: { name: 'typo', version: '1.0.0' }, onRequestStrat: () => undefined }),
      (error: unknown) => {
        assert.ok(isPlugboardError(error, 'PLUGIN_INVALID_STRUCTURE'));
        assert.match(error.message, /onRequestStrat/);
        assert.match(error.message, /onRequestStart/);
        return true;
      },
    );
    await m.shutdown();
  });

  test('manual registerHook/unregisterHook on the manager', async () => {
    const seen: string[] = [];
    const backend = createScriptedBackend();
    const m = await manager([backend, hookPlugin('helper', 'startup', () => undefined)]);
    try {
      m.registerHook(
        'messageReceived',
        ({ message }) => void seen.push(`received:${message.content}`),
        'HIGH',
        'helper',
      );
      m.registerHook(
        'beforeModelCall',
        ({ context }) => appendMessages(context, [createMessage({ role: 'system', content: 'manual' })]),
        'NORMAL',
        'helper',
      );
      const info = m.hooks.getHookInfo();
      assert.deepEqual(info.messageReceived.handlers, [{ plugin: 'helper', priority: 'HIGH', automatic: false }]);
      assert.deepEqual(info.beforeModelCall.handlers, [{ plugin: 'helper', priority: 'NORMAL', automatic: false }]);

      await m.chat(chatRequest('first'));
      assert.deepEqual(seen, ['received:first']);
      assert.equal(backend.calls[0]!.messages.at(-1)!.content, 'manual');

      assert.equal(m.unregisterHook('messageReceived', 'helper'), 1);
      assert.equal(m.unregisterHook('messageReceived', 'helper'), 0, 'nothing left to remove');
      await m.chat(chatRequest('second'));
      assert.deepEqual(seen, ['received:first'], 'the unregistered handler no longer runs');
      assert.equal(backend.calls[1]!.messages.at(-1)!.content, 'manual', 'the other registration stays');

      // Without a hook name, every handler of the plugin goes (the automatic one too).
      assert.equal(m.unregisterHook(undefined, 'helper'), 2);
      assert.deepEqual(m.hooks.getHookInfo().startup.handlers, []);
      assert.deepEqual(m.hooks.getHookInfo().beforeModelCall.handlers, []);
    } finally {
      await m.shutdown();
    }
  });

  test('registerHook refuses unknown plugins and unknown hooks', async () => {
    const m = await manager([hookPlugin('helper', 'startup', () => undefined)]);
    try {
      assert.throws(
        () => m.registerHook('requestEnd', () => undefined, 'NORMAL', 'nobody'),
        (error: unknown) => isPlugboardError(error, 'PLUGIN_NOT_FOUND') && /nobody/.test(error.message),
      );
      for (const name of ['requestBegin', 'toString', 'constructor', '__proto__']) {
        assert.throws(
          () => m.registerHook(name as HookName, () => undefined, 'NORMAL', 'helper'),
          (error: unknown) => isPlugboardError(error, 'HOOK_UNKNOWN'),
          `"${name}" is not a hook`,
        );
      }
      // The table is unharmed.
      assert.deepEqual(Object.keys(m.hooks.getHookInfo()).sort(), [...HOOK_NAMES].sort());
    } finally {
      await m.shutdown();
    }
  });

  test('unloading a plugin removes all of its hooks, automatic and manual', async () => {
    const calls: string[] = [];
    const leaving = definePlugin({
      metadata: { name: 'leaving', version: '1.0.0' },
      onRequestStart: () => void calls.push('leaving:requestStart'),
      onMessageSent: () => void calls.push('leaving:messageSent'),
    });
    const staying = hookPlugin('staying', 'requestStart', () => void calls.push('staying:requestStart'));
    const m = await manager([createScriptedBackend(), leaving, staying]);
    try {
      m.registerHook('requestEnd', () => void calls.push('leaving:manual'), 'LOW', 'leaving');
      await m.chat(chatRequest('before'));
      assert.deepEqual(calls.sort(), [
        'leaving:manual',
        'leaving:messageSent',
        'leaving:requestStart',
        'staying:requestStart',
      ]);

      await m.unloadPlugin('leaving');
      const info = m.hooks.getHookInfo();
      for (const hook of HOOK_NAMES) {
        assert.ok(!info[hook].handlers.some((handler) => handler.plugin === 'leaving'), `${hook} has no leaving`);
      }
      assert.deepEqual(info.requestStart.handlers, [{ plugin: 'staying', priority: 'NORMAL', automatic: true }]);
      calls.length = 0;
      await m.chat(chatRequest('after'));
      assert.deepEqual(calls, ['staying:requestStart']);
    } finally {
      await m.shutdown();
    }
  });
});

describe('plugin state and dispatch', () => {
  test('a paused plugin’s handlers do not run until it is resumed', async () => {
    const seen: string[] = [];
    const m = await manager([
      createScriptedBackend(),
      hookPlugin(
        'pausable',
        'requestStart',
        (({ context }: { context: ChatContext }) => void seen.push(lastUserMessage(context)!.content)) as never,
      ),
    ]);
    try {
      await m.chat(chatRequest('one'));
      m.pausePlugin('pausable');
      await m.chat(chatRequest('two'));
      const direct = await m.hooks.execute('requestStart', { context: chatRequest('three') });
      assert.deepEqual(direct.results, [], 'execute skips handlers of plugins that are not ACTIVE');
      m.resumePlugin('pausable');
      await m.chat(chatRequest('four'));
      assert.deepEqual(seen, ['one', 'four']);
    } finally {
      await m.shutdown();
    }
  });

  test('a hook without handlers returns its payload untouched and is not counted', async () => {
    const m = await manager([hookPlugin('only-startup', 'startup', () => undefined)]);
    try {
      const payload = { plugin: 'x', reason: 'test' };
      const dispatch = await m.hooks.execute('pluginUnloaded', payload);
      assert.equal(dispatch.payload, payload);
      assert.deepEqual(dispatch.results, []);
      assert.equal(m.hooks.getMetrics().dispatches.pluginUnloaded, undefined);
      assert.equal(m.hooks.getMetrics().dispatches.startup, 1, 'the startup dispatch of initialize()');
    } finally {
      await m.shutdown();
    }
  });
});

describe('waterfall hooks', () => {
  test('requestStart and beforeModelCall replace the context, messageReceived the message', async () => {
    const backend = createScriptedBackend();
    const seenByNext: string[] = [];
    const m = await manager([
      backend,
      definePlugin({
        metadata: { name: 'first', version: '1.0.0', priority: 'HIGH' },
        onRequestStart: ({ context }) => updateContext(context, { metadata: { tenant: 'acme' } }),
        onMessageReceived: ({ message }) => withContent(message, `${message.content} (edited)`),
        onBeforeModelCall: ({ context, turn }) =>
          appendMessages(context, [createMessage({ role: 'system', content: `turn ${turn}` })], { position: 'start' }),
      }),
      definePlugin({
        metadata: { name: 'second', version: '1.0.0', priority: 'LOW' },
        onRequestStart: ({ context }) => void seenByNext.push(`requestStart:${String(context.metadata.tenant)}`),
        onMessageReceived: ({ message, context }) => {
          seenByNext.push(`messageReceived:${message.content}`);
          // The payload's context still holds the message as it was before the hook.
          seenByNext.push(`context:${lastUserMessage(context)?.content}`);
        },
        onBeforeModelCall: ({ context }) => void seenByNext.push(`beforeModelCall:${context.messages[0]!.content}`),
      }),
    ]);
    try {
      const response = await m.chat(chatRequest('hello'));
      assert.deepEqual(seenByNext, [
        'requestStart:acme',
        'messageReceived:hello (edited)',
        'context:hello',
        'beforeModelCall:turn 1',
      ]);
      const sent = backend.calls[0]!;
      assert.equal(sent.metadata.tenant, 'acme');
      assert.equal(lastUserMessage(sent)?.content, 'hello (edited)');
      assert.deepEqual(
        sent.messages.map((message) => `${message.role}:${message.content}`),
        ['system:turn 1', 'user:hello (edited)'],
      );
      assert.equal(response.message.content, 'You said: hello (edited)');
      assert.ok(response.steps.every((step) => step.outcome === 'ok'));
      assert.deepEqual(
        response.steps.filter((step) => step.plugin === 'first').map((step) => step.operation),
        ['hook:requestStart', 'hook:messageReceived', 'hook:beforeModelCall'],
      );
    } finally {
      await m.shutdown();
    }
  });

  test('a handler returning nothing keeps what earlier handlers replaced', async () => {
    const backend = createScriptedBackend();
    const seen: unknown[] = [];
    const m = await manager([
      backend,
      [
        definePlugin({
          metadata: { name: 'changer', version: '1.0.0' },
          onRequestStart: ({ context }) => updateContext(context, { metadata: { step: 'changed' } }),
          onMessageReceived: ({ message }) => withContent(message, 'changed text'),
          onBeforeModelCall: ({ context }) => updateContext(context, { options: { temperature: 0.5 } }),
        }),
        { priority: 'HIGH' },
      ],
      [
        definePlugin({
          metadata: { name: 'bystander', version: '1.0.0' },
          onRequestStart: () => undefined,
          onMessageReceived: () => undefined,
          onBeforeModelCall: () => undefined,
        }),
        { priority: 'LOW' },
      ],
      [
        definePlugin({
          metadata: { name: 'watcher', version: '1.0.0' },
          onRequestStart: ({ context }) => void seen.push(context.metadata.step),
          onMessageReceived: ({ message }) => void seen.push(message.content),
          onBeforeModelCall: ({ context }) => void seen.push(context.options.temperature),
        }),
        { priority: 'LOW' },
      ],
    ]);
    try {
      await m.chat(chatRequest('original text'));
      assert.deepEqual(seen, ['changed', 'changed text', 0.5]);
      const sent = backend.calls[0]!;
      assert.equal(sent.metadata.step, 'changed');
      assert.equal(lastUserMessage(sent)?.content, 'changed text');
      assert.equal(sent.options.temperature, 0.5);
    } finally {
      await m.shutdown();
    }
  });

  test('MONITORING handlers of a waterfall hook observe the final subject', async () => {
    const observed = deferred<ChatContext>();
    const m = await manager([
      createScriptedBackend(),
      hookPlugin('tagger', 'requestStart', (({ context }: { context: ChatContext }) =>
        updateContext(context, { metadata: { tagged: true } })) as never),
      hookPlugin(
        'observer',
        'requestStart',
        (({ context }: { context: ChatContext }) => observed.resolve(context)) as never,
        {
          priority: 'MONITORING',
        },
      ),
    ]);
    try {
      await m.chat(chatRequest('observe'));
      assert.equal((await observed.promise).metadata.tagged, true);
    } finally {
      await m.shutdown();
    }
  });

  const invalidReplacements: {
    name: string;
    hook: 'requestStart' | 'messageReceived' | 'beforeModelCall';
    returns: (payload: { context: ChatContext; message?: Message }) => unknown;
  }[] = [
    { name: 'requestStart returning a number', hook: 'requestStart', returns: () => 42 },
    {
      name: 'requestStart returning a context with a new requestId',
      hook: 'requestStart',
      returns: ({ context }) => ({ ...context, requestId: 'someone-else' }),
    },
    {
      name: 'requestStart returning a context with an unknown key',
      hook: 'requestStart',
      returns: ({ context }) => ({ ...context, mesages: [] }),
    },
    { name: 'messageReceived returning a string', hook: 'messageReceived', returns: () => 'just text' },
    {
      name: 'messageReceived returning a message with a bad role',
      hook: 'messageReceived',
      returns: ({ message }) => ({ ...message, role: 'robot', content: 'hijacked' }),
    },
    {
      name: 'beforeModelCall returning a context with a bad message',
      hook: 'beforeModelCall',
      returns: ({ context }) => ({ ...context, messages: [{ role: 'user', content: 7 }] }),
    },
    { name: 'beforeModelCall returning null', hook: 'beforeModelCall', returns: () => null },
  ];

  for (const { name, hook, returns } of invalidReplacements) {
    test(`an invalid replacement is rejected and the previous value kept: ${name}`, async () => {
      const backend = createScriptedBackend();
      const errors: PlugboardError[] = [];
      const seenAfter: unknown[] = [];
      const m = await manager([
        backend,
        [hookPlugin('broken', hook, returns as never), { priority: 'HIGH' }],
        [
          hookPlugin(
            'after',
            hook,
            ((payload: { context: ChatContext; message?: Message }) =>
              void seenAfter.push(payload.message ?? payload.context)) as never,
          ),
          { priority: 'LOW' },
        ],
        hookPlugin('errors', 'error', (({ error }: { error: PlugboardError }) => void errors.push(error)) as never),
      ]);
      try {
        const request = chatRequest('keep me');
        const response = await m.chat(request);
        const step = response.steps.find((s) => s.plugin === 'broken');
        assert.deepEqual(
          { ...step, durationMs: 0 },
          {
            plugin: 'broken',
            operation: `hook:${hook}`,
            outcome: 'bypassed',
            durationMs: 0,
            errorCode: 'PLUGIN_INVALID_RESULT',
          },
        );
        // The next handler saw the previous value, and so did the backend.
        if (hook === 'messageReceived') assert.equal(seenAfter[0], request.messages[0]);
        else assert.equal(seenAfter[0], request);
        assert.deepEqual(backend.calls[0]!.messages, request.messages);
        assert.equal(backend.calls[0]!.requestId, request.requestId);
        assert.equal(response.message.content, 'You said: keep me');
        assert.equal(errors.length, 1);
        assert.equal(errors[0]!.code, 'PLUGIN_INVALID_RESULT');
        assert.equal(errors[0]!.plugin, 'broken');
        assert.equal(errors[0]!.hook, `hook:${hook}`);
        assert.equal(m.getMetrics().hooks.plugins.broken![hook]!.failures, 1);
      } finally {
        await m.shutdown();
      }
    });
  }
});

describe('MONITORING handlers run in the background', () => {
  test('a MONITORING handler that never resolves does not delay the response', async () => {
    const started = deferred();
    const release = deferred();
    let settled = false;
    const slow = hookPlugin(
      'slow-monitor',
      'requestEnd',
      async () => {
        started.resolve();
        await release.promise;
        settled = true;
      },
      { priority: 'MONITORING' },
    );
    const m = await manager([createScriptedBackend(), slow]);
    try {
      const response = await m.chat(chatRequest('fast please'));
      assert.equal(response.message.content, 'You said: fast please');
      await started.promise; // it did run …
      assert.equal(settled, false); // … and the response did not wait for it
      // Its (non-)result is not part of the request's steps either.
      assert.ok(!response.steps.some((step) => step.plugin === 'slow-monitor'));
    } finally {
      release.resolve();
      await m.shutdown();
    }
    assert.equal(settled, true);
  });

  test('a MONITORING handler that hangs in a waterfall hook does not hold up the request either', async () => {
    const release = deferred();
    const m = await manager([
      createScriptedBackend(),
      hookPlugin('hanging-monitor', 'beforeModelCall', () => release.promise, { priority: 'MONITORING' }),
    ]);
    try {
      const response = await m.chat(chatRequest('go'));
      assert.equal(response.message.content, 'You said: go');
    } finally {
      release.resolve();
      await m.shutdown();
    }
  });

  test('its payload is frozen: an attempted mutation throws inside the handler', async () => {
    const outcome = deferred<{ topLevel: unknown; nested: unknown; frozen: boolean }>();
    const attempt = (fn: () => void): unknown => {
      try {
        fn();
        return undefined;
      } catch (error) {
        return error;
      }
    };
    const monitor = hookPlugin(
      'meddler',
      'requestEnd',
      (payload: { outcome: string; context: ChatContext }) => {
        outcome.resolve({
          topLevel: attempt(() => {
            (payload as { outcome: string }).outcome = 'rejected';
          }),
          nested: attempt(() => {
            (payload.context.metadata as Record<string, unknown>).tampered = true;
          }),
          frozen: Object.isFrozen(payload),
        });
      },
      { priority: 'MONITORING' },
    );
    const observed: string[] = [];
    const m = await manager([
      createScriptedBackend(),
      monitor,
      [hookPlugin('late-observer', 'requestEnd', ({ outcome: o }: { outcome: string }) => void observed.push(o)), {}],
    ]);
    try {
      const response = await m.chat(chatRequest('freeze'));
      const { topLevel, nested, frozen } = await outcome.promise;
      assert.ok(topLevel instanceof TypeError, 'assigning a payload field throws');
      assert.ok(nested instanceof TypeError, 'assigning inside the context throws');
      assert.equal(frozen, true);
      assert.deepEqual(observed, ['completed']);
      assert.deepEqual(response.metadata, {});
    } finally {
      await m.shutdown();
    }
  });

  test('background handlers beyond the concurrency limit and queue are dropped and counted', async () => {
    const release = deferred();
    const started = new Counter();
    const m = await manager(
      [
        hookPlugin(
          'busy-monitor',
          'configReloaded',
          async () => {
            started.up();
            await release.promise;
          },
          { priority: 'MONITORING' },
        ),
      ],
      { maxConcurrentHooks: 1, monitoringQueue: 1 },
    );
    try {
      const report = { version: 1, changed: [], refused: [] };
      for (let index = 0; index < 4; index++) await m.hooks.execute('configReloaded', report);
      await started.reached(1);
      await drainEventLoop();
      // One runs, one waits in the queue, two are dropped.
      assert.equal(m.hooks.getMetrics().droppedMonitoring, 2);
      assert.equal(m.getMetrics().system.droppedMonitoringHooks, 2);
      release.resolve();
      await started.reached(2);
      assert.equal(started.value, 2);
    } finally {
      release.resolve();
      await m.shutdown();
    }
  });
});

describe('parallel dispatch', () => {
  test('maxConcurrentHooks bounds how many handlers run at once', async () => {
    const running = new Counter();
    const started = new Counter();
    const gates = Array.from({ length: 6 }, () => deferred());
    const plugins = gates.map((gate, index) =>
      hookPlugin(`worker-${index}`, 'messageSent', async () => {
        started.up();
        running.up();
        await gate.promise;
        running.down();
      }),
    );
    const m = await manager([createScriptedBackend(), ...plugins], { maxConcurrentHooks: 2 });
    try {
      const chat = m.chat(chatRequest('parallel'));
      await started.reached(2);
      await drainEventLoop();
      assert.equal(started.value, 2, 'no third handler starts while two run');
      gates[0]!.resolve();
      await started.reached(3);
      await drainEventLoop();
      assert.equal(started.value, 3);
      for (const gate of gates) gate.resolve();
      const response = await chat;
      assert.equal(started.value, 6, 'every handler ran');
      assert.equal(running.max, 2, 'never more than two at once');
      assert.equal(response.steps.filter((step) => step.operation === 'hook:messageSent').length, 6);
    } finally {
      for (const gate of gates) gate.resolve();
      await m.shutdown();
    }
  });

  test('with a high limit, all handlers of a parallel hook run concurrently', async () => {
    const running = new Counter();
    const release = deferred();
    const plugins = Array.from({ length: 5 }, (_, index) =>
      hookPlugin(`p-${index}`, 'configReloaded', async () => {
        running.up();
        await release.promise;
        running.down();
      }),
    );
    const m = await manager(plugins, { maxConcurrentHooks: 10 });
    try {
      const dispatch = m.hooks.execute('configReloaded', { version: 1, changed: [], refused: [] });
      await running.reached(5);
      release.resolve();
      const { results } = await dispatch;
      assert.equal(results.length, 5);
      assert.equal(running.max, 5);
    } finally {
      release.resolve();
      await m.shutdown();
    }
  });
});

describe('failFast', () => {
  test('a sequential dispatch stops at the first failure', async () => {
    const ran: string[] = [];
    const m = await manager([
      [hookPlugin('one', 'startup', () => void ran.push('one')), { priority: 'CRITICAL' }],
      [
        hookPlugin('two', 'startup', () => {
          ran.push('two');
          throw new Error('two broke');
        }),
        { priority: 'HIGH' },
      ],
      [hookPlugin('three', 'startup', () => void ran.push('three')), { priority: 'LOW' }],
    ]);
    try {
      ran.length = 0;
      const fast = await m.hooks.execute('startup', { plugins: [] }, { failFast: true });
      assert.deepEqual(ran, ['one', 'two']);
      assert.deepEqual(
        fast.results.map(({ plugin, result }) => `${plugin}:${result.ok}`),
        ['one:true', 'two:false'],
      );
      assert.equal(fast.results[1]!.result.ok === false && fast.results[1]!.result.error.code, 'PLUGIN_CALL_FAILED');

      ran.length = 0;
      const all = await m.hooks.execute('startup', { plugins: [] });
      assert.deepEqual(ran, ['one', 'two', 'three'], 'without failFast every handler runs');
      assert.equal(all.results.length, 3);
    } finally {
      await m.shutdown();
    }
  });

  test('a parallel dispatch starts no further handlers after a failure', async () => {
    const ran: string[] = [];
    const plugins = ['a', 'b', 'c', 'd'].map((name) =>
      hookPlugin(`p-${name}`, 'configReloaded', () => {
        ran.push(name);
        if (name === 'b') throw new Error('b broke');
      }),
    );
    const m = await manager(plugins, { maxConcurrentHooks: 1 });
    try {
      const report = { version: 1, changed: [], refused: [] };
      const fast = await m.hooks.execute('configReloaded', report, { failFast: true });
      assert.deepEqual(ran, ['a', 'b']);
      assert.equal(fast.results.length, 2);
      ran.length = 0;
      await m.hooks.execute('configReloaded', report);
      assert.deepEqual(ran, ['a', 'b', 'c', 'd']);
    } finally {
      await m.shutdown();
    }
  });
});

describe('hook timeouts', () => {
  test('a hanging handler times out with PLUGIN_TIMEOUT and the pipeline continues', async () => {
    const aborted = deferred<unknown>();
    const errors: PlugboardError[] = [];
    const backend = createScriptedBackend();
    const m = await manager([
      backend,
      [
        hookPlugin('sleepy', 'requestStart', (_payload: unknown, call: { signal: AbortSignal }) => {
          call.signal.addEventListener('abort', () => aborted.resolve(call.signal.reason));
          return new Promise(() => {}); // never settles
        }),
        { timeoutMs: 20 },
      ],
      hookPlugin('errors', 'error', (({ error }: { error: PlugboardError }) => void errors.push(error)) as never),
    ]);
    try {
      const start = performance.now();
      const response = await m.chat(chatRequest('still here'));
      assert.ok(performance.now() - start >= 20, 'the request waited for the timeout, no longer');
      assert.equal(response.message.content, 'You said: still here');
      const step = response.steps.find((s) => s.plugin === 'sleepy')!;
      assert.equal(step.outcome, 'bypassed');
      assert.equal(step.errorCode, 'PLUGIN_TIMEOUT');
      assert.equal(step.operation, 'hook:requestStart');
      // The handler is told to stop through its AbortSignal.
      const reason = await aborted.promise;
      assert.ok(isPlugboardError(reason, 'PLUGIN_TIMEOUT'));
      assert.equal(errors.length, 1);
      assert.equal(errors[0]!.code, 'PLUGIN_TIMEOUT');
      assert.deepEqual(errors[0]!.details, { timeoutMs: 20 });
      const stats = m.hooks.getMetrics('sleepy').plugins.sleepy!.requestStart!;
      assert.equal(stats.timeouts, 1);
      assert.equal(stats.failures, 0);
      assert.equal(stats.successes, 0);
      assert.equal(m.getPluginStatus().plugins.sleepy!.lastError?.code, 'PLUGIN_TIMEOUT');
    } finally {
      await m.shutdown();
    }
  });

  test('the timeout comes from the plugin’s settings, then its metadata, then the manager default', async () => {
    const seen: Record<string, number> = {};
    const hang = () => new Promise(() => {});
    const m = await manager(
      [
        [hookPlugin('by-settings', 'configReloaded', hang, { timeoutMs: 5_000 }), { timeoutMs: 15 }],
        hookPlugin('by-metadata', 'configReloaded', hang, { timeoutMs: 25 }),
        hookPlugin('by-default', 'configReloaded', hang),
      ],
      { defaultTimeoutMs: 35 },
    );
    try {
      const { results } = await m.hooks.execute('configReloaded', { version: 1, changed: [], refused: [] });
      for (const { plugin, result } of results) {
        assert.equal(result.ok, false);
        if (!result.ok) {
          assert.equal(result.error.code, 'PLUGIN_TIMEOUT');
          seen[plugin] = result.error.details?.timeoutMs as number;
          assert.ok(result.durationMs >= seen[plugin]!, `${plugin} waited its timeout`);
        }
      }
      assert.deepEqual(seen, { 'by-settings': 15, 'by-metadata': 25, 'by-default': 35 });
    } finally {
      await m.shutdown();
    }
  });
});

describe('hook metrics', () => {
  test('per plugin and hook: invocations, successes, failures, timeouts, latency, last execution', async () => {
    let call = 0;
    const plugin = hookPlugin('measured', 'configReloaded', async () => {
      call++;
      if (call === 3) throw new Error('third call fails');
      if (call === 4) await new Promise(() => {});
    });
    const m = await manager([[plugin, { timeoutMs: 30 }]]);
    try {
      const before = Date.now();
      const report = { version: 1, changed: [], refused: [] };
      for (let index = 0; index < 4; index++) await m.hooks.execute('configReloaded', report);
      const after = Date.now();

      const hookMetrics = m.hooks.getMetrics();
      const stats = hookMetrics.plugins.measured!.configReloaded!;
      assert.equal(stats.invocations, 4);
      assert.equal(stats.successes, 2);
      assert.equal(stats.failures, 1);
      assert.equal(stats.timeouts, 1);
      assert.equal(stats.skipped, 0);
      assert.equal(stats.successRate, 0.5);
      assert.equal(stats.errorRate, 0.5);
      const { min, mean, max, p50, p99 } = stats.latencyMs;
      assert.ok(min > 0 && min <= p50 && p50 <= p99 && p99 <= max, JSON.stringify(stats.latencyMs));
      assert.ok(mean >= min && mean <= max);
      assert.ok(max >= 29, 'the timed-out call took its timeout (30 ms, ~1% histogram precision)');
      const last = Date.parse(stats.lastExecutedAt!);
      assert.ok(last >= before && last <= after, 'lastExecutedAt is the time of the last call');
      assert.equal(hookMetrics.dispatches.configReloaded, 4);

      // The same numbers through the manager's report and the per-plugin filter.
      assert.deepEqual(m.getMetrics().hooks.plugins.measured, hookMetrics.plugins.measured);
      assert.deepEqual(m.getMetrics().plugins.measured!.operations['hook:configReloaded'], stats);
      assert.deepEqual(Object.keys(m.hooks.getMetrics('measured').plugins), ['measured']);
      assert.deepEqual(m.hooks.getMetrics('nobody').plugins, {});
    } finally {
      await m.shutdown();
    }
  });

  test('metrics are kept per hook, only for hooks that ran', async () => {
    const m = await manager([
      createScriptedBackend(),
      definePlugin({
        metadata: { name: 'multi', version: '1.0.0' },
        onRequestStart: () => undefined,
        onRequestEnd: () => undefined,
        onShutdown: () => undefined,
      }),
    ]);
    try {
      assert.deepEqual(m.hooks.getMetrics().plugins.multi, {}, 'nothing ran yet');
      await m.chat(chatRequest('a'));
      await m.chat(chatRequest('b'));
      const stats = m.hooks.getMetrics().plugins.multi!;
      assert.deepEqual(Object.keys(stats).sort(), ['requestEnd', 'requestStart']);
      assert.equal(stats.requestStart!.invocations, 2);
      assert.equal(stats.requestEnd!.invocations, 2);
      assert.equal(stats.requestStart!.successes, 2);
      assert.equal(m.getMetrics().system.hookDispatches >= 4, true);
    } finally {
      await m.shutdown();
    }
  });
});
