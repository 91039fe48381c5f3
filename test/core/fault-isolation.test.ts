/**
 * Fault isolation (FR-5.3, NFR-5, NFR-6) and failure policies: whatever a plugin does wrong,
 * the request completes with the user's message intact, the failure is recorded (step,
 * metrics, breaker, `error` hook) — unless the plugin is fail-closed, in which case the
 * request is rejected with PLUGIN_FAILED_CLOSED.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AnyPlugin,
  type ChatContext,
  createSilentLogger,
  defineFeatureExtension,
  defineMessageProcessor,
  defineMiddleware,
  definePlugin,
  type ErrorCode,
  fail,
  isPlugboardError,
  type Message,
  PlugboardError,
  PluginManager,
  type PluginSettings,
  type RequestOutcome,
  updateContext,
  withContent,
} from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';

/** What a faulty plugin method is given. */
interface Input {
  readonly message?: Message;
  readonly context: ChatContext;
}

interface Fault {
  readonly name: string;
  readonly code: ErrorCode;
  readonly metric: 'failures' | 'timeouts';
  readonly behave: (input: Input) => unknown;
}

const TIMEOUT_MS = 25;

const FAULTS: readonly Fault[] = [
  {
    name: 'throws',
    code: 'PLUGIN_CALL_FAILED',
    metric: 'failures',
    behave: () => {
      throw new Error('kaboom');
    },
  },
  {
    name: 'throws a non-Error value',
    code: 'PLUGIN_CALL_FAILED',
    metric: 'failures',
    behave: () => {
      throw 'just a string';
    },
  },
  {
    name: 'rejects',
    code: 'PLUGIN_CALL_FAILED',
    metric: 'failures',
    behave: async () => {
      await Promise.resolve();
      throw new Error('async kaboom');
    },
  },
  {
    name: 'returns a failure result',
    code: 'PLUGIN_CALL_FAILED',
    metric: 'failures',
    behave: () => fail('PLUGIN_CALL_FAILED', 'declined on purpose'),
  },
  {
    name: 'hangs past its timeout',
    code: 'PLUGIN_TIMEOUT',
    metric: 'timeouts',
    behave: () => new Promise(() => {}),
  },
  {
    name: 'returns a number',
    code: 'PLUGIN_INVALID_RESULT',
    metric: 'failures',
    behave: () => 42,
  },
  {
    name: 'returns a message with a bad role',
    code: 'PLUGIN_INVALID_RESULT',
    metric: 'failures',
    behave: ({ message, context }) =>
      message
        ? { ...message, role: 'robot', content: 'hijacked' }
        : { ...context, messages: [{ role: 'robot', content: 'hijacked' }] },
  },
  {
    name: 'mutates its input',
    code: 'PLUGIN_CALL_FAILED',
    metric: 'failures',
    behave: ({ message, context }) => {
      if (message) (message as { content: string }).content = 'hacked';
      else (context.messages[0] as { content: string }).content = 'hacked';
      return message ?? context;
    },
  },
  {
    name: 'mutates the context’s metadata',
    code: 'PLUGIN_CALL_FAILED',
    metric: 'failures',
    behave: ({ context }) => {
      (context.metadata as Record<string, unknown>).hacked = true;
      return undefined;
    },
  },
];

interface Target {
  readonly name: string;
  /** The operation recorded in steps and metrics. */
  readonly operation: string;
  readonly build: (behave: (input: Input) => unknown, calls: { count: number }) => AnyPlugin;
}

const TARGETS: readonly Target[] = [
  {
    name: 'message processor',
    operation: 'processMessage.input',
    build: (behave, calls) =>
      defineMessageProcessor({
        metadata: { name: 'faulty', version: '1.0.0' },
        direction: 'input',
        processMessage: (message, context) => {
          calls.count++;
          return behave({ message, context }) as Message;
        },
      }),
  },
  {
    name: 'middleware',
    operation: 'processRequest',
    build: (behave, calls) =>
      defineMiddleware({
        metadata: { name: 'faulty', version: '1.0.0' },
        processRequest: (context) => {
          calls.count++;
          return behave({ context }) as ChatContext;
        },
      }),
  },
  {
    name: 'feature extension',
    operation: 'extend',
    build: (behave, calls) =>
      defineFeatureExtension({
        metadata: { name: 'faulty', version: '1.0.0' },
        extend: (context) => {
          calls.count++;
          return behave({ context }) as ChatContext;
        },
      }),
  },
  {
    name: 'hook handler (messageReceived)',
    operation: 'hook:messageReceived',
    build: (behave, calls) =>
      definePlugin({
        metadata: { name: 'faulty', version: '1.0.0' },
        onMessageReceived: ({ message, context }) => {
          calls.count++;
          return behave({ message, context }) as Message;
        },
      }),
  },
  {
    name: 'hook handler (requestStart)',
    operation: 'hook:requestStart',
    build: (behave, calls) =>
      definePlugin({
        metadata: { name: 'faulty', version: '1.0.0' },
        onRequestStart: ({ context }) => {
          calls.count++;
          return behave({ context }) as ChatContext;
        },
      }),
  },
];

/** A plugin that records every error and request end it is told about. */
function createObserver() {
  const errors: { error: PlugboardError; stage: string }[] = [];
  const ends: { outcome: RequestOutcome; error?: PlugboardError }[] = [];
  const loaded: string[] = [];
  const plugin = definePlugin({
    metadata: { name: 'observer', version: '1.0.0' },
    onError: ({ error, stage }) => void errors.push({ error, stage }),
    onRequestEnd: ({ outcome, error }) => void ends.push({ outcome, ...(error ? { error } : {}) }),
    onPluginLoaded: ({ plugin: name }) => void loaded.push(name),
  });
  return { plugin, errors, ends, loaded };
}

describe('fault table (NFR-5): a failing plugin is bypassed and the request completes', () => {
  for (const target of TARGETS) {
    for (const fault of FAULTS) {
      test(`${target.name} that ${fault.name}`, async () => {
        const calls = { count: 0 };
        const backend = createScriptedBackend();
        const observer = createObserver();
        const m = await startManager(
          [backend, observer.plugin, [target.build(fault.behave, calls), { timeoutMs: TIMEOUT_MS }]],
          {
            circuitBreaker: { failureThreshold: 1 },
          },
        );
        try {
          const request = chatRequest('hello world');
          const response = await m.chat(request);

          // The pipeline completed with the user's message preserved for the backend.
          assert.equal(response.message.content, 'You said: hello world');
          assert.equal(backend.calls.length, 1);
          assert.equal(backend.calls[0], request, 'the backend got the request exactly as sent');
          assert.deepEqual(
            backend.calls[0]!.messages.map((message) => [message.role, message.content]),
            [['user', 'hello world']],
          );
          assert.deepEqual(backend.calls[0]!.metadata, {});
          assert.equal(request.messages[0]!.content, 'hello world', 'no mutation leaked');

          // The step is recorded as bypassed, with the code.
          assert.equal(calls.count, 1);
          const steps = response.steps.filter((step) => step.plugin === 'faulty');
          assert.equal(steps.length, 1);
          assert.equal(steps[0]!.operation, target.operation);
          assert.equal(steps[0]!.outcome, 'bypassed');
          assert.equal(steps[0]!.errorCode, fault.code);
          if (fault.code === 'PLUGIN_TIMEOUT') assert.ok(steps[0]!.durationMs >= TIMEOUT_MS);

          // The failure metric moved (and nothing else).
          const metrics = m.getMetrics().plugins.faulty!;
          const operation = metrics.operations[target.operation]!;
          assert.equal(operation.invocations, 1);
          assert.equal(operation[fault.metric], 1);
          assert.equal(operation.successes, 0);
          assert.equal(metrics[fault.metric], 1);

          // The breaker counted it (threshold 1: it is now open).
          const status = m.getPluginStatus().plugins.faulty!;
          assert.equal(status.breaker.state, 'open');
          assert.equal(status.breaker.opened, 1);
          assert.equal(status.state, 'ACTIVE', 'a failing call does not change the plugin state');
          assert.equal(status.lastError?.code, fault.code);

          // The error hook was told, with the plugin and operation.
          assert.equal(observer.errors.length, 1);
          const reported = observer.errors[0]!;
          assert.equal(reported.error.code, fault.code);
          assert.equal(reported.error.plugin, 'faulty');
          assert.equal(reported.error.hook, target.operation);
          assert.equal(reported.stage, target.operation);
          assert.deepEqual(
            observer.ends.map((end) => end.outcome),
            ['completed'],
          );

          // The next request skips the plugin and still completes.
          const second = await m.chat(chatRequest('again'));
          assert.equal(second.message.content, 'You said: again');
          assert.equal(calls.count, 1, 'the open circuit kept the plugin from being called');
          const skipped = second.steps.find((step) => step.plugin === 'faulty');
          assert.equal(skipped?.outcome, 'skipped');
          assert.equal(skipped?.errorCode, 'PLUGIN_CIRCUIT_OPEN');
        } finally {
          await m.shutdown();
        }
      });
    }
  }
});

describe('other isolation guarantees', () => {
  test('a failing plugin does not stop the plugins after it', async () => {
    const backend = createScriptedBackend();
    const m = await startManager([
      backend,
      [
        defineMessageProcessor({
          metadata: { name: 'broken', version: '1.0.0' },
          direction: 'input',
          processMessage: () => {
            throw new Error('broken');
          },
        }),
        { priority: 'HIGH' },
      ],
      [
        defineMessageProcessor({
          metadata: { name: 'shout', version: '1.0.0' },
          direction: 'input',
          processMessage: (message) => withContent(message, message.content.toUpperCase()),
        }),
        { priority: 'LOW' },
      ],
    ]);
    try {
      const response = await m.chat(chatRequest('quiet'));
      assert.equal(response.message.content, 'You said: QUIET');
      assert.deepEqual(
        response.steps
          .filter((step) => step.operation === 'processMessage.input')
          .map((step) => `${step.plugin}:${step.outcome}`),
        ['broken:bypassed', 'shout:ok'],
      );
    } finally {
      await m.shutdown();
    }
  });

  test('inputs are deep-frozen: a mutation a plugin catches changes nothing', async () => {
    const attempts: unknown[] = [];
    const attempt = (fn: () => void) => {
      try {
        fn();
        attempts.push('no error');
      } catch (error) {
        attempts.push(error);
      }
    };
    const backend = createScriptedBackend();
    const m = await startManager([
      backend,
      defineMessageProcessor({
        metadata: { name: 'sneaky', version: '1.0.0' },
        direction: 'input',
        processMessage: (message, context) => {
          attempt(() => {
            (message as { content: string }).content = 'changed';
          });
          attempt(() => {
            (context.messages as Message[]).push(message);
          });
          attempt(() => {
            (context.options as Record<string, unknown>).temperature = 2;
          });
          attempt(() => {
            (context as { model?: string }).model = 'other';
          });
          return message;
        },
      }),
    ]);
    try {
      const request = chatRequest('pristine');
      const response = await m.chat(request);
      assert.equal(attempts.length, 4);
      for (const error of attempts) assert.ok(error instanceof TypeError, String(error));
      assert.equal(backend.calls[0], request);
      assert.deepEqual(request.messages, [{ role: 'user', content: 'pristine' }]);
      assert.deepEqual(request.options, {});
      assert.equal(request.model, undefined);
      assert.equal(response.steps.find((step) => step.plugin === 'sneaky')?.outcome, 'ok');
    } finally {
      await m.shutdown();
    }
  });

  const hookFaults = ['requestStart', 'beforeModelCall', 'afterModelCall', 'messageSent', 'streamChunk'] as const;
  for (const hook of hookFaults) {
    test(`a throwing ${hook} handler is bypassed and the (streamed) request completes`, async () => {
      const observer = createObserver();
      const m = await startManager([
        createScriptedBackend({ reply: 'fine thanks' }),
        observer.plugin,
        {
          metadata: { name: 'faulty', version: '1.0.0' },
          [`on${hook[0]!.toUpperCase()}${hook.slice(1)}`]: () => {
            throw new Error(`${hook} broke`);
          },
        },
      ]);
      try {
        const stream = m.stream(chatRequest('how are you', { stream: true }));
        let text = '';
        for await (const chunk of stream) text += chunk.content ?? '';
        const response = await stream.response;
        assert.equal(text, 'fine thanks');
        assert.equal(response.message.content, 'fine thanks');
        const steps = response.steps.filter((step) => step.plugin === 'faulty');
        assert.ok(steps.length >= 1);
        for (const step of steps) {
          assert.equal(step.outcome, 'bypassed');
          assert.equal(step.errorCode, 'PLUGIN_CALL_FAILED');
          assert.equal(step.operation, `hook:${hook}`);
        }
        assert.equal(observer.errors.length, steps.length, 'each failure reaches the error hook');
        assert.ok(observer.errors.every(({ error }) => error.plugin === 'faulty'));
        assert.deepEqual(
          observer.ends.map((end) => end.outcome),
          ['completed'],
        );
      } finally {
        await m.shutdown();
      }
    });
  }

  test('a failing requestEnd or error handler never fails the request', async () => {
    const m = await startManager([
      createScriptedBackend({ fail: (call) => (call === 2 ? { error: new Error('backend down') } : undefined) }),
      definePlugin({
        metadata: { name: 'faulty', version: '1.0.0' },
        onRequestEnd: () => {
          throw new Error('end broke');
        },
        onError: () => Promise.reject(new Error('error handler broke')),
      }),
    ]);
    try {
      const response = await m.chat(chatRequest('one'));
      assert.equal(response.message.content, 'You said: one');
      // The backend failure is what the caller sees, not the error handler's own failure.
      await assert.rejects(m.chat(chatRequest('two')), (error: unknown) => isPlugboardError(error, 'BACKEND_FAILED'));
      const operations = m.getMetrics().plugins.faulty!.operations;
      assert.equal(operations['hook:requestEnd']!.failures, 2);
      assert.equal(operations['hook:error']!.failures, 1);
    } finally {
      await m.shutdown();
    }
  });
});

describe('initialization failure isolates the plugin', () => {
  const initFaults: { name: string; initialize: () => unknown; cause: ErrorCode }[] = [
    {
      name: 'throws',
      initialize: () => {
        throw new Error('cannot connect');
      },
      cause: 'PLUGIN_CALL_FAILED',
    },
    { name: 'rejects', initialize: () => Promise.reject(new Error('cannot connect')), cause: 'PLUGIN_CALL_FAILED' },
    {
      name: 'returns a failure result',
      initialize: () => fail('PLUGIN_CALL_FAILED', 'no'),
      cause: 'PLUGIN_CALL_FAILED',
    },
    { name: 'hangs past its timeout', initialize: () => new Promise(() => {}), cause: 'PLUGIN_TIMEOUT' },
  ];

  for (const { name, initialize, cause } of initFaults) {
    test(`initialize that ${name}: ERROR state, others run without it`, async () => {
      let processed = 0;
      const observer = createObserver();
      const broken: AnyPlugin = {
        metadata: { name: 'broken', version: '1.0.0' },
        initialize: initialize as AnyPlugin['initialize'],
        processMessage: (message: Message) => {
          processed++;
          return withContent(message, 'broken was here');
        },
        onRequestStart: () => {
          processed++;
        },
      };
      const dependent = definePlugin({
        metadata: { name: 'dependent', version: '1.0.0', dependencies: { broken: '^1.0.0' } },
        onRequestEnd: () => {
          processed++;
        },
      });
      const backend = createScriptedBackend();
      const m = await startManager([observer.plugin, backend, [broken, { timeoutMs: TIMEOUT_MS }], dependent]);
      try {
        const status = m.getPluginStatus().plugins;
        assert.equal(status.broken!.state, 'ERROR');
        assert.equal(status.broken!.lastError?.code, 'PLUGIN_INIT_FAILED');
        assert.equal(status.broken!.lastError?.hook, 'initialize');
        assert.equal(status.broken!.breaker.state, 'closed', 'initialization does not go through the breaker');
        assert.equal(status.dependent!.state, 'ERROR');
        assert.equal(status.dependent!.lastError?.code, 'PLUGIN_DEPENDENCY_MISSING');
        assert.equal(status.observer!.state, 'ACTIVE');
        assert.equal(status.scripted!.state, 'ACTIVE');
        assert.deepEqual(observer.loaded, ['observer', 'scripted'], 'pluginLoaded only for plugins that started');

        const info = m.hooks.getHookInfo();
        assert.deepEqual(info.requestStart.handlers, [], 'the failed plugin’s hooks were never registered');
        assert.deepEqual(info.requestEnd.handlers, [{ plugin: 'observer', priority: 'NORMAL', automatic: true }]);

        const response = await m.chat(chatRequest('still works'));
        assert.equal(response.message.content, 'You said: still works');
        assert.equal(processed, 0);
        assert.ok(!response.steps.some((step) => step.plugin === 'broken'));
        assert.equal(m.getMetrics().system.plugins.error, 2);
        assert.equal(
          m.getMetrics().plugins.broken!.operations.initialize![cause === 'PLUGIN_TIMEOUT' ? 'timeouts' : 'failures'],
          1,
        );
      } finally {
        await m.shutdown();
      }
    });
  }

  test('the init error keeps the original cause', async () => {
    const original = new Error('database unreachable');
    const m = new PluginManager({ logger: createSilentLogger() });
    await m.register(createScriptedBackend());
    await m.initialize();
    // Registering into a running manager starts the plugin; its failure does not throw.
    await m.register(
      definePlugin({
        metadata: { name: 'late', version: '1.0.0' },
        initialize: () => {
          throw original;
        },
        onRequestStart: () => undefined,
      }),
    );
    try {
      assert.equal(m.getPluginStatus().plugins.late!.state, 'ERROR');
      assert.match(m.getPluginStatus().plugins.late!.lastError!.message, /database unreachable/);
      const response = await m.chat(chatRequest('ok'));
      assert.equal(response.message.content, 'You said: ok');
    } finally {
      await m.shutdown();
    }
  });
});

describe('failure policy: fail-closed plugins reject the request', () => {
  interface ClosedTarget {
    readonly name: string;
    /** Whether the backend is reached before the plugin runs. */
    readonly afterBackend: boolean;
    readonly build: (behave: () => unknown, calls: { count: number }) => AnyPlugin;
  }
  const closedTargets: readonly ClosedTarget[] = [
    {
      name: 'input message processor',
      afterBackend: false,
      build: (behave, calls) =>
        defineMessageProcessor({
          metadata: { name: 'strict', version: '1.0.0' },
          direction: 'input',
          processMessage: () => {
            calls.count++;
            return behave() as Message;
          },
        }),
    },
    {
      name: 'output message processor',
      afterBackend: true,
      build: (behave, calls) =>
        defineMessageProcessor({
          metadata: { name: 'strict', version: '1.0.0' },
          direction: 'output',
          processMessage: () => {
            calls.count++;
            return behave() as Message;
          },
        }),
    },
    {
      name: 'middleware',
      afterBackend: false,
      build: (behave, calls) =>
        defineMiddleware({
          metadata: { name: 'strict', version: '1.0.0' },
          processRequest: () => {
            calls.count++;
            return behave() as ChatContext;
          },
        }),
    },
    {
      name: 'feature extension',
      afterBackend: false,
      build: (behave, calls) =>
        defineFeatureExtension({
          metadata: { name: 'strict', version: '1.0.0' },
          extend: () => {
            calls.count++;
            return behave() as ChatContext;
          },
        }),
    },
    {
      name: 'requestStart hook handler',
      afterBackend: false,
      build: (behave, calls) =>
        definePlugin({
          metadata: { name: 'strict', version: '1.0.0' },
          onRequestStart: () => {
            calls.count++;
            return behave() as ChatContext;
          },
        }),
    },
    {
      name: 'messageSent hook handler (parallel)',
      afterBackend: true,
      build: (behave, calls) =>
        definePlugin({
          metadata: { name: 'strict', version: '1.0.0' },
          onMessageSent: () => {
            calls.count++;
            return behave() as Promise<void>;
          },
        }),
    },
  ];
  const closedFaults: { name: string; behave: () => unknown; cause: ErrorCode; hookOk?: boolean }[] = [
    {
      name: 'throws',
      behave: () => {
        throw new Error('strict failure');
      },
      cause: 'PLUGIN_CALL_FAILED',
    },
    { name: 'times out', behave: () => new Promise(() => {}), cause: 'PLUGIN_TIMEOUT' },
    { name: 'returns an invalid result', behave: () => 42, cause: 'PLUGIN_INVALID_RESULT', hookOk: true },
  ];

  for (const target of closedTargets) {
    for (const fault of closedFaults) {
      // messageSent results are ignored, so "invalid result" is no failure there.
      if (fault.hookOk && target.name.startsWith('messageSent')) continue;
      test(`${target.name} that ${fault.name}: PLUGIN_FAILED_CLOSED`, async () => {
        const calls = { count: 0 };
        const observer = createObserver();
        const backend = createScriptedBackend();
        const m = await startManager([
          backend,
          observer.plugin,
          [target.build(fault.behave, calls), { failurePolicy: 'closed', timeoutMs: TIMEOUT_MS }],
        ]);
        try {
          let rejected: PlugboardError | undefined;
          await assert.rejects(m.chat(chatRequest('let me in')), (error: unknown) => {
            assert.ok(isPlugboardError(error, 'PLUGIN_FAILED_CLOSED'), String(error));
            rejected = error;
            return true;
          });
          assert.equal(rejected!.plugin, 'strict');
          assert.equal(rejected!.status, 503);
          const cause = rejected!.cause;
          assert.ok(isPlugboardError(cause, fault.cause), `cause is ${fault.cause}: ${String(cause)}`);
          assert.equal(cause.plugin, 'strict');
          if (fault.name === 'throws') assert.equal((cause.cause as Error).message, 'strict failure');
          assert.equal(calls.count, 1);
          assert.equal(backend.calls.length, target.afterBackend ? 1 : 0);
          // requestEnd still fires, with outcome 'failed' and the error; the error hook is told.
          assert.deepEqual(
            observer.ends.map((end) => [end.outcome, end.error?.code]),
            [['failed', 'PLUGIN_FAILED_CLOSED']],
          );
          assert.ok(
            observer.errors.some(({ error }) => error === rejected),
            `the error hook was told: ${observer.errors.map(({ error }) => error.code).join(', ')}`,
          );
        } finally {
          await m.shutdown();
        }
      });
    }
  }

  test('an open breaker on a fail-closed plugin rejects with cause PLUGIN_CIRCUIT_OPEN', async () => {
    const calls = { count: 0 };
    const observer = createObserver();
    const m = await startManager(
      [
        createScriptedBackend(),
        observer.plugin,
        [
          defineMiddleware({
            metadata: { name: 'auth', version: '1.0.0', failurePolicy: 'closed' },
            processRequest: () => {
              calls.count++;
              throw new Error('auth service down');
            },
          }),
          {},
        ],
      ],
      { circuitBreaker: { failureThreshold: 2 } },
    );
    try {
      const causes: (string | undefined)[] = [];
      for (let index = 0; index < 4; index++) {
        await assert.rejects(m.chat(chatRequest(`attempt ${index}`)), (error: unknown) => {
          assert.ok(isPlugboardError(error, 'PLUGIN_FAILED_CLOSED'));
          causes.push(isPlugboardError(error.cause) ? error.cause.code : undefined);
          return true;
        });
      }
      assert.deepEqual(causes, [
        'PLUGIN_CALL_FAILED',
        'PLUGIN_CALL_FAILED',
        'PLUGIN_CIRCUIT_OPEN',
        'PLUGIN_CIRCUIT_OPEN',
      ]);
      assert.equal(calls.count, 2, 'the open breaker kept the plugin from being called');
      assert.deepEqual(
        observer.ends.map((end) => end.outcome),
        ['failed', 'failed', 'failed', 'failed'],
      );
      assert.equal(m.getMetrics().plugins.auth!.operations.processRequest!.skipped, 2);
    } finally {
      await m.shutdown();
    }
  });

  test('the policy comes from settings, then metadata, then the manager default', async () => {
    const throwing = (name: string, metadata: Partial<AnyPlugin['metadata']> = {}) =>
      defineMessageProcessor({
        metadata: { name, version: '1.0.0', ...metadata },
        direction: 'input',
        processMessage: () => {
          throw new Error(`${name} failed`);
        },
      });
    const scenarios: {
      name: string;
      settings: PluginSettings;
      metadata: Partial<AnyPlugin['metadata']>;
      managerDefault?: 'open' | 'closed';
      closed: boolean;
    }[] = [
      { name: 'default open', settings: {}, metadata: {}, closed: false },
      { name: 'metadata closed', settings: {}, metadata: { failurePolicy: 'closed' }, closed: true },
      {
        name: 'settings open over metadata closed',
        settings: { failurePolicy: 'open' },
        metadata: { failurePolicy: 'closed' },
        closed: false,
      },
      {
        name: 'settings closed over metadata open',
        settings: { failurePolicy: 'closed' },
        metadata: { failurePolicy: 'open' },
        closed: true,
      },
      { name: 'manager default closed', settings: {}, metadata: {}, managerDefault: 'closed', closed: true },
      {
        name: 'metadata open over manager default closed',
        settings: {},
        metadata: { failurePolicy: 'open' },
        managerDefault: 'closed',
        closed: false,
      },
    ];
    for (const scenario of scenarios) {
      const m = await startManager(
        [createScriptedBackend(), [throwing('proc', scenario.metadata), scenario.settings]],
        scenario.managerDefault ? { defaultFailurePolicy: scenario.managerDefault } : {},
      );
      try {
        assert.equal(
          m.getPluginStatus().plugins.proc!.failurePolicy,
          scenario.closed ? 'closed' : 'open',
          scenario.name,
        );
        const outcome = await m.chat(chatRequest('x')).then(
          (response) => response.steps.find((step) => step.plugin === 'proc')?.outcome,
          (error: unknown) => (isPlugboardError(error, 'PLUGIN_FAILED_CLOSED') ? 'rejected' : String(error)),
        );
        assert.equal(outcome, scenario.closed ? 'rejected' : 'bypassed', scenario.name);
      } finally {
        await m.shutdown();
      }
    }
  });

  test('a fail-closed plugin that failed to start refuses every request (not: skipped as a fail-open one is)', async () => {
    const backend = createScriptedBackend();
    const guard = defineMiddleware({
      metadata: { name: 'guard', version: '1.0.0', failurePolicy: 'closed' },
      initialize: () => {
        throw new Error('keys file /etc/keys.yaml: missing');
      },
      processRequest: (context) => context,
    });
    const m = await startManager([backend, guard]);
    try {
      assert.equal(m.getPluginStatus().plugins.guard!.state, 'ERROR');
      assert.deepEqual(m.failedClosedPlugins, ['guard']);
      for (const request of [chatRequest('let me in'), chatRequest('let me in', { stream: true })]) {
        const error = await (request.stream
          ? collectStream(m.stream(request)).then(() => undefined)
          : m.chat(request).then(() => undefined)
        ).catch((thrown: unknown) => thrown);
        assert.ok(isPlugboardError(error, 'PLUGIN_FAILED_CLOSED'), String(error));
        assert.equal(error.status, 503);
        assert.equal(error.plugin, 'guard');
        assert.doesNotMatch(error.publicMessage, /keys\.yaml/, 'why it failed stays in the log');
      }
      assert.equal(backend.calls.length, 0, 'no request got past the missing guard');
    } finally {
      await m.shutdown();
    }
  });

  test('a fail-closed plugin that concerns only some requests refuses those while it is down, and serves the rest', async () => {
    const backend = createScriptedBackend();
    const memory = defineFeatureExtension({
      metadata: { name: 'memory', version: '1.0.0', failurePolicy: 'closed' },
      initialize: () => {
        throw new Error('database file is read-only');
      },
      concerns: (context) => context.conversationId !== undefined,
      extend: (context) => context,
    });
    const m = await startManager([backend, memory]);
    try {
      assert.equal(m.getPluginStatus().plugins.memory!.state, 'ERROR');
      assert.deepEqual(m.failedClosedPlugins, [], 'it does not make the whole server refuse');
      const stateless = await m.chat(chatRequest('hi'));
      assert.equal(stateless.message.content, 'You said: hi');
      for (const request of [
        chatRequest('remember me', { conversationId: 'c-1' }),
        chatRequest('remember me', { conversationId: 'c-1', stream: true }),
      ]) {
        const error = await (request.stream
          ? collectStream(m.stream(request)).then(() => undefined)
          : m.chat(request).then(() => undefined)
        ).catch((thrown: unknown) => thrown);
        assert.ok(isPlugboardError(error, 'PLUGIN_FAILED_CLOSED'), String(error));
        assert.equal(error.plugin, 'memory');
      }
      assert.equal(backend.calls.length, 1, 'only the stateless request reached the backend');
    } finally {
      await m.shutdown();
    }
  });

  test('a fail-closed plugin that succeeds changes nothing', async () => {
    const m = await startManager([
      createScriptedBackend(),
      [
        defineMiddleware({
          metadata: { name: 'auth', version: '1.0.0' },
          processRequest: (context) => updateContext(context, { principal: { id: 'alice' } }),
        }),
        { failurePolicy: 'closed' },
      ],
    ]);
    try {
      const response = await m.chat(chatRequest('hi'));
      assert.equal(response.message.content, 'You said: hi');
      assert.equal(response.steps.find((step) => step.plugin === 'auth')?.outcome, 'ok');
    } finally {
      await m.shutdown();
    }
  });

  for (const failurePolicy of ['closed', 'open'] as const) {
    test(`a plugin's own coded 4xx is a refusal: the request ends with it as it is (fail-${failurePolicy}), and no breaker counts it`, async () => {
      const own = new PlugboardError('REQUEST_REJECTED', 'quota exceeded', { status: 429 });
      const m = await startManager(
        [
          createScriptedBackend(),
          [
            defineMessageProcessor({
              metadata: { name: 'quota', version: '1.0.0' },
              direction: 'input',
              processMessage: () => {
                throw own;
              },
            }),
            { failurePolicy },
          ],
        ],
        { circuitBreaker: { failureThreshold: 2 } },
      );
      try {
        for (let attempt = 0; attempt < 3; attempt++) {
          await assert.rejects(m.chat(chatRequest('x')), (error: unknown) => {
            assert.ok(isPlugboardError(error, 'REQUEST_REJECTED'), `the plugin's own error, not ${String(error)}`);
            assert.equal(error.message, 'quota exceeded');
            assert.equal(error.status, 429);
            assert.equal(error.plugin, 'quota');
            return true;
          });
        }
        const status = m.getPluginStatus().plugins.quota;
        assert.equal(status?.breaker.state, 'closed', 'three refusals in a row open no breaker');
      } finally {
        await m.shutdown();
      }
    });
  }
});
