/**
 * Faults a hostile probe found in the core (issue #10): an output processor that mutates
 * the message it was given, a backend whose streams fail after they started, a plugin that
 * blocks past its timeout, and the attribution of stray errors to the plugin they came from.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { attributeByStack, innermostFrameIn } from '../../src/core/manager/stray-errors.ts';
import type { PluginRecord } from '../../src/core/plugin/plugin-record.ts';
import {
  backendUnavailable,
  defineMessageProcessor,
  isPlugboardError,
  type Message,
  withContent,
} from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';

describe('an output processor that changes its message in place', () => {
  test('fails inside itself and is named; the reply and the next processor are unharmed', async () => {
    const mutator = defineMessageProcessor({
      metadata: { name: 'mutator', version: '1.0.0' },
      processMessage(message: Message) {
        if (message.role !== 'assistant') return message;
        (message as { content: unknown }).content = 42;
        return message;
      },
    });
    const innocent = defineMessageProcessor({
      metadata: { name: 'innocent', version: '1.0.0', priority: 'LOW' },
      processMessage: (message: Message) =>
        message.role === 'assistant' ? withContent(message, `${message.content}!`) : message,
    });
    const manager = await startManager([createScriptedBackend({ reply: 'hello' }), mutator, innocent]);
    try {
      const response = await manager.chat(chatRequest('hi'));
      assert.equal(response.message.content, 'hello!', 'the innocent processor ran on an intact reply');
      const status = manager.getPluginStatus().plugins;
      assert.equal(status.mutator?.lastError?.code, 'PLUGIN_CALL_FAILED');
      assert.equal(status.mutator?.lastError?.hook, 'processMessage.output');
      assert.equal(status.innocent?.lastError, undefined, 'the next processor is not blamed');
      const step = response.steps.find(
        (entry) => entry.plugin === 'mutator' && entry.operation === 'processMessage.output',
      );
      assert.equal(step?.outcome, 'bypassed');
    } finally {
      await manager.shutdown();
    }
  });
});

describe('a backend whose streams fail after they started', () => {
  const failing = [
    {
      name: 'throws',
      fail: () => ({ error: backendUnavailable('midway', 'http://x', 'wait', new Error('reset')), afterChunks: 1 }),
    },
  ];
  for (const { name, fail } of failing) {
    test(`(${name}) opens its circuit, and the fallback answers the requests that follow`, async () => {
      const midway = createScriptedBackend({ name: 'midway', reply: 'one two three', chunking: 3, fail });
      const spare = createScriptedBackend({ name: 'spare', reply: 'spare' });
      const manager = await startManager([[midway, { backend: { fallback: 'spare' } }], spare], {
        defaultBackend: 'midway',
        circuitBreaker: { failureThreshold: 3, halfOpenAfterMs: 60_000 },
      });
      try {
        for (let attempt = 0; attempt < 3; attempt++) {
          await assert.rejects(collectStream(manager.stream(chatRequest('hi', { stream: true }))), (error: unknown) =>
            isPlugboardError(error),
          );
        }
        const { response } = await collectStream(manager.stream(chatRequest('hi', { stream: true })));
        assert.equal(response.backend, 'spare');
        assert.equal(midway.calls.length, 3, 'the backend with the open stream circuit was not called');
        assert.equal(manager.getPluginStatus().plugins.midway?.breaker.operations?.['chat:stream']?.state, 'open');
      } finally {
        await manager.shutdown();
      }
    });
  }

  test('an invalid chunk and a stall after output count too', async () => {
    for (const kind of ['null chunk', 'stall'] as const) {
      let calls = 0;
      const broken = {
        metadata: { name: 'broken', version: '1.0.0' },
        kinds: ['backend-provider'],
        chat: () => {
          calls++;
          return (async function* () {
            yield { content: 'partial' };
            if (kind === 'null chunk') yield null;
            else await new Promise((resolve) => setTimeout(resolve, 200));
          })();
        },
        listModels: () => [{ id: 'broken' }],
      };
      const spare = createScriptedBackend({ name: 'spare', reply: 'spare' });
      const manager = await startManager([[broken, { timeoutMs: 30, backend: { fallback: 'spare' } }], spare], {
        defaultBackend: 'broken',
        circuitBreaker: { failureThreshold: 2, halfOpenAfterMs: 60_000 },
      });
      try {
        for (let attempt = 0; attempt < 2; attempt++) {
          await assert.rejects(collectStream(manager.stream(chatRequest('hi', { stream: true }))));
        }
        const { response } = await collectStream(manager.stream(chatRequest('hi', { stream: true })));
        assert.equal(response.backend, 'spare', kind);
        assert.equal(calls, 2, kind);
      } finally {
        await manager.shutdown();
      }
    }
  });

  test('a stream that completes after failures resets the count', async () => {
    const flaky = createScriptedBackend({
      name: 'flaky',
      reply: 'one two',
      chunking: 2,
      fail: (call) =>
        call % 2 === 1
          ? { error: backendUnavailable('flaky', 'http://x', 'wait', new Error('reset')), afterChunks: 1 }
          : undefined,
    });
    const manager = await startManager([flaky], { circuitBreaker: { failureThreshold: 2, halfOpenAfterMs: 60_000 } });
    try {
      for (let round = 0; round < 3; round++) {
        await assert.rejects(collectStream(manager.stream(chatRequest('hi', { stream: true }))));
        await collectStream(manager.stream(chatRequest('hi', { stream: true })));
      }
      assert.equal(flaky.calls.length, 6, 'never skipped: no two stream failures in a row');
    } finally {
      await manager.shutdown();
    }
  });
});

describe('a plugin that blocks past its timeout', () => {
  test('is recorded as a timeout, not a success, and opens its circuit', async () => {
    const blocker = defineMessageProcessor({
      metadata: { name: 'blocker', version: '1.0.0' },
      processMessage(message: Message) {
        const until = performance.now() + 40;
        while (performance.now() < until) {
          // busy: a synchronous overrun the deadline timer cannot interrupt
        }
        return withContent(message, message.content.toUpperCase());
      },
    });
    const manager = await startManager([createScriptedBackend({ reply: 'ok' }), [blocker, { timeoutMs: 10 }]], {
      circuitBreaker: { failureThreshold: 2, halfOpenAfterMs: 60_000 },
    });
    try {
      const first = await manager.chat(chatRequest('quiet'));
      const step = first.steps.find((entry) => entry.plugin === 'blocker');
      assert.equal(step?.errorCode, 'PLUGIN_TIMEOUT');
      assert.equal(first.message.content, 'ok', 'the late result is dropped');
      await manager.chat(chatRequest('quiet'));
      const metrics = manager.getMetrics().plugins.blocker;
      assert.ok((metrics?.operations['processMessage.input']?.timeouts ?? 0) >= 1);
      assert.equal(manager.getPluginStatus().plugins.blocker?.breaker.state, 'open');
    } finally {
      await manager.shutdown();
    }
  });
});

describe('attributing a stray error by its stack', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const record = (name: string, source: string | undefined) => ({ name, source }) as unknown as PluginRecord;
  const openai = record('openai', join(root, 'plugins/openai/openai.plugin.ts'));
  const echo = record('echo', '/srv/plugins/echo.plugin.ts');
  const style = record('style', '/srv/plugins/style.plugin.ts');
  const records = [openai, echo, style, record('inline', undefined)];
  const errorWith = (...frames: string[]) =>
    Object.assign(new Error('x'), { stack: ['Error: x', ...frames].join('\n') });

  test('the innermost frame in a plugin file names it', () => {
    const error = errorWith(
      '    at Timeout._onTimeout (/srv/plugins/style.plugin.ts:4:11)',
      '    at listOnTimeout (node:internal/timers:573:17)',
    );
    assert.equal(attributeByStack(error, records), style);
  });

  test('async frames and file URLs count', () => {
    const error = errorWith('    at async file:///srv/plugins/echo.plugin.ts:9:3');
    assert.equal(attributeByStack(error, records), echo);
  });

  test('a helper module in a plugin’s own folder names the plugin; a shared folder names nobody', () => {
    assert.equal(
      attributeByStack(errorWith(`    at map (${join(root, 'plugins/openai/reply.ts')}:1:1)`), records),
      openai,
    );
    assert.equal(attributeByStack(errorWith('    at util (/srv/plugins/shared-util.ts:1:1)'), records), undefined);
  });

  test('library frames are skipped to reach the plugin that called them', () => {
    const error = errorWith(
      '    at parse (/srv/node_modules/some-lib/index.js:1:1)',
      '    at run (/srv/plugins/echo.plugin.ts:3:3)',
    );
    assert.equal(attributeByStack(error, records), echo);
  });

  test('no stack, or no plugin in it: not attributed', () => {
    assert.equal(attributeByStack('a bare string', records), undefined);
    assert.equal(attributeByStack(errorWith('    at emit (node:events:1:1)'), records), undefined);
  });

  test('Plugboard’s own innermost frame is recognised', () => {
    const own = errorWith(`    at tick (${join(root, 'src/server/chat-runner.ts')}:1:1)`);
    assert.equal(innermostFrameIn(own, join(root, 'src/')), true);
    assert.equal(
      innermostFrameIn(errorWith('    at run (/srv/plugins/echo.plugin.ts:3:3)'), join(root, 'src/')),
      false,
    );
  });
});
