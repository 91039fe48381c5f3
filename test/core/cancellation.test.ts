/**
 * Cancellation: an AbortSignal, or a consumer that stops reading, ends the request. The
 * backend's stream is closed, hung plugins are released, the consumer gets REQUEST_ABORTED
 * and requestEnd reports the outcome `aborted` — exactly once. No sleeps: every step waits
 * on a promise the code under test resolves.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type ChatChunk,
  type ChatResponse,
  defineBackend,
  defineMessageProcessor,
  definePlugin,
  isPlugboardError,
  type PlugboardError,
  type PluginManager,
  type RequestOutcome,
} from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';
import { deferred } from '../support/deferred.ts';

/** Records requestEnd and error dispatches; `ended` resolves at the first requestEnd. */
function outcomeRecorder() {
  const ends: { outcome: RequestOutcome; error?: PlugboardError; response?: ChatResponse }[] = [];
  const errors: PlugboardError[] = [];
  const ended = deferred<RequestOutcome>();
  const plugin = definePlugin({
    metadata: { name: 'outcomes', version: '1.0.0' },
    onRequestEnd: ({ outcome, error, response }) => {
      ends.push({ outcome, ...(error ? { error } : {}), ...(response ? { response } : {}) });
      ended.resolve(outcome);
    },
    onError: ({ error }) => {
      errors.push(error);
    },
  });
  return { plugin, ends, errors, ended: ended.promise };
}

/** Wraps a scripted backend so a test learns when `chat` was entered. */
function announcingBackend(scripted: ReturnType<typeof createScriptedBackend>) {
  const entered = deferred();
  const backend = defineBackend({
    metadata: { name: 'announcing', version: '1.0.0' },
    chat: (context, call) => {
      entered.resolve();
      return scripted.chat(context, call);
    },
    listModels: (call) => scripted.listModels(call),
  });
  return { backend, entered: entered.promise };
}

async function withManager(plugins: readonly unknown[], body: (manager: PluginManager) => Promise<void>) {
  const manager = await startManager(plugins);
  try {
    await body(manager);
  } finally {
    await manager.shutdown();
  }
}

function inFlight(manager: PluginManager, plugin: string): number | undefined {
  return manager.getPluginStatus().plugins[plugin]?.inFlight;
}

describe('aborting a streamed request', () => {
  test('an abort mid-stream closes the backend stream, the consumer gets REQUEST_ABORTED, requestEnd says aborted', async () => {
    // A long chunk delay: the stream only ends promptly if the backend honours call.signal.
    const backend = createScriptedBackend({ reply: 'one two three four five six', chunking: 4, chunkDelayMs: 60_000 });
    const recorder = outcomeRecorder();
    await withManager([backend, recorder.plugin], async (manager) => {
      const controller = new AbortController();
      const reason = new Error('client went away');
      const stream = manager.stream(chatRequest('hi', { stream: true }), { signal: controller.signal });
      const received: ChatChunk[] = [];
      let caught: unknown;
      try {
        for await (const chunk of stream) {
          received.push(chunk);
          controller.abort(reason);
        }
      } catch (error) {
        caught = error;
      }
      assert.deepEqual(received, [{ content: 'one ' }]);
      assert.ok(isPlugboardError(caught, 'REQUEST_ABORTED'), `got ${String(caught)}`);
      assert.equal(caught.cause, reason);
      assert.equal(caught.status, 499);
      await assert.rejects(stream.response, (error) => error === caught);
      assert.equal(backend.abandonedStreams, 1, 'the backend stream was closed before its end');
      assert.equal(await recorder.ended, 'aborted');
      assert.equal(recorder.ends.length, 1);
      assert.equal(recorder.ends[0]!.error, caught);
      assert.deepEqual(recorder.errors, [], 'an abort is not an error');
      assert.equal(inFlight(manager, 'scripted'), 0);
      assert.equal(
        manager.getPluginStatus().plugins.scripted?.lastError,
        undefined,
        'an abort is not a backend failure',
      );
    });
  });

  test('a consumer that breaks out of for-await ends the request as aborted', async () => {
    const backend = createScriptedBackend({ reply: 'one two three four five six', chunking: 4 });
    const recorder = outcomeRecorder();
    await withManager([backend, recorder.plugin], async (manager) => {
      const stream = manager.stream(chatRequest('hi', { stream: true }));
      let count = 0;
      for await (const _chunk of stream) {
        count++;
        if (count === 2) break;
      }
      assert.equal(count, 2);
      assert.equal(await recorder.ended, 'aborted');
      assert.equal(recorder.ends.length, 1);
      assert.ok(isPlugboardError(recorder.ends[0]!.error, 'REQUEST_ABORTED'));
      await assert.rejects(stream.response, { code: 'REQUEST_ABORTED' });
      assert.equal(backend.abandonedStreams, 1);
      assert.deepEqual(recorder.errors, []);
      assert.equal(inFlight(manager, 'scripted'), 0);
    });
  });

  test('a consumer that breaks while output is buffered also aborts cleanly', async () => {
    const backend = createScriptedBackend({
      reply: () => ({ content: 'answer', thinking: 'thinking first' }),
      chunking: 2,
    });
    const buffering = defineMessageProcessor({
      metadata: { name: 'buffering', version: '1.0.0' },
      direction: 'output',
      processMessage: (message) => message,
    });
    const recorder = outcomeRecorder();
    await withManager([backend, buffering, recorder.plugin], async (manager) => {
      const stream = manager.stream(chatRequest('hi', { stream: true }));
      for await (const chunk of stream) {
        assert.deepEqual(chunk, { thinking: 'thinking first' });
        break;
      }
      assert.equal(await recorder.ended, 'aborted');
      assert.equal(backend.abandonedStreams, 1);
    });
  });

  test('aborting one request leaves a concurrent one untouched', async () => {
    const backend = createScriptedBackend({ reply: 'shared backend reply', chunking: 3 });
    await withManager([backend], async (manager) => {
      const controller = new AbortController();
      const doomed = manager.stream(chatRequest('a', { stream: true }), { signal: controller.signal });
      const survivor = manager.stream(chatRequest('b', { stream: true }));
      const doomedIterator = doomed[Symbol.asyncIterator]();
      const survivorIterator = survivor[Symbol.asyncIterator]();
      const first = await doomedIterator.next();
      const survivorFirst = await survivorIterator.next();
      assert.equal(first.done, false);
      assert.equal(survivorFirst.done, false);
      controller.abort();
      await assert.rejects(doomedIterator.next(), { code: 'REQUEST_ABORTED' });
      let rest = (survivorFirst.value as ChatChunk).content ?? '';
      for (let next = await survivorIterator.next(); !next.done; next = await survivorIterator.next()) {
        rest += next.value.content ?? '';
      }
      assert.equal(rest, 'shared backend reply');
      assert.equal((await survivor.response).message.content, 'shared backend reply');
    });
  });
});

describe('aborting a non-streamed request', () => {
  test('manager.chat rejects with REQUEST_ABORTED and the hung backend call is released', async () => {
    const scripted = createScriptedBackend({ latencyMs: Number.POSITIVE_INFINITY });
    const { backend, entered } = announcingBackend(scripted);
    const recorder = outcomeRecorder();
    await withManager([backend, recorder.plugin], async (manager) => {
      const controller = new AbortController();
      const pending = manager.chat(chatRequest('hi'), { signal: controller.signal });
      await entered;
      assert.equal(inFlight(manager, 'announcing'), 1, 'the backend call is running');
      controller.abort();
      await assert.rejects(pending, { code: 'REQUEST_ABORTED' });
      assert.equal(await recorder.ended, 'aborted');
      assert.equal(inFlight(manager, 'announcing'), 0);
      assert.equal(scripted.calls.length, 1);
    });
  });

  test('an already-aborted signal never calls the backend (nor any plugin)', async () => {
    const backend = createScriptedBackend();
    const touched: string[] = [];
    const processor = defineMessageProcessor({
      metadata: { name: 'never', version: '1.0.0' },
      processMessage: (message) => {
        touched.push('processor');
        return message;
      },
    });
    const recorder = outcomeRecorder();
    await withManager([backend, processor, recorder.plugin], async (manager) => {
      for (const mode of ['chat', 'stream'] as const) {
        const controller = new AbortController();
        controller.abort(new Error('too late'));
        const request = chatRequest('hi', { stream: mode === 'stream' });
        const attempt =
          mode === 'chat'
            ? manager.chat(request, { signal: controller.signal })
            : collectStream(manager.stream(request, { signal: controller.signal }));
        await assert.rejects(attempt, { code: 'REQUEST_ABORTED' });
      }
      assert.equal(backend.calls.length, 0);
      assert.deepEqual(touched, []);
      assert.deepEqual(
        recorder.ends.map((end) => end.outcome),
        ['aborted', 'aborted'],
      );
    });
  });

  test('an abort after the request finished changes nothing', async () => {
    const recorder = outcomeRecorder();
    await withManager([createScriptedBackend({ reply: 'done' }), recorder.plugin], async (manager) => {
      const controller = new AbortController();
      const response = await manager.chat(chatRequest('hi'), { signal: controller.signal });
      controller.abort();
      assert.equal(response.message.content, 'done');
      assert.deepEqual(
        recorder.ends.map((end) => end.outcome),
        ['completed'],
      );
    });
  });
});

describe('hung plugins are released by abort', () => {
  for (const mode of ['chat', 'stream'] as const) {
    test(`${mode}: a backend that never answers (latencyMs: Infinity) is released and sees its signal aborted`, async () => {
      const scripted = createScriptedBackend({ latencyMs: Number.POSITIVE_INFINITY });
      let signal: AbortSignal | undefined;
      const entered = deferred();
      const backend = defineBackend({
        metadata: { name: 'hung-backend', version: '1.0.0' },
        chat: (context, call) => {
          signal = call.signal;
          entered.resolve();
          return scripted.chat(context, call);
        },
        listModels: () => [],
      });
      const recorder = outcomeRecorder();
      await withManager([backend, recorder.plugin], async (manager) => {
        const controller = new AbortController();
        const request = chatRequest('hi', { stream: mode === 'stream' });
        const attempt =
          mode === 'chat'
            ? manager.chat(request, { signal: controller.signal })
            : collectStream(manager.stream(request, { signal: controller.signal }));
        await entered.promise;
        assert.equal(signal?.aborted, false);
        controller.abort();
        await assert.rejects(attempt, { code: 'REQUEST_ABORTED' });
        assert.equal(signal?.aborted, true);
        assert.equal(await recorder.ended, 'aborted');
        assert.equal(inFlight(manager, 'hung-backend'), 0);
      });
    });
  }

  test('a processor that ignores its signal and never settles is released too', async () => {
    const entered = deferred();
    let signal: AbortSignal | undefined;
    const stuck = defineMessageProcessor({
      metadata: { name: 'stuck', version: '1.0.0' },
      direction: 'input',
      processMessage: (_message, _context, call) => {
        signal = call.signal;
        entered.resolve();
        return new Promise(() => {});
      },
    });
    const backend = createScriptedBackend();
    const recorder = outcomeRecorder();
    await withManager([backend, stuck, recorder.plugin], async (manager) => {
      const controller = new AbortController();
      const pending = manager.chat(chatRequest('hi'), { signal: controller.signal });
      await entered.promise;
      assert.equal(inFlight(manager, 'stuck'), 1);
      controller.abort();
      await assert.rejects(pending, { code: 'REQUEST_ABORTED' });
      assert.equal(signal?.aborted, true);
      assert.equal(inFlight(manager, 'stuck'), 0);
      assert.equal(backend.calls.length, 0, 'the request did not go on to the backend');
      assert.equal(await recorder.ended, 'aborted');
      assert.equal(manager.getPluginStatus().plugins.stuck?.lastError, undefined, 'an abort is no failure');
    });
  });

  test('a hook handler that hangs (beforeModelCall) is released by abort', async () => {
    const entered = deferred();
    const hanging = definePlugin({
      metadata: { name: 'hanging-hook', version: '1.0.0' },
      onBeforeModelCall: () => {
        entered.resolve();
        return new Promise<undefined>(() => {});
      },
    });
    const backend = createScriptedBackend();
    const recorder = outcomeRecorder();
    await withManager([backend, hanging, recorder.plugin], async (manager) => {
      const controller = new AbortController();
      const attempt = collectStream(manager.stream(chatRequest('hi', { stream: true }), { signal: controller.signal }));
      await entered.promise;
      controller.abort();
      await assert.rejects(attempt, { code: 'REQUEST_ABORTED' });
      assert.equal(backend.calls.length, 0);
      assert.equal(await recorder.ended, 'aborted');
      assert.equal(inFlight(manager, 'hanging-hook'), 0);
    });
  });
});

describe('ChatOptions.cancellation (the abort function handed to the caller)', () => {
  test('calling it aborts a request waiting on the backend, like an AbortSignal', async () => {
    const recorder = outcomeRecorder();
    const { backend, entered } = announcingBackend(createScriptedBackend({ latencyMs: Number.POSITIVE_INFINITY }));
    await withManager([backend, recorder.plugin], async (manager) => {
      let abort: ((reason?: unknown) => void) | undefined;
      const reply = manager.chat(chatRequest('hi'), { cancellation: (cancel) => (abort = cancel) });
      await entered;
      assert.ok(abort, 'the pipeline handed over its abort function when it started');
      abort(new Error('client went away'));
      await assert.rejects(reply, (error: unknown) => isPlugboardError(error, 'REQUEST_ABORTED'));
      assert.equal(await recorder.ended, 'aborted');
    });
  });

  test('a request the caller cancelled before it reached the backend never calls it', async () => {
    const scripted = createScriptedBackend();
    await withManager([scripted], async (manager) => {
      const reply = manager.chat(chatRequest('hi'), { cancellation: (cancel) => cancel('too late') });
      await assert.rejects(reply, (error: unknown) => isPlugboardError(error, 'REQUEST_ABORTED'));
      assert.equal(scripted.calls.length, 0);
    });
  });
});
