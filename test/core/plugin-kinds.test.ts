/**
 * The four plugin kinds in the pipeline: message processors (FR-7), backend providers
 * (FR-8), feature extensions with tool loops (FR-9) and middleware (FR-10), each checked
 * for `manager.chat` and `manager.stream` alike.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AnyPlugin,
  appendMessages,
  type ChatChunk,
  type ChatContext,
  type ChatResponse,
  createChatContext,
  createMessage,
  defineBackend,
  defineFeatureExtension,
  defineMessageProcessor,
  defineMiddleware,
  definePlugin,
  fail,
  isPlugboardError,
  type Message,
  ok,
  type PlugboardError,
  type PluginCall,
  type PluginManager,
  type PluginManagerOptions,
  type ProcessorDirection,
  type RequestOutcome,
  reject,
  respond,
  updateContext,
  withContent,
} from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';

type Mode = 'chat' | 'stream';
const MODES: readonly Mode[] = ['chat', 'stream'];

interface Outcome {
  response: ChatResponse;
  chunks: ChatChunk[];
  text: string;
}

/** Runs one request in the given mode. */
async function run(manager: PluginManager, mode: Mode, request: ChatContext): Promise<Outcome> {
  if (mode === 'chat') {
    const response = await manager.chat(request);
    return { response, chunks: [], text: response.message.content };
  }
  return collectStream(manager.stream(updateContext(request, { stream: true })));
}

/** Runs a request that must fail; returns its error and the chunks received before it. */
async function runFailing(
  manager: PluginManager,
  mode: Mode,
  request: ChatContext,
): Promise<{ error: PlugboardError; chunks: ChatChunk[] }> {
  const chunks: ChatChunk[] = [];
  try {
    if (mode === 'chat') await manager.chat(request);
    else {
      const stream = manager.stream(updateContext(request, { stream: true }));
      for await (const chunk of stream) chunks.push(chunk);
      await stream.response;
    }
  } catch (error) {
    assert.ok(isPlugboardError(error), `expected a PlugboardError, got ${String(error)}`);
    return { error, chunks };
  }
  assert.fail('the request should have failed');
}

async function withManager(
  plugins: readonly unknown[],
  body: (manager: PluginManager) => Promise<void>,
  options: PluginManagerOptions = {},
): Promise<void> {
  const manager = await startManager(plugins, options);
  try {
    await body(manager);
  } finally {
    await manager.shutdown();
  }
}

/** Records the error and requestEnd hooks. */
function outcomeRecorder() {
  const errors: PlugboardError[] = [];
  const ends: { outcome: RequestOutcome; error?: PlugboardError; response?: ChatResponse }[] = [];
  const plugin = definePlugin({
    metadata: { name: 'outcomes', version: '1.0.0' },
    onError: ({ error }) => {
      errors.push(error);
    },
    onRequestEnd: ({ outcome, error, response }) => {
      ends.push({ outcome, ...(error ? { error } : {}), ...(response ? { response } : {}) });
    },
  });
  return { plugin, errors, ends };
}

/** A processor that appends `tag` to the content. */
function tagger(
  name: string,
  tag: string,
  options: { direction?: ProcessorDirection; priority?: 'CRITICAL' | 'HIGH' | 'NORMAL' | 'LOW' } = {},
) {
  return defineMessageProcessor({
    metadata: { name, version: '1.0.0', ...(options.priority ? { priority: options.priority } : {}) },
    ...(options.direction ? { direction: options.direction } : {}),
    processMessage: (message) => withContent(message, `${message.content}${tag}`),
  });
}

const assistant = (content: string, extra: Partial<Message> = {}) =>
  createMessage({ role: 'assistant', content, ...extra } as Parameters<typeof createMessage>[0]);

// ——— FR-7 ———

describe('message processors (FR-7)', () => {
  test('receive the Message and the ChatContext (and a PluginCall), and return the transformed message', async () => {
    const received: { message: Message; context: ChatContext; call: PluginCall }[] = [];
    const processor = defineMessageProcessor({
      metadata: { name: 'inspector', version: '1.0.0' },
      direction: 'input',
      processMessage: (message, context, call) => {
        received.push({ message, context, call });
        return withContent(message, message.content.toUpperCase());
      },
    });
    const backend = createScriptedBackend();
    await withManager([backend, processor], async (manager) => {
      const request = chatRequest(
        [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'first question' },
          { role: 'assistant', content: 'first answer' },
          { role: 'user', content: 'second question' },
        ],
        { requestId: 'req-fr7' },
      );
      const { response } = await run(manager, 'chat', request);
      assert.equal(received.length, 1, 'runs once, on the last user message only');
      const [{ message, context, call }] = received as [(typeof received)[0]];
      assert.deepEqual(message, { role: 'user', content: 'second question' });
      assert.equal(context.requestId, 'req-fr7');
      assert.equal(context.messages.length, 4);
      assert.equal(call.plugin, 'inspector');
      assert.equal(call.requestId, 'req-fr7');
      assert.deepEqual(
        backend.calls[0]!.messages.map((m) => m.content),
        ['be brief', 'first question', 'first answer', 'SECOND QUESTION'],
      );
      assert.equal(response.message.content, 'You said: SECOND QUESTION');
    });
  });

  for (const mode of MODES) {
    test(`${mode}: processors form a waterfall in priority order (registration order within a priority)`, async () => {
      const plugins = [
        tagger('low', '[low]', { priority: 'LOW' }),
        tagger('normal-1', '[n1]'),
        tagger('critical', '[critical]', { priority: 'CRITICAL' }),
        tagger('normal-2', '[n2]'),
        tagger('high', '[high]', { priority: 'HIGH' }),
      ];
      const backend = createScriptedBackend({ reply: (context) => `<${context.messages.at(-1)!.content}>` });
      await withManager([backend, ...plugins], async (manager) => {
        const { text } = await run(manager, mode, chatRequest('x'));
        const order = '[critical][high][n1][n2][low]';
        assert.equal(backend.calls[0]!.messages[0]!.content, `x${order}`);
        assert.equal(text, `<x${order}>${order}`);
      });
    });

    test(`${mode}: direction input / output / both is respected`, async () => {
      const plugins = [
        tagger('in-only', '[in]', { direction: 'input' }),
        tagger('out-only', '[out]', { direction: 'output' }),
        tagger('both-explicit', '[both]', { direction: 'both' }),
        tagger('both-default', '[default]'),
      ];
      const backend = createScriptedBackend({ reply: 'reply' });
      await withManager([backend, ...plugins], async (manager) => {
        const { text } = await run(manager, mode, chatRequest('q'));
        assert.equal(backend.calls[0]!.messages[0]!.content, 'q[in][both][default]');
        assert.equal(text, 'reply[out][both][default]');
      });
    });

    test(`${mode}: a failing processor keeps the previous message and the chain goes on`, async () => {
      const throwing = defineMessageProcessor({
        metadata: { name: 'throwing', version: '1.0.0' },
        processMessage: () => {
          throw new Error('processor exploded');
        },
      });
      const failing = defineMessageProcessor({
        metadata: { name: 'failing', version: '1.0.0' },
        processMessage: () => fail('PLUGIN_CALL_FAILED', 'refused politely'),
      });
      const recorder = outcomeRecorder();
      const backend = createScriptedBackend({ reply: 'answer' });
      await withManager(
        [backend, tagger('a', '[a]'), throwing, failing, tagger('c', '[c]'), recorder.plugin],
        async (manager) => {
          const { text, response } = await run(manager, mode, chatRequest('q'));
          assert.equal(backend.calls[0]!.messages[0]!.content, 'q[a][c]');
          assert.equal(text, 'answer[a][c]');
          assert.equal(response.message.content, 'answer[a][c]');
          const bypassed = response.steps.filter((step) => step.outcome === 'bypassed');
          assert.deepEqual(
            bypassed.map((step) => step.plugin),
            ['throwing', 'failing', 'throwing', 'failing'],
          );
          // Each bypassed failure reaches the error hook; the request still completes.
          assert.deepEqual(
            recorder.errors.map((error) => `${error.plugin}:${error.code}`),
            [
              'throwing:PLUGIN_CALL_FAILED',
              'failing:PLUGIN_CALL_FAILED',
              'throwing:PLUGIN_CALL_FAILED',
              'failing:PLUGIN_CALL_FAILED',
            ],
          );
          assert.equal(recorder.ends.at(-1)?.outcome, 'completed');
        },
      );
    });
  }

  test('a processor may return a PluginResult: ok(message) is unwrapped', async () => {
    const wrapped = defineMessageProcessor({
      metadata: { name: 'wrapped', version: '1.0.0' },
      direction: 'input',
      processMessage: async (message) => ok(withContent(message, `${message.content} (wrapped)`)),
    });
    const backend = createScriptedBackend();
    await withManager([backend, wrapped], async (manager) => {
      const { text } = await run(manager, 'chat', chatRequest('hi'));
      assert.equal(text, 'You said: hi (wrapped)');
    });
  });

  for (const mode of MODES) {
    test(`${mode}: a failing fail-closed processor rejects the request with PLUGIN_FAILED_CLOSED`, async () => {
      const strict = defineMessageProcessor({
        metadata: { name: 'strict-filter', version: '1.0.0', failurePolicy: 'closed' },
        direction: 'output',
        processMessage: () => {
          throw new Error('cannot check');
        },
      });
      const recorder = outcomeRecorder();
      await withManager([createScriptedBackend(), strict, recorder.plugin], async (manager) => {
        const { error, chunks } = await runFailing(manager, mode, chatRequest('hi'));
        assert.equal(error.code, 'PLUGIN_FAILED_CLOSED');
        assert.equal(error.plugin, 'strict-filter');
        assert.deepEqual(chunks, [], 'nothing unchecked reached the client');
        assert.equal(recorder.ends.at(-1)?.outcome, 'failed');
      });
    });
  }

  describe('manager.executeMessageProcessors', () => {
    test('runs the input processors as a waterfall in priority order and returns the result', async () => {
      const plugins = [
        tagger('second', '[2]', { priority: 'LOW' }),
        tagger('first', '[1]', { priority: 'HIGH', direction: 'input' }),
        tagger('output-only', '[never]', { direction: 'output' }),
      ];
      await withManager(plugins, async (manager) => {
        const message = createMessage({ role: 'user', content: 'm' });
        const context = chatRequest([{ role: 'user', content: 'm' }]);
        const result = await manager.executeMessageProcessors(message, context);
        assert.ok(result.ok);
        assert.equal(result.value.content, 'm[1][2]');
        assert.equal(message.content, 'm', 'the input message is untouched');
        assert.ok(result.durationMs >= 0);
      });
    });

    test('skips a failing fail-open processor, keeping the previous message (FR-7.5)', async () => {
      const broken = defineMessageProcessor({
        metadata: { name: 'broken', version: '1.0.0' },
        processMessage: () => {
          throw new Error('nope');
        },
      });
      await withManager(
        [tagger('before', '[b]', { priority: 'HIGH' }), broken, tagger('after', '[a]', { priority: 'LOW' })],
        async (manager) => {
          const message = createMessage({ role: 'user', content: 'm' });
          const result = await manager.executeMessageProcessors(message, chatRequest('m'));
          assert.ok(result.ok);
          assert.equal(result.value.content, 'm[b][a]');
        },
      );
    });

    test('fails when a fail-closed processor fails', async () => {
      const strict = defineMessageProcessor({
        metadata: { name: 'strict', version: '1.0.0', failurePolicy: 'closed' },
        processMessage: () => {
          throw new Error('strictly no');
        },
      });
      await withManager([tagger('before', '[b]', { priority: 'HIGH' }), strict], async (manager) => {
        const result = await manager.executeMessageProcessors(
          createMessage({ role: 'user', content: 'm' }),
          chatRequest('m'),
        );
        assert.equal(result.ok, false);
        assert.ok(!result.ok && result.error.plugin === 'strict');
      });
    });

    test('with no processors returns the same message', async () => {
      await withManager([createScriptedBackend()], async (manager) => {
        const message = createMessage({ role: 'user', content: 'same' });
        const result = await manager.executeMessageProcessors(message, chatRequest('same'));
        assert.ok(result.ok);
        assert.equal(result.value, message);
      });
    });
  });
});

// ——— FR-8 ———

describe('backend providers (FR-8)', () => {
  describe('selection', () => {
    const backends = () => ({
      alpha: createScriptedBackend({ name: 'alpha', reply: 'from alpha' }),
      beta: createScriptedBackend({ name: 'beta', reply: 'from beta' }),
    });

    for (const mode of MODES) {
      test(`${mode}: by default the first backend by priority answers`, async () => {
        const { alpha, beta } = backends();
        await withManager(
          [
            [beta, { priority: 'LOW' }],
            [alpha, { priority: 'HIGH' }],
          ],
          async (manager) => {
            assert.deepEqual(manager.backendNames, ['alpha', 'beta']);
            const { text, response } = await run(manager, mode, chatRequest('hi'));
            assert.equal(text, 'from alpha');
            assert.equal(response.backend, 'alpha');
            assert.equal(beta.calls.length, 0);
          },
        );
      });

      test(`${mode}: the defaultBackend option wins over priority`, async () => {
        const { alpha, beta } = backends();
        await withManager(
          [alpha, beta],
          async (manager) => {
            const { text, response } = await run(manager, mode, chatRequest('hi'));
            assert.equal(text, 'from beta');
            assert.equal(response.backend, 'beta');
          },
          { defaultBackend: 'beta' },
        );
      });

      test(`${mode}: context.backend picks a backend by name`, async () => {
        const { alpha, beta } = backends();
        await withManager([alpha, beta], async (manager) => {
          const { text, response } = await run(manager, mode, chatRequest('hi', { backend: 'beta' }));
          assert.equal(text, 'from beta');
          assert.equal(response.backend, 'beta');
          assert.equal(alpha.calls.length, 0);
        });
      });

      test(`${mode}: a "backend/model" prefix picks the backend; any other name is looked up in the model lists`, async () => {
        const alpha = createScriptedBackend({ name: 'alpha', reply: 'from alpha', models: ['library/llama3'] });
        const beta = createScriptedBackend({ name: 'beta', reply: 'from beta' });
        await withManager([alpha, beta], async (manager) => {
          const prefixed = await run(manager, mode, chatRequest('hi', { model: 'beta/big-model' }));
          assert.equal(prefixed.response.backend, 'beta');
          // The prefix chose the backend; the backend sees its own model name.
          assert.equal(beta.calls[0]!.model, 'big-model');
          assert.equal(beta.calls[0]!.backend, 'beta');
          // A slash that names no backend is part of the model name, found in alpha's list.
          const other = await run(manager, mode, chatRequest('hi', { model: 'library/llama3' }));
          assert.equal(other.response.backend, 'alpha');
          assert.equal(alpha.calls.at(-1)!.model, 'library/llama3');
          assert.equal(other.text, 'from alpha');
          // A name no backend lists is a 404 that lists what exists.
          await assert.rejects(run(manager, mode, chatRequest('hi', { model: 'nowhere/model' })), (error: unknown) => {
            assert.ok(isPlugboardError(error, 'MODEL_NOT_FOUND'));
            assert.deepEqual(error.details?.available, ['alpha/library/llama3', 'beta/scripted-model']);
            return true;
          });
        });
      });

      test(`${mode}: an unknown backend fails with BACKEND_NOT_FOUND listing the available ones`, async () => {
        const { alpha, beta } = backends();
        const recorder = outcomeRecorder();
        await withManager([alpha, beta, recorder.plugin], async (manager) => {
          const { error } = await runFailing(manager, mode, chatRequest('hi', { backend: 'gamma' }));
          assert.equal(error.code, 'BACKEND_NOT_FOUND');
          assert.match(error.message, /gamma/);
          assert.match(error.message, /alpha, beta/);
          assert.deepEqual(error.details?.available, ['alpha', 'beta']);
          assert.equal(error.details?.requested, 'gamma');
          assert.equal(alpha.calls.length + beta.calls.length, 0);
          assert.equal(recorder.ends.at(-1)?.outcome, 'failed');
          assert.equal(recorder.errors.at(-1)?.code, 'BACKEND_NOT_FOUND');
        });
      });
    }

    test('an unknown defaultBackend falls back to the first by priority', async () => {
      const { alpha, beta } = backends();
      await withManager(
        [alpha, beta],
        async (manager) => {
          const { response } = await run(manager, 'chat', chatRequest('hi'));
          assert.equal(response.backend, 'alpha');
        },
        { defaultBackend: 'nonexistent' },
      );
    });

    test('with no backend at all, requests fail with BACKEND_NOT_FOUND', async () => {
      await withManager([tagger('lonely', '!')], async (manager) => {
        const { error } = await runFailing(manager, 'chat', chatRequest('hi'));
        assert.equal(error.code, 'BACKEND_NOT_FOUND');
        assert.match(error.message, /No backend provider is active/);
      });
    });

    test('a paused backend is not selectable', async () => {
      const { alpha, beta } = backends();
      await withManager([alpha, beta], async (manager) => {
        manager.pausePlugin('alpha');
        assert.deepEqual(manager.backendNames, ['beta']);
        const { response } = await run(manager, 'chat', chatRequest('hi'));
        assert.equal(response.backend, 'beta');
        const { error } = await runFailing(manager, 'chat', chatRequest('hi', { backend: 'alpha' }));
        assert.equal(error.code, 'BACKEND_NOT_FOUND');
      });
    });
  });

  describe('reply forms', () => {
    const completionOnly = defineBackend({
      metadata: { name: 'completion-only', version: '1.0.0' },
      chat: () => ({
        message: assistant('whole answer', { thinking: 'hmm' }),
        usage: { promptTokens: 3, completionTokens: 2 },
        finishReason: 'length',
        model: 'm-1',
      }),
      listModels: () => [{ id: 'm-1' }],
    });
    const streamOnly = defineBackend({
      metadata: { name: 'stream-only', version: '1.0.0' },
      chat: () =>
        (async function* () {
          yield { thinking: 'let me see' };
          yield { content: 'streamed ' };
          yield { content: 'answer' };
          yield { finishReason: 'stop' as const, usage: { promptTokens: 1, completionTokens: 2 } };
        })(),
      listModels: () => [{ id: 'm-2' }],
    });

    test('a backend returning a whole completion works when streaming was requested', async () => {
      await withManager([completionOnly], async (manager) => {
        const { chunks, text, response } = await run(manager, 'stream', chatRequest('hi'));
        assert.equal(text, 'whole answer');
        // Thinking first: the reasoning precedes the answer.
        assert.deepEqual(chunks, [
          { thinking: 'hmm' },
          { content: 'whole answer' },
          { finishReason: 'length', usage: { promptTokens: 3, completionTokens: 2 } },
        ]);
        assert.equal(response.message.content, 'whole answer');
        assert.equal(response.message.thinking, 'hmm');
        assert.equal(response.model, 'm-1');
        assert.equal(response.finishReason, 'length');
      });
    });

    test('a backend returning a stream works when no streaming was requested', async () => {
      await withManager([streamOnly], async (manager) => {
        const { response } = await run(manager, 'chat', chatRequest('hi'));
        assert.equal(response.message.content, 'streamed answer');
        assert.equal(response.message.thinking, 'let me see');
        assert.deepEqual(response.usage, { promptTokens: 1, completionTokens: 2 });
        assert.equal(response.finishReason, 'stop');
      });
    });

    test('a backend returning something that is neither fails with BACKEND_FAILED (cause PLUGIN_INVALID_RESULT)', async () => {
      const bogus = defineBackend({
        metadata: { name: 'bogus', version: '1.0.0' },
        chat: () => ({ text: 'not a completion' }) as never,
        listModels: () => [],
      });
      await withManager([bogus], async (manager) => {
        for (const mode of MODES) {
          const { error } = await runFailing(manager, mode, chatRequest('hi'));
          assert.equal(error.code, 'BACKEND_FAILED');
          assert.equal(error.plugin, 'bogus');
          assert.ok(isPlugboardError(error.cause, 'PLUGIN_INVALID_RESULT'));
        }
      });
    });

    test('an invalid streamed chunk fails the request', async () => {
      const badChunks = defineBackend({
        metadata: { name: 'bad-chunks', version: '1.0.0' },
        chat: () =>
          (async function* () {
            yield { content: 'fine ' };
            yield { content: 42 } as unknown as ChatChunk;
          })(),
        listModels: () => [],
      });
      await withManager([badChunks], async (manager) => {
        const { error, chunks } = await runFailing(manager, 'stream', chatRequest('hi'));
        assert.equal(error.code, 'PLUGIN_INVALID_RESULT');
        assert.equal(error.plugin, 'bad-chunks');
        assert.deepEqual(chunks, [{ content: 'fine ' }]);
      });
    });
  });

  describe('failures', () => {
    for (const mode of MODES) {
      test(`${mode}: a backend failure is BACKEND_FAILED; the error hook fires and requestEnd says failed`, async () => {
        const cause = new Error('upstream 502');
        const backend = createScriptedBackend({ fail: () => ({ error: cause }) });
        const recorder = outcomeRecorder();
        await withManager([backend, recorder.plugin], async (manager) => {
          const { error, chunks } = await runFailing(manager, mode, chatRequest('hi'));
          assert.equal(error.code, 'BACKEND_FAILED');
          assert.equal(error.plugin, 'scripted');
          assert.match(error.message, /upstream 502/);
          assert.equal(error.status, 502);
          assert.deepEqual(chunks, []);
          assert.deepEqual(
            recorder.errors.map((e) => e.code),
            ['BACKEND_FAILED'],
          );
          assert.equal(recorder.errors[0], error);
          assert.equal(recorder.ends.length, 1);
          assert.equal(recorder.ends[0]!.outcome, 'failed');
          assert.equal(recorder.ends[0]!.error, error);
          assert.equal(recorder.ends[0]!.response, undefined);
        });
      });
    }

    test('stream: a mid-stream failure reaches the consumer after the chunks already sent', async () => {
      const backend = createScriptedBackend({
        reply: 'abcdefghijkl',
        chunking: 3,
        fail: () => ({ error: new Error('connection reset'), afterChunks: 2 }),
      });
      const recorder = outcomeRecorder();
      await withManager([backend, recorder.plugin], async (manager) => {
        const stream = manager.stream(chatRequest('hi', { stream: true }));
        const chunks: ChatChunk[] = [];
        let caught: unknown;
        try {
          for await (const chunk of stream) chunks.push(chunk);
        } catch (error) {
          caught = error;
        }
        assert.deepEqual(chunks, [{ content: 'abc' }, { content: 'def' }]);
        assert.ok(isPlugboardError(caught, 'BACKEND_FAILED'));
        assert.match(caught.message, /connection reset/);
        await assert.rejects(stream.response, (error) => error === caught);
        assert.deepEqual(
          recorder.errors.map((e) => e.code),
          ['BACKEND_FAILED'],
        );
        assert.equal(recorder.ends.at(-1)?.outcome, 'failed');
        assert.equal(manager.getPluginStatus().plugins.scripted?.inFlight, 0);
      });
    });

    test('chat: a mid-stream failure of a streaming backend fails the whole request', async () => {
      const backend = createScriptedBackend({
        reply: 'abcdefghijkl',
        chunking: 3,
        fail: () => ({ error: new Error('connection reset'), afterChunks: 2 }),
      });
      const streaming = defineBackend({
        metadata: { name: 'always-streams', version: '1.0.0' },
        chat: (context, call) => backend.chat(updateContext(context, { stream: true }), call),
        listModels: () => [],
      });
      await withManager([streaming], async (manager) => {
        const { error } = await runFailing(manager, 'chat', chatRequest('hi'));
        assert.equal(error.code, 'BACKEND_FAILED');
      });
    });
  });

  describe('manager.getBackendProvider', () => {
    test('returns undefined for an unknown name', async () => {
      await withManager([createScriptedBackend()], async (manager) => {
        assert.equal(manager.getBackendProvider('missing'), undefined);
      });
    });

    test('chat returns a PluginResult with a completion, or a stream of chunks', async () => {
      const backend = createScriptedBackend({ reply: 'direct answer', chunking: 5 });
      await withManager([backend], async (manager) => {
        const handle = manager.getBackendProvider('scripted')!;
        assert.equal(handle.name, 'scripted');
        const whole = await handle.chat(chatRequest('hi'));
        assert.ok(whole.ok && !(Symbol.asyncIterator in whole.value));
        assert.equal(whole.value.message.content, 'direct answer');

        const streamed = await handle.chat(chatRequest('hi', { stream: true }));
        assert.ok(streamed.ok && Symbol.asyncIterator in streamed.value);
        const pieces: string[] = [];
        for await (const chunk of streamed.value) if (chunk.content) pieces.push(chunk.content);
        assert.deepEqual(pieces, ['direc', 't ans', 'wer']);
        assert.equal(backend.calls.length, 2);
      });
    });

    test('chat reports a failure as a result instead of throwing', async () => {
      const backend = createScriptedBackend({ fail: () => ({ error: new Error('down') }) });
      await withManager([backend], async (manager) => {
        const result = await manager.getBackendProvider('scripted')!.chat(chatRequest('hi'));
        assert.equal(result.ok, false);
        assert.ok(!result.ok && result.error.plugin === 'scripted' && /down/.test(result.error.message));
      });
    });

    test('listModels and embed go through the backend', async () => {
      const backend = createScriptedBackend({ models: ['small', 'large'] });
      await withManager([backend], async (manager) => {
        const handle = manager.getBackendProvider('scripted')!;
        const models = await handle.listModels();
        assert.ok(models.ok);
        assert.deepEqual(models.value, [{ id: 'small' }, { id: 'large' }]);
        const embedded = await handle.embed({ model: 'small', input: ['one two', 'three'] });
        assert.ok(embedded.ok);
        assert.equal(embedded.value.embeddings.length, 2);
        assert.equal(embedded.value.promptTokens, 3);
        for (const vector of embedded.value.embeddings) {
          assert.equal(vector.length, 8);
          assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-9);
        }
      });
    });

    test('embed on a backend without embeddings fails with BACKEND_FAILED (status 400)', async () => {
      const plain = defineBackend({
        metadata: { name: 'plain', version: '1.0.0' },
        chat: () => ({ message: assistant('x') }),
        listModels: () => ['only-model'] as never,
      });
      await withManager([plain], async (manager) => {
        const handle = manager.getBackendProvider('plain')!;
        const result = await handle.embed({ model: 'x', input: ['a'] });
        assert.equal(result.ok, false);
        assert.ok(!result.ok && result.error.code === 'BACKEND_FAILED' && result.error.status === 400);
        const models = await handle.listModels();
        assert.ok(models.ok);
        assert.deepEqual(models.value, [{ id: 'only-model' }]);
      });
    });

    test('listModels returning garbage is PLUGIN_INVALID_RESULT', async () => {
      const broken = defineBackend({
        metadata: { name: 'broken-models', version: '1.0.0' },
        chat: () => ({ message: assistant('x') }),
        listModels: () => 'llama' as never,
      });
      await withManager([broken], async (manager) => {
        const result = await manager.getBackendProvider('broken-models')!.listModels();
        assert.ok(!result.ok && result.error.code === 'PLUGIN_INVALID_RESULT');
      });
    });
  });
});

// ——— FR-9 ———

/** Records beforeModelCall / afterModelCall per turn. */
function turnRecorder() {
  const events: string[] = [];
  const afterMessages: Message[] = [];
  const plugin = definePlugin({
    metadata: { name: 'turns', version: '1.0.0' },
    onBeforeModelCall: ({ turn, backend }) => {
      events.push(`before:${turn}:${backend}`);
    },
    onAfterModelCall: ({ turn, message, finishReason }) => {
      events.push(`after:${turn}:${finishReason}`);
      afterMessages.push(message);
    },
  });
  return { plugin, events, afterMessages };
}

const WEATHER_CALL = { id: 'call-1', name: 'weather', arguments: '{"city":"Oslo"}' };

/** Turn 1: asks for the weather tool; turn 2 (after a tool result): answers with it. */
function toolBackend() {
  return createScriptedBackend({
    chunking: 4,
    reply: (context) => {
      const last = context.messages.at(-1)!;
      return last.role === 'tool'
        ? { content: `It is ${last.content} in Oslo.` }
        : { content: '', toolCalls: [WEATHER_CALL] };
    },
  });
}

/** Runs requested tools and asks for another turn; finishes when the model asks for none. */
function toolExtension(name = 'tools') {
  return defineFeatureExtension({
    metadata: { name, version: '1.0.0' },
    extend: (context) =>
      updateContext(context, { options: { ...context.options, tools: [{ name: 'weather', description: 'Weather' }] } }),
    continueConversation: (turn, context) => {
      const calls = turn.message.toolCalls ?? [];
      if (calls.length === 0) return undefined;
      return appendMessages(context, [
        turn.message,
        ...calls.map((call) => createMessage({ role: 'tool', content: '-3 °C', toolCallId: call.id, name: call.name })),
      ]);
    },
  });
}

describe('feature extensions (FR-9)', () => {
  for (const mode of MODES) {
    test(`${mode}: extensions run before the backend, in priority order; the backend sees what they added`, async () => {
      const extension = (name: string, note: string, priority: 'HIGH' | 'NORMAL' | 'LOW') =>
        defineFeatureExtension({
          metadata: { name, version: '1.0.0', priority },
          extend: (context) =>
            appendMessages(context, [createMessage({ role: 'system', content: note })], { position: 'start' }),
        });
      const backend = createScriptedBackend();
      const request = chatRequest('question');
      await withManager(
        [backend, extension('third', 'C', 'LOW'), extension('first', 'A', 'HIGH'), extension('second', 'B', 'NORMAL')],
        async (manager) => {
          await run(manager, mode, request);
          // Each prepends, so the last to run ends up first.
          assert.deepEqual(
            backend.calls[0]!.messages.map((m) => `${m.role}:${m.content}`),
            ['system:C', 'system:B', 'system:A', 'user:question'],
          );
          assert.equal(request.messages.length, 1, 'the caller’s context is untouched');
        },
      );
    });
  }

  test('a failing extension is bypassed; the backend gets the context as it was', async () => {
    const broken = defineFeatureExtension({
      metadata: { name: 'broken-rag', version: '1.0.0' },
      extend: async () => {
        throw new Error('vector store down');
      },
    });
    const renaming = defineFeatureExtension({
      metadata: { name: 'renaming', version: '1.0.0' },
      extend: (context) => ({ ...context, requestId: 'hijacked' }),
    });
    const backend = createScriptedBackend();
    const recorder = outcomeRecorder();
    await withManager([backend, broken, renaming, recorder.plugin], async (manager) => {
      const request = chatRequest('q');
      const { response } = await run(manager, 'chat', request);
      assert.equal(backend.calls[0]!.requestId, request.requestId);
      assert.deepEqual(backend.calls[0]!.messages, request.messages);
      assert.deepEqual(
        recorder.errors.map((error) => `${error.plugin}:${error.code}`),
        ['broken-rag:PLUGIN_CALL_FAILED', 'renaming:PLUGIN_INVALID_RESULT'],
      );
      assert.equal(response.message.content, 'You said: q');
    });
  });

  for (const mode of MODES) {
    test(`${mode}: continueConversation builds a tool loop`, async () => {
      const backend = toolBackend();
      const turns = turnRecorder();
      await withManager([backend, toolExtension(), turns.plugin], async (manager) => {
        const { response, chunks, text } = await run(manager, mode, chatRequest('Weather in Oslo?'));
        assert.equal(response.turns, 2);
        assert.equal(backend.calls.length, 2);
        assert.deepEqual(turns.events, [
          'before:1:scripted',
          'after:1:tool_calls',
          'before:2:scripted',
          'after:2:stop',
        ]);
        assert.deepEqual(turns.afterMessages[0]!.toolCalls, [WEATHER_CALL]);
        // Turn 2 saw the tool call and its result.
        const second = backend.calls[1]!;
        assert.deepEqual(
          second.messages.map((m) => m.role),
          ['user', 'assistant', 'tool'],
        );
        assert.deepEqual(second.messages[1]!.toolCalls, [WEATHER_CALL]);
        assert.equal(second.messages[2]!.toolCallId, 'call-1');
        assert.equal(second.options.tools?.[0]?.name, 'weather');
        // The client sees the final answer only: no intermediate tool calls.
        assert.equal(text, 'It is -3 °C in Oslo.');
        assert.equal(response.message.content, 'It is -3 °C in Oslo.');
        assert.equal(response.message.toolCalls, undefined);
        assert.equal(response.finishReason, 'stop');
        assert.ok(chunks.every((chunk) => chunk.toolCalls === undefined));
        if (mode === 'stream') assert.ok(chunks.length > 2, 'the final answer was streamed');
        // Usage adds up over both turns (scripted usage: word counts).
        assert.deepEqual(response.usage, { promptTokens: 3 + 5, completionTokens: 0 + 6 });
      });
    });

    test(`${mode}: maxTurns bounds the loop (TOO_MANY_TURNS)`, async () => {
      const backend = createScriptedBackend({ reply: () => ({ content: '', toolCalls: [WEATHER_CALL] }) });
      const turns = turnRecorder();
      const recorder = outcomeRecorder();
      await withManager(
        [backend, toolExtension(), turns.plugin, recorder.plugin],
        async (manager) => {
          const { error, chunks } = await runFailing(manager, mode, chatRequest('loop forever'));
          assert.equal(error.code, 'TOO_MANY_TURNS');
          assert.deepEqual(error.details, { maxTurns: 3 });
          assert.equal(backend.calls.length, 3);
          assert.deepEqual(turns.events, [
            'before:1:scripted',
            'after:1:tool_calls',
            'before:2:scripted',
            'after:2:tool_calls',
            'before:3:scripted',
            'after:3:tool_calls',
          ]);
          assert.ok(chunks.every((chunk) => chunk.toolCalls === undefined));
          assert.equal(recorder.ends.at(-1)?.outcome, 'failed');
        },
        { maxTurns: 3 },
      );
    });

    test(`${mode}: tool calls of the last turn (no extension continues) reach the client`, async () => {
      const backend = createScriptedBackend({ reply: () => ({ content: 'Let me check.', toolCalls: [WEATHER_CALL] }) });
      await withManager([backend], async (manager) => {
        const { response, chunks } = await run(manager, mode, chatRequest('Weather?'));
        assert.equal(response.turns, 1);
        assert.deepEqual(response.message.toolCalls, [WEATHER_CALL]);
        assert.equal(response.finishReason, 'tool_calls');
        if (mode === 'stream') {
          const final = chunks.at(-1)!;
          assert.deepEqual(final.toolCalls, [WEATHER_CALL]);
          assert.equal(final.finishReason, 'tool_calls');
        }
      });
    });
  }

  test('the first extension (by priority) that asks for another turn wins', async () => {
    const asked: string[] = [];
    const greedy = (name: string, priority: 'HIGH' | 'LOW') =>
      defineFeatureExtension({
        metadata: { name, version: '1.0.0', priority },
        extend: (context) => context,
        continueConversation: (turn, context) => {
          asked.push(`${name}:${turn.turn}`);
          return turn.turn === 1
            ? appendMessages(context, [createMessage({ role: 'user', content: `again from ${name}` })])
            : undefined;
        },
      });
    const backend = createScriptedBackend();
    await withManager([backend, greedy('late', 'LOW'), greedy('early', 'HIGH')], async (manager) => {
      const { response } = await run(manager, 'chat', chatRequest('start'));
      assert.equal(response.turns, 2);
      assert.deepEqual(asked, ['early:1', 'early:2', 'late:2']);
      assert.equal(backend.calls[1]!.messages.at(-1)!.content, 'again from early');
    });
  });
});

// ——— FR-10 ———

/** Middleware that records what it sees and may answer, reject or change the response. */
function recordingMiddleware(
  name: string,
  priority: 'CRITICAL' | 'HIGH' | 'NORMAL' | 'LOW',
  trace: string[],
  behaviour: Partial<Pick<AnyPlugin, 'processRequest' | 'processResponse'>> = {},
) {
  return defineMiddleware({
    metadata: { name, version: '1.0.0', priority },
    processRequest: (context, call) => {
      trace.push(`${name}.in`);
      return behaviour.processRequest ? behaviour.processRequest(context, call) : context;
    },
    processResponse: (response, context, call) => {
      trace.push(`${name}.out`);
      return behaviour.processResponse ? behaviour.processResponse(response, context, call) : response;
    },
  });
}

describe('middleware (FR-10)', () => {
  for (const mode of MODES) {
    test(`${mode}: processRequest can change the request; later middleware and the backend see the change`, async () => {
      const trace: string[] = [];
      const seenByLater: ChatContext[] = [];
      const backend = createScriptedBackend();
      const plugins = [
        backend,
        recordingMiddleware('router', 'HIGH', trace, {
          processRequest: (context) =>
            updateContext(context, { model: 'scripted/tuned', metadata: { ...context.metadata, routed: true } }),
        }),
        recordingMiddleware('auditor', 'NORMAL', trace, {
          processRequest: (context) => {
            seenByLater.push(context);
            return context;
          },
          processResponse: (response, context) => ({
            ...response,
            metadata: { ...response.metadata, sawRouted: context.metadata.routed === true },
          }),
        }),
      ];
      await withManager(plugins, async (manager) => {
        const { response } = await run(manager, mode, chatRequest('hi'));
        assert.equal(seenByLater[0]!.model, 'scripted/tuned');
        assert.equal(backend.calls[0]!.model, 'tuned'); // the `scripted/` prefix routed it there
        assert.equal(backend.calls[0]!.metadata.routed, true);
        assert.deepEqual(response.metadata, { sawRouted: true });
        assert.deepEqual(trace, ['router.in', 'auditor.in', 'auditor.out', 'router.out']);
      });
    });

    test(`${mode}: respond() short-circuits: no backend, later middleware skipped, earlier ones see the response`, async () => {
      const trace: string[] = [];
      const backend = createScriptedBackend();
      const input = defineMessageProcessor({
        metadata: { name: 'input-spy', version: '1.0.0' },
        processMessage: (message) => {
          trace.push(`processor:${message.role}`);
          return message;
        },
      });
      const hooks = definePlugin({
        metadata: { name: 'hooks', version: '1.0.0' },
        onRequestStart: () => {
          trace.push('requestStart');
        },
        onMessageSent: ({ message }) => {
          trace.push(`messageSent:${message.content}`);
        },
        onRequestEnd: ({ outcome }) => {
          trace.push(`requestEnd:${outcome}`);
        },
      });
      const cached = assistant('cached answer');
      const plugins = [
        backend,
        input,
        hooks,
        recordingMiddleware('outer', 'HIGH', trace, {
          processResponse: (response) => ({ ...response, metadata: { ...response.metadata, outer: 'saw it' } }),
        }),
        recordingMiddleware('cache', 'NORMAL', trace, {
          processRequest: () =>
            respond(cached, { usage: { promptTokens: 0, completionTokens: 2 }, metadata: { cache: 'hit' } }),
        }),
        recordingMiddleware('inner', 'LOW', trace),
      ];
      await withManager(plugins, async (manager) => {
        const { response, chunks, text } = await run(manager, mode, chatRequest('hi'));
        assert.equal(backend.calls.length, 0);
        assert.equal(text, 'cached answer');
        assert.deepEqual(response.message, { role: 'assistant', content: 'cached answer' });
        assert.deepEqual(response.metadata, { cache: 'hit', answeredBy: 'cache', outer: 'saw it' });
        assert.equal(response.backend, undefined);
        assert.equal(response.turns, 0);
        assert.equal(response.finishReason, 'stop');
        assert.deepEqual(response.usage, { promptTokens: 0, completionTokens: 2 });
        // The answer passes the output processors (input-spy works both ways) as a model's would.
        assert.deepEqual(trace, [
          'outer.in',
          'cache.in',
          'processor:assistant',
          'messageSent:cached answer',
          'outer.out',
          'requestEnd:completed',
        ]);
        if (mode === 'stream') {
          assert.deepEqual(chunks, [
            { content: 'cached answer' },
            { finishReason: 'stop', usage: { promptTokens: 0, completionTokens: 2 } },
          ]);
        }
      });
    });

    test(`${mode}: reject() refuses the request with the code and status given; requestEnd says rejected`, async () => {
      const trace: string[] = [];
      const backend = createScriptedBackend();
      const recorder = outcomeRecorder();
      const plugins = [
        backend,
        recorder.plugin,
        recordingMiddleware('outer', 'HIGH', trace),
        recordingMiddleware('limiter', 'NORMAL', trace, {
          processRequest: () =>
            reject('REQUEST_REJECTED', 'Too many requests, retry in 10 s', {
              status: 429,
              details: { retryAfter: 10 },
            }),
        }),
        recordingMiddleware('inner', 'LOW', trace),
      ];
      await withManager(plugins, async (manager) => {
        const { error, chunks } = await runFailing(manager, mode, chatRequest('hi'));
        assert.equal(error.code, 'REQUEST_REJECTED');
        assert.equal(error.status, 429);
        assert.equal(error.message, 'Too many requests, retry in 10 s');
        assert.deepEqual(error.details, { retryAfter: 10 });
        assert.equal(error.plugin, 'limiter');
        assert.deepEqual(chunks, []);
        assert.equal(backend.calls.length, 0);
        assert.deepEqual(trace, ['outer.in', 'limiter.in']);
        assert.equal(recorder.ends.length, 1);
        assert.equal(recorder.ends[0]!.outcome, 'rejected');
        assert.equal(recorder.ends[0]!.error, error);
      });
    });

    test(`${mode}: processResponse runs in reverse order and may change metadata and usage`, async () => {
      const trace: string[] = [];
      const plugins = [
        createScriptedBackend({ reply: 'body' }),
        recordingMiddleware('first', 'HIGH', trace, {
          processResponse: (response) => ({
            ...response,
            metadata: { ...response.metadata, order: [...((response.metadata.order as string[]) ?? []), 'first'] },
          }),
        }),
        recordingMiddleware('second', 'LOW', trace, {
          processResponse: (response) => ({
            ...response,
            usage: { promptTokens: 100, completionTokens: 200 },
            metadata: { ...response.metadata, order: ['second'] },
          }),
        }),
      ];
      await withManager(plugins, async (manager) => {
        const { response, text } = await run(manager, mode, chatRequest('hi'));
        assert.deepEqual(response.metadata, { order: ['second', 'first'] });
        assert.deepEqual(response.usage, { promptTokens: 100, completionTokens: 200 });
        assert.equal(text, 'body');
        assert.deepEqual(trace, ['first.in', 'second.in', 'second.out', 'first.out']);
      });
    });

    test(`${mode}: a processResponse that changes the content is refused (PLUGIN_INVALID_RESULT) and bypassed`, async () => {
      const trace: string[] = [];
      const recorder = outcomeRecorder();
      const plugins = [
        createScriptedBackend({ reply: 'original body' }),
        recorder.plugin,
        recordingMiddleware('tamperer', 'NORMAL', trace, {
          processResponse: (response) => ({
            ...response,
            message: withContent(response.message, 'tampered body'),
            metadata: { tampered: true },
          }),
        }),
        recordingMiddleware('honest', 'HIGH', trace, {
          processResponse: (response) => ({ ...response, metadata: { ...response.metadata, honest: true } }),
        }),
      ];
      await withManager(plugins, async (manager) => {
        const { response, text } = await run(manager, mode, chatRequest('hi'));
        assert.equal(text, 'original body');
        assert.equal(response.message.content, 'original body');
        assert.deepEqual(response.metadata, { honest: true });
        const step = response.steps.find(
          (candidate) => candidate.plugin === 'tamperer' && candidate.operation === 'processResponse',
        );
        assert.equal(step?.outcome, 'bypassed');
        assert.equal(step?.errorCode, 'PLUGIN_INVALID_RESULT');
        assert.deepEqual(
          recorder.errors.map((error) => `${error.plugin}:${error.code}`),
          ['tamperer:PLUGIN_INVALID_RESULT'],
        );
        assert.equal(recorder.ends.at(-1)?.outcome, 'completed');
      });
    });
  }

  test('processResponse receives the context as processRequest left it', async () => {
    let seen: ChatContext | undefined;
    const middleware = defineMiddleware({
      metadata: { name: 'both-ways', version: '1.0.0' },
      processRequest: (context) => updateContext(context, { metadata: { tenant: 'acme' } }),
      processResponse: (response, context) => {
        seen = context;
        return response;
      },
    });
    await withManager([createScriptedBackend(), middleware], async (manager) => {
      await run(manager, 'chat', chatRequest('hi'));
      assert.deepEqual(seen?.metadata, { tenant: 'acme' });
    });
  });

  test('a failing fail-open processRequest is bypassed; a fail-closed one rejects with PLUGIN_FAILED_CLOSED', async () => {
    const open = defineMiddleware({
      metadata: { name: 'flaky-open', version: '1.0.0' },
      processRequest: () => {
        throw new Error('flaky');
      },
    });
    const backend = createScriptedBackend();
    await withManager([backend, open], async (manager) => {
      const { response } = await run(manager, 'chat', chatRequest('hi'));
      assert.equal(response.message.content, 'You said: hi');
      assert.equal(response.steps.find((step) => step.plugin === 'flaky-open')?.outcome, 'bypassed');
    });

    const closed = defineMiddleware({
      metadata: { name: 'auth', version: '1.0.0', failurePolicy: 'closed' },
      processRequest: () => {
        throw new Error('token service down');
      },
    });
    const guarded = createScriptedBackend();
    await withManager([guarded, closed], async (manager) => {
      for (const mode of MODES) {
        const { error } = await runFailing(manager, mode, chatRequest('hi'));
        assert.equal(error.code, 'PLUGIN_FAILED_CLOSED');
        assert.equal(error.plugin, 'auth');
      }
      assert.equal(guarded.calls.length, 0);
    });
  });

  test('an unknown decision or a malformed reject is refused and bypassed', async () => {
    const weird = defineMiddleware({
      metadata: { name: 'weird', version: '1.0.0' },
      processRequest: () => ({ decision: 'maybe' }) as never,
    });
    const sloppy = defineMiddleware({
      metadata: { name: 'sloppy', version: '1.0.0' },
      processRequest: () => ({ decision: 'reject', error: new Error('plain error') }) as never,
    });
    const backend = createScriptedBackend();
    await withManager([backend, weird, sloppy], async (manager) => {
      const { response } = await run(manager, 'chat', chatRequest('hi'));
      assert.equal(backend.calls.length, 1);
      const bypassed = response.steps.filter((step) => step.outcome === 'bypassed');
      assert.deepEqual(
        bypassed.map((step) => `${step.plugin}:${step.errorCode}`),
        ['weird:PLUGIN_INVALID_RESULT', 'sloppy:PLUGIN_INVALID_RESULT'],
      );
    });
  });

  test('respond() with an invalid message is refused and the request continues normally', async () => {
    const badCache = defineMiddleware({
      metadata: { name: 'bad-cache', version: '1.0.0' },
      processRequest: () => respond({ role: 'oracle', content: 'x' } as unknown as Message),
    });
    const backend = createScriptedBackend();
    await withManager([backend, badCache], async (manager) => {
      const { response } = await run(manager, 'chat', chatRequest('hi'));
      assert.equal(backend.calls.length, 1);
      assert.equal(response.metadata.answeredBy, undefined);
      assert.equal(response.steps.find((step) => step.plugin === 'bad-cache')?.errorCode, 'PLUGIN_INVALID_RESULT');
    });
  });

  test('a middleware without processRequest still gets processResponse', async () => {
    const responseOnly = defineMiddleware({
      metadata: { name: 'response-only', version: '1.0.0' },
      processResponse: (response) => ({ ...response, metadata: { stamped: true } }),
    });
    await withManager([createScriptedBackend(), responseOnly], async (manager) => {
      for (const mode of MODES) {
        const { response } = await run(
          manager,
          mode,
          createChatContext({ messages: [{ role: 'user', content: 'x' }] }),
        );
        assert.deepEqual(response.metadata, { stamped: true });
      }
    });
  });
});
