/**
 * The chat pipeline as a whole: the documented order of one request, the same for
 * `manager.chat` and `manager.stream`; `ChatResponse.steps`; the fields of the response; the
 * requestEnd and error hooks on success and on failure.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type ChatChunk,
  type ChatContext,
  type ChatResponse,
  createMessage,
  createSilentLogger,
  defineBackend,
  defineFeatureExtension,
  defineMessageProcessor,
  defineMiddleware,
  definePlugin,
  isPlugboardError,
  type PlugboardError,
  PluginManager,
  type RequestOutcome,
  withContent,
} from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';

type Mode = 'chat' | 'stream';
const MODES: readonly Mode[] = ['chat', 'stream'];

/** Runs one request in the given mode; returns the response and (when streaming) the chunks. */
async function run(
  manager: PluginManager,
  mode: Mode,
  content = 'hello',
): Promise<{ response: ChatResponse; chunks: ChatChunk[] }> {
  if (mode === 'chat') return { response: await manager.chat(chatRequest(content)), chunks: [] };
  const { response, chunks } = await collectStream(manager.stream(chatRequest(content, { stream: true })));
  return { response, chunks };
}

/** Captures the error a request fails with, in the given mode. */
async function runFailing(manager: PluginManager, mode: Mode, content = 'hello'): Promise<PlugboardError> {
  try {
    await run(manager, mode, content);
  } catch (error) {
    assert.ok(isPlugboardError(error), `expected a PlugboardError, got ${String(error)}`);
    return error;
  }
  assert.fail('the request should have failed');
}

/**
 * One plugin of every kind, each writing what runs into `trace`: two middleware (HIGH then
 * NORMAL), an input and an output processor, an extension, a hook observer and a backend.
 */
function tracingPlugins(trace: string[]) {
  const middleware = (name: string, priority: 'HIGH' | 'NORMAL') =>
    defineMiddleware({
      metadata: { name, version: '1.0.0', priority },
      processRequest: (context) => {
        trace.push(`${name}.processRequest`);
        return context;
      },
      processResponse: (response) => {
        trace.push(`${name}.processResponse`);
        return response;
      },
    });
  const hooks = definePlugin({
    metadata: { name: 'hooks', version: '1.0.0' },
    onRequestStart: () => {
      trace.push('requestStart');
    },
    onMessageReceived: () => {
      trace.push('messageReceived');
    },
    onBeforeModelCall: () => {
      trace.push('beforeModelCall');
    },
    onAfterModelCall: () => {
      trace.push('afterModelCall');
    },
    onStreamChunk: ({ chunk }) => {
      trace.push(chunk.finishReason ? 'streamChunk:final' : 'streamChunk:content');
    },
    onMessageSent: () => {
      trace.push('messageSent');
    },
    onRequestEnd: ({ outcome }) => {
      trace.push(`requestEnd:${outcome}`);
    },
    onError: ({ error }) => {
      trace.push(`error:${error.code}`);
    },
  });
  const input = defineMessageProcessor({
    metadata: { name: 'input-processor', version: '1.0.0' },
    direction: 'input',
    processMessage: (message) => {
      trace.push('inputProcessor');
      return withContent(message, `${message.content}?`);
    },
  });
  const output = defineMessageProcessor({
    metadata: { name: 'output-processor', version: '1.0.0' },
    direction: 'output',
    processMessage: (message) => {
      trace.push('outputProcessor');
      return withContent(message, `${message.content}!`);
    },
  });
  const extension = defineFeatureExtension({
    metadata: { name: 'extension', version: '1.0.0' },
    extend: (context) => {
      trace.push('extend');
      return context;
    },
    continueConversation: () => {
      trace.push('continueConversation');
      return undefined;
    },
  });
  const scripted = createScriptedBackend({ reply: 'hi there' });
  const backend = defineBackend({
    metadata: { name: 'backend', version: '1.0.0' },
    chat: (context, call) => {
      trace.push('backend.chat');
      return scripted.chat(context, call);
    },
    listModels: (call) => scripted.listModels(call),
  });
  // Registered in a scrambled order: priority, not registration order, decides.
  return [hooks, output, middleware('mw-normal', 'NORMAL'), backend, extension, input, middleware('mw-high', 'HIGH')];
}

const ORDER_BEFORE_OUTPUT = [
  'mw-high.processRequest',
  'mw-normal.processRequest',
  'requestStart',
  'inputProcessor',
  'messageReceived',
  'extend',
  'beforeModelCall',
  'backend.chat',
  'afterModelCall',
  'continueConversation',
  'outputProcessor',
];
const ORDER_AFTER_OUTPUT = [
  'messageSent',
  'mw-normal.processResponse',
  'mw-high.processResponse',
  'requestEnd:completed',
];

describe('the order of one request', () => {
  test('manager.chat: middleware in → hooks → processors → extensions → backend → processors → middleware out in reverse → requestEnd', async () => {
    const trace: string[] = [];
    const manager = await startManager(tracingPlugins(trace));
    try {
      const { response } = await run(manager, 'chat');
      assert.deepEqual(trace, [...ORDER_BEFORE_OUTPUT, ...ORDER_AFTER_OUTPUT]);
      assert.equal(response.message.content, 'hi there!');
    } finally {
      await manager.shutdown();
    }
  });

  test('manager.stream: the same order, with the streamed chunks between output processors and messageSent', async () => {
    const trace: string[] = [];
    const manager = await startManager(tracingPlugins(trace));
    try {
      const { response, chunks } = await run(manager, 'stream');
      assert.deepEqual(trace, [
        ...ORDER_BEFORE_OUTPUT,
        'streamChunk:content',
        'streamChunk:final',
        ...ORDER_AFTER_OUTPUT,
      ]);
      assert.equal(chunks.map((chunk) => chunk.content ?? '').join(''), 'hi there!');
      assert.equal(response.message.content, 'hi there!');
    } finally {
      await manager.shutdown();
    }
  });

  test('the user message seen by the backend went through the input processors', async () => {
    const trace: string[] = [];
    const plugins = tracingPlugins(trace);
    const seen: ChatContext[] = [];
    const spy = defineBackend({
      metadata: { name: 'spy', version: '1.0.0', priority: 'CRITICAL' },
      chat: (context) => {
        seen.push(context);
        return { message: createMessage({ role: 'assistant', content: 'ok' }) };
      },
      listModels: () => [{ id: 'spy' }],
    });
    const manager = await startManager([spy, ...plugins]);
    try {
      for (const mode of MODES) await run(manager, mode, 'question');
      assert.deepEqual(
        seen.map((context) => context.messages.at(-1)?.content),
        ['question?', 'question?'],
      );
    } finally {
      await manager.shutdown();
    }
  });
});

describe('ChatResponse.steps', () => {
  for (const mode of MODES) {
    test(`${mode}: records every plugin step in the order it ran, processResponse included`, async () => {
      const trace: string[] = [];
      const manager = await startManager(tracingPlugins(trace));
      try {
        const { response } = await run(manager, mode);
        const steps = response.steps.map((step) => `${step.plugin}:${step.operation}`);
        const expected = [
          'mw-high:processRequest',
          'mw-normal:processRequest',
          'hooks:hook:requestStart',
          'input-processor:processMessage.input',
          'hooks:hook:messageReceived',
          'extension:extend',
          'hooks:hook:beforeModelCall',
          'backend:chat',
          'hooks:hook:afterModelCall',
          'extension:continueConversation',
          'output-processor:processMessage.output',
          ...(mode === 'stream' ? ['hooks:hook:streamChunk', 'hooks:hook:streamChunk'] : []),
          'hooks:hook:messageSent',
          'mw-normal:processResponse',
          'mw-high:processResponse',
        ];
        assert.deepEqual(steps, expected);
        for (const step of response.steps) {
          assert.equal(step.outcome, 'ok');
          assert.equal(step.errorCode, undefined);
          assert.ok(step.durationMs >= 0);
        }
      } finally {
        await manager.shutdown();
      }
    });
  }

  test('a bypassed plugin is recorded with its error code, and the request goes on', async () => {
    const broken = defineMessageProcessor({
      metadata: { name: 'broken', version: '1.0.0' },
      direction: 'input',
      processMessage: () => {
        throw new Error('boom');
      },
    });
    const manager = await startManager([createScriptedBackend(), broken]);
    try {
      for (const mode of MODES) {
        const { response } = await run(manager, mode, 'intact');
        const step = response.steps.find((candidate) => candidate.plugin === 'broken');
        assert.deepEqual(
          { outcome: step?.outcome, errorCode: step?.errorCode, operation: step?.operation },
          { outcome: 'bypassed', errorCode: 'PLUGIN_CALL_FAILED', operation: 'processMessage.input' },
        );
        assert.equal(response.message.content, 'You said: intact');
      }
    } finally {
      await manager.shutdown();
    }
  });
});

describe('the response', () => {
  for (const mode of MODES) {
    test(`${mode}: carries request id, backend, usage, finish reason, turns and snapshot version`, async () => {
      const manager = await startManager([createScriptedBackend({ reply: 'one two three' })]);
      try {
        const request = chatRequest('a b', { stream: mode === 'stream', model: 'scripted-model' });
        const response =
          mode === 'chat' ? await manager.chat(request) : (await collectStream(manager.stream(request))).response;
        assert.equal(response.requestId, request.requestId);
        assert.equal(response.backend, 'scripted');
        assert.equal(response.model, 'scripted-model');
        assert.deepEqual(response.usage, { promptTokens: 2, completionTokens: 3 });
        assert.equal(response.finishReason, 'stop');
        assert.equal(response.turns, 1);
        assert.equal(response.snapshotVersion, manager.getPluginStatus().snapshotVersion);
        assert.deepEqual(response.message, { role: 'assistant', content: 'one two three' });
        assert.deepEqual(response.metadata, {});
      } finally {
        await manager.shutdown();
      }
    });
  }

  test('requestEnd receives the very response the caller gets, and fires once', async () => {
    const ends: { outcome: RequestOutcome; response?: ChatResponse; error?: PlugboardError; durationMs: number }[] = [];
    const observer = definePlugin({
      metadata: { name: 'observer', version: '1.0.0' },
      onRequestEnd: (payload) => {
        ends.push(payload);
      },
    });
    const manager = await startManager([createScriptedBackend(), observer]);
    try {
      for (const mode of MODES) {
        ends.length = 0;
        const { response } = await run(manager, mode);
        assert.equal(ends.length, 1);
        assert.equal(ends[0]!.outcome, 'completed');
        assert.equal(ends[0]!.response, response);
        assert.equal(ends[0]!.error, undefined);
        assert.ok(ends[0]!.durationMs >= 0);
      }
    } finally {
      await manager.shutdown();
    }
  });
});

describe('a failing request', () => {
  for (const mode of MODES) {
    test(`${mode}: the error hook and requestEnd (outcome failed) fire, in that order, after the work done so far`, async () => {
      const trace: string[] = [];
      const plugins = tracingPlugins(trace).filter(
        (plugin) => (plugin as { metadata: { name: string } }).metadata.name !== 'backend',
      );
      const failing = createScriptedBackend({ fail: () => ({ error: new Error('model crashed') }) });
      const manager = await startManager([...plugins, failing]);
      try {
        const error = await runFailing(manager, mode);
        assert.equal(error.code, 'BACKEND_FAILED');
        assert.deepEqual(trace, [
          'mw-high.processRequest',
          'mw-normal.processRequest',
          'requestStart',
          'inputProcessor',
          'messageReceived',
          'extend',
          'beforeModelCall',
          'error:BACKEND_FAILED',
          'requestEnd:failed',
        ]);
      } finally {
        await manager.shutdown();
      }
    });
  }

  test('the manager refuses requests before initialize and after shutdown', async () => {
    const fresh = new PluginManager({ logger: createSilentLogger() });
    await fresh.register(createScriptedBackend());
    assert.throws(() => fresh.chat(chatRequest('early')), { code: 'MANAGER_NOT_RUNNING' });
    const manager = await startManager([createScriptedBackend()]);
    await manager.shutdown();
    assert.throws(() => manager.chat(chatRequest('late')), { code: 'MANAGER_NOT_RUNNING' });
    assert.throws(() => manager.stream(chatRequest('late', { stream: true })), { code: 'MANAGER_NOT_RUNNING' });
  });
});
