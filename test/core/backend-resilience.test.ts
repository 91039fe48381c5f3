/**
 * Backend retries and fallbacks (BackendSettings): what is retried, how long the pipeline
 * waits, when it hands over to the fallback, and that a stream which already produced output
 * is never re-run elsewhere. The "unreachable" backend really connects to a closed port.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PlugboardError } from '../../src/core/errors/plugboard-error.ts';
import { backoffMs, decideAfterFailure } from '../../src/core/pipeline/backend-retry.ts';
import {
  backendUnavailable,
  type ChatContext,
  createMessage,
  defineBackend,
  isConnectionError,
  isPlugboardError,
} from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';
import { closedPort } from '../support/closed-port.ts';

/** A backend whose service is at a closed port: every call is a real refused connection. */
async function unreachableBackend(name: string) {
  const url = `http://127.0.0.1:${await closedPort()}`;
  const calls: ChatContext[] = [];
  const backend = defineBackend({
    metadata: { name, version: '1.0.0' },
    async chat(context, call) {
      calls.push(context);
      try {
        await fetch(url, { signal: call.signal });
      } catch (error) {
        if (isConnectionError(error)) throw backendUnavailable(name, url, 'start it', error);
        throw error;
      }
      return { message: createMessage({ role: 'assistant', content: 'unexpected' }) };
    },
    listModels: () => [{ id: `${name}-model` }],
  });
  return { backend, calls, url };
}

const fast = { retryDelayMs: 1 };

describe('backend retries', () => {
  test('a retryable failure is retried with backoff until the service answers', async () => {
    const flaky = createScriptedBackend({
      name: 'flaky',
      reply: 'finally',
      fail: (call) =>
        call <= 2 ? { error: backendUnavailable('flaky', 'http://x', 'wait', new Error('down')) } : undefined,
    });
    const manager = await startManager([[flaky, { backend: { retries: 2, ...fast } }]]);
    try {
      const response = await manager.chat(chatRequest('hi'));
      assert.equal(response.message.content, 'finally');
      assert.equal(flaky.calls.length, 3);
      assert.deepEqual(
        (response.metadata.backendAttempts as { backend: string; code: string; next: string }[]).map(
          (attempt) => `${attempt.backend}:${attempt.code}:${attempt.next}`,
        ),
        ['flaky:BACKEND_UNAVAILABLE:retry', 'flaky:BACKEND_UNAVAILABLE:retry'],
      );
    } finally {
      await manager.shutdown();
    }
  });

  test('when the retries run out, the last failure is the answer (503 naming the address)', async () => {
    const down = await unreachableBackend('down');
    const manager = await startManager([[down.backend, { backend: { retries: 2, ...fast } }]]);
    try {
      await assert.rejects(manager.chat(chatRequest('hi')), (error: unknown) => {
        assert.ok(isPlugboardError(error, 'BACKEND_UNAVAILABLE'), String(error));
        assert.equal(error.status, 503);
        assert.ok(error.message.includes(`connection refused at ${down.url}`), error.message);
        return true;
      });
      assert.equal(down.calls.length, 3, 'one call and two retries');
    } finally {
      await manager.shutdown();
    }
  });

  test('a failure another attempt cannot fix (unknown model) is not retried', async () => {
    const picky = createScriptedBackend({
      name: 'picky',
      fail: () => ({ error: new PlugboardError('MODEL_NOT_FOUND', 'no such model') }),
    });
    const manager = await startManager([[picky, { backend: { retries: 3, ...fast } }]]);
    try {
      await assert.rejects(manager.chat(chatRequest('hi')), (error: unknown) =>
        isPlugboardError(error, 'MODEL_NOT_FOUND'),
      );
      assert.equal(picky.calls.length, 1);
    } finally {
      await manager.shutdown();
    }
  });

  test('a request aborted while waiting to retry stops at once', async () => {
    const down = await unreachableBackend('down');
    const manager = await startManager([[down.backend, { backend: { retries: 5, retryDelayMs: 60_000 } }]]);
    try {
      let abort: ((reason?: unknown) => void) | undefined;
      const reply = manager.chat(chatRequest('hi'), { cancellation: (cancel) => (abort = cancel) });
      while (down.calls.length === 0) await new Promise((resolve) => setImmediate(resolve));
      // The first call has failed or is failing; the pipeline is (or soon is) in its 60 s backoff.
      await new Promise((resolve) => setTimeout(resolve, 20));
      abort?.(new Error('client left'));
      await assert.rejects(reply, (error: unknown) => isPlugboardError(error, 'REQUEST_ABORTED'));
      assert.equal(down.calls.length, 1);
    } finally {
      await manager.shutdown();
    }
  });
});

describe('backend fallback', () => {
  test('an unreachable backend hands over to its fallback, which answers with its own model', async () => {
    const down = await unreachableBackend('primary');
    const spare = createScriptedBackend({ name: 'spare', reply: 'from the spare' });
    const manager = await startManager([[down.backend, { backend: { fallback: 'spare', ...fast } }], spare], {
      defaultBackend: 'primary',
    });
    try {
      for (const stream of [false, true]) {
        const response = stream
          ? (await collectStream(manager.stream(chatRequest('hi', { model: 'primary/big-model' })))).response
          : await manager.chat(chatRequest('hi', { model: 'primary/big-model' }));
        assert.equal(response.message.content, 'from the spare');
        assert.equal(response.backend, 'spare');
        const attempts = response.metadata.backendAttempts as { backend: string; code: string; next: string }[];
        assert.deepEqual(
          attempts.map((attempt) => `${attempt.backend}:${attempt.code}:${attempt.next}`),
          ['primary:BACKEND_UNAVAILABLE:spare'],
        );
        const seen = spare.calls.at(-1);
        assert.equal(seen?.backend, 'spare');
        assert.equal(seen?.model, undefined, 'the failed backend’s model is not passed on');
      }
    } finally {
      await manager.shutdown();
    }
  });

  test('an open circuit breaker goes straight to the fallback, without retries', async () => {
    const broken = createScriptedBackend({ name: 'broken', fail: () => ({ error: new Error('kaput') }) });
    const spare = createScriptedBackend({ name: 'spare', reply: 'spare' });
    const manager = await startManager([[broken, { backend: { fallback: 'spare', retries: 3, ...fast } }], spare], {
      defaultBackend: 'broken',
      circuitBreaker: { failureThreshold: 2, halfOpenAfterMs: 60_000 },
    });
    try {
      // A plain error (a bug) is not retried — another attempt would repeat it — but handed
      // over: the spare answers, and the failures open the broken backend's breaker.
      for (let index = 0; index < 2; index++) {
        const response = await manager.chat(chatRequest('hi'));
        assert.equal(response.backend, 'spare');
        const attempts = response.metadata.backendAttempts as readonly { code: string }[] | undefined;
        assert.equal(attempts?.[0]?.code, 'BACKEND_FAILED');
      }
      assert.equal(broken.calls.length, 2);
      const response = await manager.chat(chatRequest('hi'));
      assert.equal(response.backend, 'spare');
      assert.equal(broken.calls.length, 2, 'the open breaker skipped the call');
    } finally {
      await manager.shutdown();
    }
  });

  test('a stream that already produced output is not re-run on the fallback', async () => {
    const midway = createScriptedBackend({
      name: 'midway',
      reply: 'one two three four',
      chunking: 4,
      fail: () => ({ error: backendUnavailable('midway', 'http://x', 'wait', new Error('reset')), afterChunks: 2 }),
    });
    const spare = createScriptedBackend({ name: 'spare', reply: 'spare' });
    const manager = await startManager([[midway, { backend: { fallback: 'spare', retries: 2, ...fast } }], spare], {
      defaultBackend: 'midway',
    });
    try {
      const chunks: string[] = [];
      await assert.rejects(
        (async () => {
          for await (const chunk of manager.stream(chatRequest('hi'))) chunks.push(chunk.content ?? '');
        })(),
        (error: unknown) => isPlugboardError(error, 'BACKEND_UNAVAILABLE'),
      );
      assert.equal(chunks.join(''), 'one two ');
      assert.equal(midway.calls.length, 1);
      assert.equal(spare.calls.length, 0);
    } finally {
      await manager.shutdown();
    }
  });

  test('fallbacks that point back at each other try each backend once', async () => {
    const a = await unreachableBackend('a');
    const b = await unreachableBackend('b');
    const manager = await startManager(
      [
        [a.backend, { backend: { fallback: 'b', ...fast } }],
        [b.backend, { backend: { fallback: 'a', ...fast } }],
      ],
      { defaultBackend: 'a' },
    );
    try {
      await assert.rejects(manager.chat(chatRequest('hi')), (error: unknown) => {
        assert.ok(isPlugboardError(error, 'BACKEND_UNAVAILABLE'));
        assert.equal(error.plugin, 'b', 'the last backend tried');
        return true;
      });
      assert.deepEqual([a.calls.length, b.calls.length], [1, 1]);
    } finally {
      await manager.shutdown();
    }
  });
});

describe('decideAfterFailure and backoffMs', () => {
  const error = (code: 'BACKEND_FAILED' | 'BACKEND_UNAVAILABLE' | 'PLUGIN_TIMEOUT', status?: number) =>
    new PlugboardError(code, 'x', status === undefined ? {} : { status });

  test('what is retried: unreachable, timeouts, 5xx and 429; what is handed over; what fails at once', () => {
    assert.equal(decideAfterFailure(error('BACKEND_UNAVAILABLE')), 'retry');
    assert.equal(decideAfterFailure(error('PLUGIN_TIMEOUT')), 'retry');
    assert.equal(decideAfterFailure(error('BACKEND_FAILED', 502)), 'retry');
    assert.equal(decideAfterFailure(error('BACKEND_FAILED', 429)), 'retry');
    assert.equal(decideAfterFailure(error('BACKEND_FAILED', 400)), 'fallback');
    assert.equal(decideAfterFailure(new PlugboardError('PLUGIN_CIRCUIT_OPEN', 'x')), 'fallback');
    // A bug or an invalid reply: another attempt would repeat it, another backend would not.
    assert.equal(decideAfterFailure(new PlugboardError('PLUGIN_CALL_FAILED', 'x')), 'fallback');
    assert.equal(decideAfterFailure(new PlugboardError('PLUGIN_INVALID_RESULT', 'x')), 'fallback');
    assert.equal(
      decideAfterFailure(new PlugboardError('BACKEND_FAILED', 'key', { status: 502, details: { retryable: false } })),
      'fallback',
    );
    // The caller's own mistakes.
    assert.equal(decideAfterFailure(new PlugboardError('REQUEST_INVALID', 'x')), 'fail');
    assert.equal(decideAfterFailure(new PlugboardError('MODEL_NOT_FOUND', 'x')), 'fail');
  });

  test('exponential with ±50 % jitter, capped; a Retry-After from the service wins', () => {
    const failure = error('BACKEND_UNAVAILABLE');
    assert.equal(
      backoffMs(0, 100, failure, () => 0),
      50,
    );
    assert.equal(
      backoffMs(3, 100, failure, () => 1),
      1200,
    );
    assert.equal(
      backoffMs(30, 100, failure, () => 0.5),
      30_000,
    );
    const throttled = new PlugboardError('BACKEND_FAILED', 'slow down', {
      status: 429,
      details: { retryAfterMs: 2000 },
    });
    assert.equal(
      backoffMs(0, 100, throttled, () => 0),
      2000,
    );
  });
});

describe('what a failed backend call leaves behind', () => {
  test("errors that are the caller's to fix (unknown model) do not open the backend's circuit", async () => {
    const picky = createScriptedBackend({
      name: 'picky',
      fail: (_call, context) =>
        context.model === 'typo' ? { error: new PlugboardError('MODEL_NOT_FOUND', 'no model "typo"') } : undefined,
    });
    const manager = await startManager([picky], { circuitBreaker: { failureThreshold: 2, halfOpenAfterMs: 60_000 } });
    try {
      for (let index = 0; index < 4; index++) {
        await assert.rejects(manager.chat(chatRequest('hi', { model: 'picky/typo' })), (error: unknown) =>
          isPlugboardError(error, 'MODEL_NOT_FOUND'),
        );
      }
      assert.equal(manager.getPluginStatus().plugins.picky?.breaker.state, 'closed');
      assert.equal((await manager.chat(chatRequest('hi', { model: 'picky/good' }))).backend, 'picky');
    } finally {
      await manager.shutdown();
    }
  });

  test('a stream that goes silent past its timeout has its signal aborted (the connection is released)', async () => {
    let signal: AbortSignal | undefined;
    const silent = defineBackend({
      metadata: { name: 'silent', version: '1.0.0' },
      chat: (_context, call) => {
        signal = call.signal;
        return (async function* () {
          yield { content: 'first' };
          // Like a service that stops sending: only the abort ends this wait.
          await new Promise((_resolve, reject) =>
            call.signal.addEventListener('abort', () => reject(call.signal.reason)),
          );
        })();
      },
      listModels: () => [{ id: 'm' }],
    });
    const manager = await startManager([[silent, { timeoutMs: 100 }]]);
    try {
      await assert.rejects(collectStream(manager.stream(chatRequest('hi'))), (error: unknown) =>
        isPlugboardError(error, 'PLUGIN_TIMEOUT'),
      );
      assert.equal(signal?.aborted, true);
    } finally {
      await manager.shutdown();
    }
  });
});

describe('backend bulkhead (max_concurrent, max_queued)', () => {
  test('calls over the limit wait their turn; a stream holds its slot until it ends', async () => {
    let inFlight = 0;
    let most = 0;
    const gate = createScriptedBackend({ name: 'gate', reply: 'ok', chunkDelayMs: 5, chunking: 1 });
    const counting = defineBackend({
      metadata: { name: 'counting', version: '1.0.0' },
      async *chat(context, call) {
        inFlight++;
        most = Math.max(most, inFlight);
        try {
          const reply = await gate.chat(context, call);
          if (Symbol.asyncIterator in reply) yield* reply;
        } finally {
          inFlight--;
        }
      },
      listModels: () => [{ id: 'm' }],
    });
    const manager = await startManager([[counting, { backend: { maxConcurrent: 1 } }]]);
    try {
      const results = await Promise.all(
        [1, 2, 3].map(() => collectStream(manager.stream(chatRequest('hi', { stream: true })))),
      );
      assert.deepEqual(
        results.map((result) => result.text),
        ['ok', 'ok', 'ok'],
      );
      assert.equal(most, 1, 'never two streams at once');
    } finally {
      await manager.shutdown();
    }
  });

  test('a full queue reports the backend busy (503), and the fallback takes the overflow', async () => {
    const slow = createScriptedBackend({ name: 'slow', reply: 'slow', latencyMs: 200 });
    const spare = createScriptedBackend({ name: 'spare', reply: 'spare' });
    const alone = await startManager([[slow, { backend: { maxConcurrent: 1, maxQueued: 0 } }]]);
    try {
      const [first, second] = await Promise.allSettled([alone.chat(chatRequest('hi')), alone.chat(chatRequest('hi'))]);
      assert.equal(first.status, 'fulfilled');
      assert.equal(second.status, 'rejected');
      const error = (second as PromiseRejectedResult).reason as PlugboardError;
      assert.ok(isPlugboardError(error, 'BACKEND_UNAVAILABLE'));
      assert.equal(error.status, 503);
      assert.match(error.message, /^slow: busy — 1 requests in flight \(max_concurrent 1\)/);
    } finally {
      await alone.shutdown();
    }
    const shared = createScriptedBackend({ name: 'slow', reply: 'slow', latencyMs: 200 });
    const withSpare = await startManager(
      [[shared, { backend: { maxConcurrent: 1, maxQueued: 0, fallback: 'spare' } }], spare],
      { defaultBackend: 'slow' },
    );
    try {
      const answers = await Promise.all([withSpare.chat(chatRequest('hi')), withSpare.chat(chatRequest('hi'))]);
      assert.deepEqual(answers.map((answer) => answer.backend).sort(), ['slow', 'spare']);
    } finally {
      await withSpare.shutdown();
    }
  });
});
