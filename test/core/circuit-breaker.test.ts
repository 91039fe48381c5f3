/**
 * Circuit breakers (FR-6): one per plugin, opening after N consecutive failures, skipping
 * calls while open, half-opening after `halfOpenAfterMs`, manual reset, state in status and
 * metrics, `enabled: false`, and aborted requests not counting as failures.
 *
 * Waiting out `halfOpenAfterMs`: cockatiel measures it with `Date.now()`, so most tests mock
 * `Date` with node:test's mock timers (`t.mock.timers.enable({ apis: ['Date'] })`) and move
 * the clock with `tick()` — deterministic, no waiting. Timers (setTimeout, used for plugin
 * timeouts) stay real. One test uses real time with a small `halfOpenAfterMs`, waiting on a
 * plugin timeout whose expiry is itself asserted.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import {
  type CircuitBreakerOptions,
  isBreakerRejection,
  PluginCircuitBreaker,
} from '../../src/core/execution/circuit-breaker.ts';
import {
  type ChatContext,
  defineMessageProcessor,
  defineMiddleware,
  definePlugin,
  isPlugboardError,
  type Message,
  PlugboardError,
  type PluginManagerOptions,
  withContent,
} from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';
import { deferred } from '../support/deferred.ts';

function breaker(options: Partial<CircuitBreakerOptions> = {}) {
  return new PluginCircuitBreaker({ enabled: true, failureThreshold: 3, halfOpenAfterMs: 1_000, ...options });
}

const boom = () => Promise.reject(new Error('boom'));

/** Runs `fn` through the breaker: 'ok', 'failed' (fn's error) or 'skipped' (breaker rejection). */
async function attempt(b: PluginCircuitBreaker, fn: () => Promise<unknown>): Promise<'ok' | 'failed' | 'skipped'> {
  try {
    await b.run(fn);
    return 'ok';
  } catch (error) {
    return isBreakerRejection(error) ? 'skipped' : 'failed';
  }
}

function mockDate(t: TestContext, now = Date.UTC(2025, 0, 1)): void {
  t.mock.timers.enable({ apis: ['Date'], now });
}

describe('PluginCircuitBreaker', () => {
  test('opens after N consecutive failures and then skips calls', async () => {
    const b = breaker({ failureThreshold: 3 });
    let called = 0;
    const failing = () => {
      called++;
      return boom();
    };
    assert.deepEqual([await attempt(b, failing), await attempt(b, failing)], ['failed', 'failed']);
    assert.equal(b.status.state, 'closed', 'below the threshold the circuit stays closed');
    assert.equal(b.isOpen, false);
    assert.equal(await attempt(b, failing), 'failed');
    assert.equal(b.status.state, 'open');
    assert.equal(b.isOpen, true);
    assert.equal(b.status.opened, 1);
    assert.ok(!Number.isNaN(Date.parse(b.status.lastOpenedAt!)));
    assert.equal(await attempt(b, failing), 'skipped');
    assert.equal(await attempt(b, () => Promise.resolve('fine')), 'skipped', 'successes are skipped too');
    assert.equal(called, 3);
  });

  test('the original error passes through; the first failure opens at threshold 1', async () => {
    const b = breaker({ failureThreshold: 1 });
    const original = new Error('original');
    await assert.rejects(
      b.run(() => Promise.reject(original)),
      (error: unknown) => error === original,
    );
    assert.equal(b.status.state, 'open');
    await assert.rejects(b.run(boom), (error: unknown) => isBreakerRejection(error));
    assert.equal(isBreakerRejection(original), false);
  });

  test('a success in between resets the consecutive count', async () => {
    const b = breaker({ failureThreshold: 3 });
    const ok = () => Promise.resolve(1);
    for (const fn of [boom, boom, ok, boom, boom, ok, boom, boom]) await attempt(b, fn);
    assert.equal(b.status.state, 'closed');
    assert.equal(b.status.opened, 0);
    assert.equal(await attempt(b, boom), 'failed');
    assert.equal(b.status.state, 'open', 'the third consecutive failure opens it');
  });

  test('returns what the call returns', async () => {
    const b = breaker();
    assert.equal(await b.run(() => Promise.resolve('value')), 'value');
    await attempt(b, boom);
    assert.equal(await b.run(() => Promise.resolve('through cockatiel')), 'through cockatiel');
  });

  test('half-opens after halfOpenAfterMs and closes on a successful trial', async (t) => {
    mockDate(t);
    const b = breaker({ failureThreshold: 2, halfOpenAfterMs: 5_000 });
    await attempt(b, boom);
    await attempt(b, boom);
    assert.equal(b.status.state, 'open');
    t.mock.timers.tick(4_999);
    assert.equal(await attempt(b, () => Promise.resolve()), 'skipped', 'still open 1 ms before');
    t.mock.timers.tick(1);

    const trial = deferred();
    let trialStarted = false;
    const running = b.run(async () => {
      trialStarted = true;
      await trial.promise;
      return 'trial';
    });
    assert.equal(trialStarted, true, 'the trial call goes through');
    assert.equal(b.status.state, 'half-open');
    assert.equal(b.isOpen, true);
    trial.resolve();
    assert.equal(await running, 'trial');
    assert.equal(b.status.state, 'closed');
    assert.equal(b.isOpen, false);
    assert.equal(await attempt(b, () => Promise.resolve()), 'ok');
    // Closed again with a fresh count: one failure does not reopen it.
    assert.equal(await attempt(b, boom), 'failed');
    assert.equal(b.status.state, 'closed');
  });

  test('a failed trial reopens the circuit for another halfOpenAfterMs', async (t) => {
    mockDate(t);
    const b = breaker({ failureThreshold: 1, halfOpenAfterMs: 1_000 });
    await attempt(b, boom);
    const firstOpened = b.status.lastOpenedAt;
    t.mock.timers.tick(1_000);
    assert.equal(await attempt(b, boom), 'failed', 'the trial ran and failed');
    assert.equal(b.status.state, 'open');
    assert.equal(b.status.opened, 2);
    assert.notEqual(b.status.lastOpenedAt, firstOpened);
    assert.equal(await attempt(b, () => Promise.resolve()), 'skipped');
    t.mock.timers.tick(999);
    assert.equal(await attempt(b, () => Promise.resolve()), 'skipped');
    t.mock.timers.tick(1);
    assert.equal(await attempt(b, () => Promise.resolve()), 'ok');
    assert.equal(b.status.state, 'closed');
  });

  test('reset() closes the circuit and forgets past failures', async () => {
    const b = breaker({ failureThreshold: 2 });
    await attempt(b, boom);
    b.reset();
    await attempt(b, boom);
    assert.equal(b.status.state, 'closed', 'the failure before the reset is forgotten');
    await attempt(b, boom);
    assert.equal(b.status.state, 'open');
    b.reset();
    assert.equal(b.status.state, 'closed');
    assert.equal(await attempt(b, () => Promise.resolve()), 'ok');
    assert.equal(b.status.opened, 1, 'the count of openings survives a reset');
  });

  test('a call still running on the policy a reset replaced does not count against the new one', async () => {
    const b = breaker({ failureThreshold: 1 });
    await attempt(b, boom); // open; later calls go through cockatiel
    b.reset();
    const late = deferred();
    const running = attempt(b, async () => {
      await late.promise;
      throw new Error('late failure');
    });
    b.reset(); // replaced while the call runs
    late.resolve();
    assert.equal(await running, 'failed');
    assert.equal(b.status.state, 'closed');
  });

  test('enabled: false never skips', async () => {
    const b = breaker({ enabled: false, failureThreshold: 1 });
    const outcomes = [];
    for (let index = 0; index < 10; index++) outcomes.push(await attempt(b, boom));
    assert.deepEqual(outcomes, Array(10).fill('failed'));
    assert.equal(b.status.state, 'disabled');
    assert.equal(b.isOpen, false);
    assert.equal(await b.run(() => Promise.resolve('still runs')), 'still runs');
    b.reset();
    assert.equal(b.status.state, 'disabled');
  });

  test('REQUEST_ABORTED does not count as a failure', async () => {
    const b = breaker({ failureThreshold: 2 });
    const aborted = () => Promise.reject(new PlugboardError('REQUEST_ABORTED', 'client went away'));
    for (let index = 0; index < 5; index++) await attempt(b, aborted);
    assert.equal(b.status.state, 'closed');
    // Neither on the fast path nor after a failure (through cockatiel).
    await attempt(b, boom);
    for (let index = 0; index < 5; index++) await attempt(b, aborted);
    assert.equal(b.status.state, 'closed');
    await attempt(b, boom);
    assert.equal(b.status.state, 'open', 'aborts neither count nor reset the consecutive failures');
  });
});

/** Called on each call of the flaky processor; a returned promise delays the call until it settles. */
type OnCall = (message: Message) => Promise<void> | undefined;

/** A message processor that fails when the user message contains "fail". */
function flaky(calls: { count: number }, onCall?: OnCall) {
  const decide = (message: Message) => {
    if (message.content.includes('fail')) throw new Error(`failing on "${message.content}"`);
    return withContent(message, `${message.content}!`);
  };
  return defineMessageProcessor({
    metadata: { name: 'flaky', version: '1.0.0' },
    direction: 'input',
    processMessage: (message) => {
      calls.count++;
      const pending = onCall?.(message);
      return pending ? pending.then(() => decide(message)) : decide(message);
    },
  });
}

async function flakyManager(options: PluginManagerOptions, onCall?: OnCall) {
  const calls = { count: 0 };
  const errors: PlugboardError[] = [];
  const manager = await startManager(
    [
      createScriptedBackend(),
      flaky(calls, onCall),
      definePlugin({
        metadata: { name: 'observer', version: '1.0.0' },
        onError: ({ error }) => void errors.push(error),
      }),
    ],
    options,
  );
  const outcome = async (text: string) => {
    const response = await manager.chat(chatRequest(text));
    const step = response.steps.find((s) => s.plugin === 'flaky');
    return `${step?.outcome}:${step?.errorCode ?? ''}`;
  };
  return { manager, calls, errors, outcome };
}

describe('circuit breaker in the manager', () => {
  test('opens after failureThreshold consecutive failures; skipped calls are counted and recorded', async () => {
    const { manager, calls, errors, outcome } = await flakyManager({ circuitBreaker: { failureThreshold: 3 } });
    try {
      const outcomes = [];
      for (let index = 0; index < 5; index++) outcomes.push(await outcome(`please fail ${index}`));
      assert.deepEqual(outcomes, [
        'bypassed:PLUGIN_CALL_FAILED',
        'bypassed:PLUGIN_CALL_FAILED',
        'bypassed:PLUGIN_CALL_FAILED',
        'skipped:PLUGIN_CIRCUIT_OPEN',
        'skipped:PLUGIN_CIRCUIT_OPEN',
      ]);
      assert.equal(calls.count, 3, 'an open circuit blocks the call');

      // Visible in status …
      const status = manager.getPluginStatus().plugins.flaky!;
      assert.equal(status.breaker.state, 'open');
      assert.equal(status.breaker.opened, 1);
      assert.ok(status.breaker.lastOpenedAt);
      assert.equal(manager.getPluginStatus().plugins.observer!.breaker.state, 'closed', 'breakers are per plugin');
      // … and in metrics.
      const metrics = manager.getMetrics();
      const stats = metrics.plugins.flaky!.operations['processMessage.input']!;
      assert.equal(stats.invocations, 3);
      assert.equal(stats.failures, 3);
      assert.equal(stats.skipped, 2);
      assert.equal(metrics.plugins.flaky!.skipped, 2);
      assert.equal(metrics.plugins.flaky!.breaker.state, 'open');
      assert.deepEqual(metrics.system.breakers, { closed: 2, open: 1, 'half-open': 0, disabled: 0 });

      // Skips reach the error hook too, with the breaker state in the details.
      assert.deepEqual(
        errors.map((error) => error.code),
        [
          'PLUGIN_CALL_FAILED',
          'PLUGIN_CALL_FAILED',
          'PLUGIN_CALL_FAILED',
          'PLUGIN_CIRCUIT_OPEN',
          'PLUGIN_CIRCUIT_OPEN',
        ],
      );
      assert.deepEqual(
        errors[3]!.details?.breaker,
        manager.getPluginStatus().plugins.flaky!.breaker.operations?.['processMessage.input'],
      );
      assert.equal(errors[3]!.plugin, 'flaky');
      assert.equal(errors[3]!.status, 503);
    } finally {
      await manager.shutdown();
    }
  });

  test('the default threshold is 5 consecutive failures', async () => {
    const { manager, outcome } = await flakyManager({});
    try {
      const outcomes = [];
      for (let index = 0; index < 6; index++) outcomes.push((await outcome('fail')).split(':')[0]);
      assert.deepEqual(outcomes, ['bypassed', 'bypassed', 'bypassed', 'bypassed', 'bypassed', 'skipped']);
    } finally {
      await manager.shutdown();
    }
  });

  test('a success in between resets the consecutive count', async () => {
    const { manager, calls, outcome } = await flakyManager({ circuitBreaker: { failureThreshold: 3 } });
    try {
      const script = ['fail', 'fail', 'ok', 'fail', 'fail', 'ok', 'fail', 'fail'];
      const outcomes = [];
      for (const text of script) outcomes.push((await outcome(text)).split(':')[0]);
      assert.deepEqual(outcomes, ['bypassed', 'bypassed', 'ok', 'bypassed', 'bypassed', 'ok', 'bypassed', 'bypassed']);
      assert.equal(manager.getPluginStatus().plugins.flaky!.breaker.state, 'closed');
      assert.equal(await outcome('fail'), 'bypassed:PLUGIN_CALL_FAILED');
      assert.equal(manager.getPluginStatus().plugins.flaky!.breaker.state, 'open');
      assert.equal(await outcome('ok now'), 'skipped:PLUGIN_CIRCUIT_OPEN');
      assert.equal(calls.count, script.length + 1);
    } finally {
      await manager.shutdown();
    }
  });

  test('half-open after halfOpenAfterMs (mocked Date): a successful trial closes it', async (t) => {
    mockDate(t);
    const entered = deferred();
    const release = deferred();
    const { manager, calls, outcome } = await flakyManager(
      { circuitBreaker: { failureThreshold: 1, halfOpenAfterMs: 5_000 } },
      (message) => {
        if (message.content !== 'trial') return undefined;
        entered.resolve();
        return release.promise;
      },
    );
    try {
      assert.equal(await outcome('fail'), 'bypassed:PLUGIN_CALL_FAILED');
      t.mock.timers.tick(4_999);
      assert.equal(await outcome('too early'), 'skipped:PLUGIN_CIRCUIT_OPEN');
      assert.equal(manager.getPluginStatus().plugins.flaky!.breaker.state, 'open');
      t.mock.timers.tick(1);
      const trial = manager.chat(chatRequest('trial'));
      await entered.promise;
      assert.equal(manager.getPluginStatus().plugins.flaky!.breaker.state, 'half-open', 'during the trial');
      assert.equal(manager.getMetrics().system.breakers['half-open'], 1);
      release.resolve();
      const response = await trial;
      assert.equal(response.message.content, 'You said: trial!', 'the trial call ran and its result was used');
      assert.equal(manager.getPluginStatus().plugins.flaky!.breaker.state, 'closed');
      assert.equal(await outcome('normal again'), 'ok:');
      assert.equal(calls.count, 3);
    } finally {
      release.resolve();
      await manager.shutdown();
    }
  });

  test('half-open after halfOpenAfterMs (mocked Date): a failed trial reopens it', async (t) => {
    mockDate(t);
    const { manager, calls, outcome } = await flakyManager({
      circuitBreaker: { failureThreshold: 2, halfOpenAfterMs: 10_000 },
    });
    try {
      await outcome('fail');
      await outcome('fail');
      assert.equal(manager.getPluginStatus().plugins.flaky!.breaker.opened, 1);
      t.mock.timers.tick(10_000);
      assert.equal(await outcome('fail the trial'), 'bypassed:PLUGIN_CALL_FAILED');
      const breakerStatus = manager.getPluginStatus().plugins.flaky!.breaker;
      assert.equal(breakerStatus.state, 'open', 'one failed trial is enough to reopen');
      assert.equal(breakerStatus.opened, 2);
      assert.equal(await outcome('skipped again'), 'skipped:PLUGIN_CIRCUIT_OPEN');
      assert.equal(calls.count, 3);
      t.mock.timers.tick(10_000);
      assert.equal(await outcome('recovered'), 'ok:');
      assert.equal(manager.getPluginStatus().plugins.flaky!.breaker.state, 'closed');
    } finally {
      await manager.shutdown();
    }
  });

  test('half-open after halfOpenAfterMs in real time (waiting on an asserted plugin timeout)', async () => {
    const HALF_OPEN_MS = 30;
    const SLOW_TIMEOUT_MS = 45;
    const { manager, calls, outcome } = await flakyManager({
      circuitBreaker: { failureThreshold: 1, halfOpenAfterMs: HALF_OPEN_MS },
    });
    // A second plugin whose hook hangs: its timeout is the wait, and is checked.
    await manager.register(
      definePlugin({
        metadata: { name: 'slow', version: '1.0.0', timeoutMs: SLOW_TIMEOUT_MS },
        onMessageSent: ({ message }) => (message.content.includes('wait') ? new Promise(() => {}) : undefined),
      }),
    );
    try {
      assert.equal(await outcome('fail'), 'bypassed:PLUGIN_CALL_FAILED');
      const waited = await manager.chat(chatRequest('wait'));
      assert.equal(waited.steps.find((step) => step.plugin === 'flaky')?.outcome, 'skipped');
      const slow = waited.steps.find((step) => step.plugin === 'slow')!;
      assert.equal(slow.errorCode, 'PLUGIN_TIMEOUT');
      assert.ok(slow.durationMs >= SLOW_TIMEOUT_MS && SLOW_TIMEOUT_MS > HALF_OPEN_MS);
      // More than halfOpenAfterMs has passed since the circuit opened: the next call is the trial.
      assert.equal(await outcome('trial'), 'ok:');
      assert.equal(manager.getPluginStatus().plugins.flaky!.breaker.state, 'closed');
      assert.equal(calls.count, 2);
    } finally {
      await manager.shutdown();
    }
  });

  test('a streaming output processor’s breaker half-opens and closes too (mocked Date)', async (t) => {
    mockDate(t);
    let transforms = 0;
    const m = await startManager(
      [
        createScriptedBackend({ reply: 'abc def', chunking: 3 }),
        defineMessageProcessor({
          metadata: { name: 'upper', version: '1.0.0' },
          direction: 'output',
          processMessage: (message) => withContent(message, message.content.toUpperCase()),
          streaming: {
            window: 0,
            transform: (text) => {
              transforms++;
              if (transforms === 1) throw new Error('first chunk breaks');
              return text.toUpperCase();
            },
          },
        }),
      ],
      { circuitBreaker: { failureThreshold: 1, halfOpenAfterMs: 1_000 } },
    );
    const streamed = async (text: string) => {
      const result = await collectStream(m.stream(chatRequest(text, { stream: true })));
      const steps = result.response.steps.filter((step) => step.plugin === 'upper');
      return { text: result.text, steps: steps.map((step) => `${step.outcome}:${step.errorCode ?? ''}`) };
    };
    try {
      // The failure bypasses the stage for the rest of the reply (text passes unchanged) and opens the breaker.
      assert.deepEqual(await streamed('one'), { text: 'abc def', steps: ['bypassed:PLUGIN_CALL_FAILED'] });
      assert.equal(m.getPluginStatus().plugins.upper!.breaker.state, 'open');
      assert.deepEqual(await streamed('two'), { text: 'abc def', steps: ['skipped:PLUGIN_CIRCUIT_OPEN'] });
      assert.equal(transforms, 1);
      t.mock.timers.tick(1_000);
      // Due for a trial: the transform runs again, succeeds, and the breaker closes.
      assert.deepEqual(await streamed('three'), { text: 'ABC DEF', steps: [] });
      assert.ok(transforms > 1);
      assert.equal(m.getPluginStatus().plugins.upper!.breaker.state, 'closed');
      assert.deepEqual(await streamed('four'), { text: 'ABC DEF', steps: [] });
    } finally {
      await m.shutdown();
    }
  });

  test('manual reset via manager.resetCircuitBreaker', async () => {
    const { manager, calls, outcome } = await flakyManager({ circuitBreaker: { failureThreshold: 1 } });
    try {
      await outcome('fail');
      assert.equal(await outcome('blocked'), 'skipped:PLUGIN_CIRCUIT_OPEN');
      manager.resetCircuitBreaker('flaky');
      assert.equal(manager.getPluginStatus().plugins.flaky!.breaker.state, 'closed');
      assert.equal(await outcome('after reset'), 'ok:');
      assert.equal(calls.count, 2);
      assert.throws(
        () => manager.resetCircuitBreaker('nobody'),
        (error: unknown) => isPlugboardError(error, 'PLUGIN_NOT_FOUND'),
      );
    } finally {
      await manager.shutdown();
    }
  });

  test('enabled: false never skips a plugin', async () => {
    const { manager, calls, outcome } = await flakyManager({ circuitBreaker: { enabled: false, failureThreshold: 1 } });
    try {
      const outcomes = new Set<string>();
      for (let index = 0; index < 8; index++) outcomes.add(await outcome('fail'));
      assert.deepEqual([...outcomes], ['bypassed:PLUGIN_CALL_FAILED']);
      assert.equal(calls.count, 8);
      assert.equal(manager.getPluginStatus().plugins.flaky!.breaker.state, 'disabled');
      const metrics = manager.getMetrics();
      assert.equal(metrics.plugins.flaky!.skipped, 0);
      assert.equal(metrics.plugins.flaky!.failures, 8);
      assert.equal(metrics.system.breakers.disabled, 3);
    } finally {
      await manager.shutdown();
    }
  });

  test("one breaker per operation: a failing method opens its own circuit, the plugin's others keep running", async () => {
    const hookCalls: string[] = [];
    const m = await startManager(
      [
        createScriptedBackend(),
        definePlugin({
          metadata: { name: 'combo', version: '1.0.0' },
          processMessage: () => {
            throw new Error('processor part broken');
          },
          direction: 'input',
          onMessageSent: () => void hookCalls.push('combo'),
        }),
      ],
      { circuitBreaker: { failureThreshold: 2 } },
    );
    try {
      const stepsOf = async () =>
        (await m.chat(chatRequest('x'))).steps
          .filter((step) => step.plugin === 'combo')
          .map((step) => `${step.operation}:${step.outcome}:${step.errorCode ?? ''}`);
      assert.deepEqual(await stepsOf(), ['processMessage.input:bypassed:PLUGIN_CALL_FAILED', 'hook:messageSent:ok:']);
      assert.deepEqual(await stepsOf(), ['processMessage.input:bypassed:PLUGIN_CALL_FAILED', 'hook:messageSent:ok:']);
      // Two failures opened processMessage.input's circuit; the hook's stays closed and runs.
      assert.deepEqual(await stepsOf(), ['processMessage.input:skipped:PLUGIN_CIRCUIT_OPEN', 'hook:messageSent:ok:']);
      assert.deepEqual(hookCalls, ['combo', 'combo', 'combo']);
      const breaker = m.getPluginStatus().plugins.combo!.breaker;
      assert.equal(breaker.state, 'open', 'the plugin reports its worst operation');
      assert.deepEqual(Object.keys(breaker.operations ?? {}), ['processMessage.input']);
    } finally {
      await m.shutdown();
    }
  });

  test('a hook that keeps hanging opens its breaker even though another hook of the plugin succeeds', async () => {
    let starts = 0;
    const m = await startManager(
      [
        createScriptedBackend(),
        [
          definePlugin({
            metadata: { name: 'half-broken', version: '1.0.0' },
            onRequestStart: () => {
              starts++;
              return new Promise<undefined>(() => undefined); // never settles
            },
            onRequestEnd: () => undefined,
          }),
          { timeoutMs: 30 },
        ],
      ],
      { circuitBreaker: { failureThreshold: 3 } },
    );
    try {
      for (let request = 0; request < 5; request++) await m.chat(chatRequest('x'));
      const breaker = m.getPluginStatus().plugins['half-broken']!.breaker;
      assert.equal(breaker.operations?.['hook:requestStart']?.state, 'open');
      assert.equal(breaker.operations?.['hook:requestEnd'], undefined, 'the working hook keeps a closed breaker');
      // Once open, requests no longer call (and wait for) the hanging hook.
      assert.equal(starts, 3);
      const health = await m.getHealth();
      assert.equal(health.status, 'degraded');
      assert.match(health.reasons.join(' '), /half-broken: circuit open/);
    } finally {
      await m.shutdown();
    }
  });

  test('a middleware whose processRequest hangs opens its circuit though processResponse and onError succeed', async () => {
    let requests = 0;
    let errors = 0;
    const m = await startManager(
      [
        createScriptedBackend(),
        [
          defineMiddleware({
            metadata: { name: 'gatekeeper', version: '1.0.0' },
            processRequest: () => {
              requests++;
              return new Promise<never>(() => undefined); // never settles
            },
            processResponse: (response) => response,
            onError: () => {
              errors++;
            },
          }),
          { timeoutMs: 30 },
        ],
      ],
      { circuitBreaker: { failureThreshold: 3 } },
    );
    try {
      for (let request = 0; request < 5; request++) await m.chat(chatRequest('x'));
      const breaker = m.getPluginStatus().plugins.gatekeeper!.breaker;
      assert.equal(breaker.operations?.processRequest?.state, 'open');
      assert.equal(requests, 3, 'skipped once open');
      assert.ok(errors >= 3, 'its own error hook ran and succeeded meanwhile');
      assert.equal((await m.getHealth()).status, 'degraded');
    } finally {
      await m.shutdown();
    }
  });

  for (const how of ['waits for the abort', 'throws its own error once aborted'] as const) {
    test(`aborted requests do not count as failures (plugin ${how})`, async () => {
      let started = deferred();
      let calls = 0;
      const ends: string[] = [];
      const m = await startManager(
        [
          createScriptedBackend(),
          defineMessageProcessor({
            metadata: { name: 'patient', version: '1.0.0' },
            direction: 'input',
            processMessage: (message, _context: ChatContext, call) => {
              calls++;
              if (message.content !== 'hang') return message;
              started.resolve();
              return new Promise<Message>((_, reject) => {
                call.signal.addEventListener('abort', () =>
                  reject(how === 'waits for the abort' ? call.signal.reason : new Error('fetch aborted')),
                );
              });
            },
          }),
          definePlugin({
            metadata: { name: 'ends', version: '1.0.0' },
            onRequestEnd: ({ outcome }) => void ends.push(outcome),
          }),
        ],
        { circuitBreaker: { failureThreshold: 1 } },
      );
      try {
        for (let round = 0; round < 3; round++) {
          started = deferred();
          const controller = new AbortController();
          const pending = m.chat(chatRequest('hang'), { signal: controller.signal });
          await started.promise;
          controller.abort(new Error('client disconnected'));
          await assert.rejects(pending, (error: unknown) => isPlugboardError(error, 'REQUEST_ABORTED'));
        }
        const status = m.getPluginStatus().plugins.patient!;
        assert.equal(status.breaker.state, 'closed');
        assert.equal(status.breaker.opened, 0);
        const total = m.getMetrics().plugins.patient!;
        assert.equal(total.failures, 0);
        assert.equal(total.timeouts, 0);
        assert.equal(total.invocations, 0, 'aborted calls are not recorded as the plugin’s outcomes');
        assert.deepEqual(ends, ['aborted', 'aborted', 'aborted']);
        const response = await m.chat(chatRequest('fine'));
        assert.equal(response.steps.find((step) => step.plugin === 'patient')?.outcome, 'ok');
        assert.equal(calls, 4);
        assert.equal(m.getMetrics().plugins.patient!.operations['processMessage.input']!.successes, 1);
      } finally {
        await m.shutdown();
      }
    });
  }
});
