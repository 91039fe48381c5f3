/**
 * The tool loop through a real PluginManager: the tools plugin, a plugin that registers tools
 * with defineTool, and a scripted backend standing in for the model. The scripted backend is
 * the one fake here: the tiny llama.cpp test model cannot produce tool calls, so a script plays
 * a model that calls tools and then answers from their results.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PrometheusMetrics } from '../../src/core/metrics/metrics-service.ts';
import { type ChatContext, definePlugin, metricsRef, type ToolCall } from '../../src/index.ts';
import {
  chatRequest,
  collectStream,
  createScriptedBackend,
  type ScriptedReply,
  startManager,
} from '../../src/testing/index.ts';
import { calculatorPlugin } from './testing/calculator-plugin.ts';
import { createToolsPlugin } from './tools.plugin.ts';

/** Counts the model-turn hooks, to prove every hook fires on every turn. */
function hookCounter() {
  const counts = { requestStart: 0, beforeModelCall: 0, afterModelCall: 0, messageSent: 0, requestEnd: 0 };
  const plugin = definePlugin({
    metadata: { name: 'hook-counter', version: '1.0.0' },
    onRequestStart: () => void counts.requestStart++,
    onBeforeModelCall: () => void counts.beforeModelCall++,
    onAfterModelCall: () => void counts.afterModelCall++,
    onMessageSent: () => void counts.messageSent++,
    onRequestEnd: () => void counts.requestEnd++,
  });
  return { counts, plugin };
}

/** A metrics service provided to the plugins, so the test can read what the tools plugin counted. */
function metricsProvider() {
  const metrics = new PrometheusMetrics();
  const plugin = definePlugin({
    metadata: { name: 'metrics-provider', version: '1.0.0', provides: [metricsRef] },
    initialize(_config, call) {
      call.provide(metricsRef, metrics);
    },
  });
  return { metrics, plugin };
}

const toolCall = (id: string, name: string, args: string): ToolCall => ({ id, name, arguments: args });
const lastMessage = (context: ChatContext) => context.messages.at(-1);

/** A model that calls `calls` when the last message is the user's, and otherwise answers with the tool results. */
function modelCalling(calls: readonly ToolCall[]) {
  return (context: ChatContext): ScriptedReply =>
    lastMessage(context)?.role === 'user'
      ? { content: '', toolCalls: calls }
      : {
          content: `answer from ${context.messages
            .filter((message) => message.role === 'tool')
            .map((message) => message.content)
            .join(' | ')}`,
        };
}

async function start(reply: (context: ChatContext, call: number) => ScriptedReply, config: object = {}) {
  const backend = createScriptedBackend({ reply });
  const calculator = calculatorPlugin();
  const hooks = hookCounter();
  const metrics = metricsProvider();
  const manager = await startManager([
    backend,
    metrics.plugin,
    calculator.plugin,
    hooks.plugin,
    [createToolsPlugin, { config }],
  ]);
  assert.equal(manager.getPluginStatus().plugins.tools?.state, 'ACTIVE', 'the tools plugin is active');
  return { backend, manager, runs: calculator.runs, hooks: hooks.counts, metrics: metrics.metrics };
}

type ToolRecord = { name: string; outcome: string; ok: boolean; round: number; output: string; arguments: unknown };
const toolRecords = (data: unknown): ToolRecord[] => (data as { tools?: ToolRecord[] } | undefined)?.tools ?? [];

describe('the tool loop', () => {
  test('model → two tool calls run in parallel → model again → answer; every hook fires on each turn', async () => {
    const { backend, manager, hooks } = await start(
      modelCalling([toolCall('c1', 'meet', '{"who":"ann"}'), toolCall('c2', 'meet', '{"who":"bob"}')]),
    );
    try {
      const response = await manager.chat(chatRequest('meet please'));
      assert.equal(response.message.content, 'answer from ann: together | bob: together');
      assert.equal(response.turns, 2);
      assert.equal(response.finishReason, 'stop');
      assert.equal(response.message.toolCalls, undefined, 'the client gets no server tool calls');
      assert.equal(backend.calls.length, 2);
      const offered = backend.calls[0]!.options.tools?.map((tool) => tool.name) ?? [];
      assert.deepEqual(offered.sort(), ['add', 'explode', 'hang', 'hang_default', 'meet', 'refuse']);
      const second = backend.calls[1]!.messages;
      assert.equal(second.at(-3)?.role, 'assistant');
      assert.deepEqual(
        second.at(-3)?.toolCalls?.map((call) => call.id),
        ['c1', 'c2'],
      );
      assert.deepEqual(
        second.slice(-2).map((message) => [message.role, message.toolCallId, message.name, message.content]),
        [
          ['tool', 'c1', 'meet', 'ann: together'],
          ['tool', 'c2', 'meet', 'bob: together'],
        ],
      );
      const records = toolRecords(response.data);
      assert.deepEqual(
        records.map((record) => [record.name, record.ok, record.outcome, record.round]),
        [
          ['meet', true, 'ok', 1],
          ['meet', true, 'ok', 1],
        ],
      );
      assert.deepEqual(records[0]?.arguments, { who: 'ann' });
      assert.equal(hooks.beforeModelCall, 2, 'beforeModelCall on each turn');
      assert.equal(hooks.afterModelCall, 2, 'afterModelCall on each turn');
      assert.equal(hooks.requestStart, 1);
      assert.equal(hooks.messageSent, 1);
    } finally {
      await manager.shutdown();
    }
  });

  test('streamed: the answer streams, the tool results are in the response', async () => {
    const { manager } = await start(modelCalling([toolCall('c1', 'add', '{"a":2,"b":3}')]));
    try {
      const { text, response } = await collectStream(manager.stream(chatRequest('add', { stream: true })));
      assert.equal(text, 'answer from {"sum":5}');
      assert.equal(toolRecords(response.data)[0]?.output, '{"sum":5}');
    } finally {
      await manager.shutdown();
    }
  });

  test('bad arguments: broken JSON and arguments the schema refuses are told to the model', async () => {
    const { manager, runs } = await start(
      modelCalling([toolCall('c1', 'add', '{"a": 1,'), toolCall('c2', 'add', '{"a":"one","b":2}')]),
    );
    try {
      const response = await manager.chat(chatRequest('add'));
      const [broken, refused] = response.message.content.replace('answer from ', '').split(' | ');
      assert.match(broken ?? '', /^Error: Invalid arguments for tool "add": they are not valid JSON/);
      assert.match(refused ?? '', /^Error: Invalid arguments for tool "add": a: /);
      assert.equal(runs.get('add'), undefined, 'the tool never ran with bad arguments');
      assert.deepEqual(
        toolRecords(response.data).map((record) => record.outcome),
        ['invalid_arguments', 'invalid_arguments'],
      );
    } finally {
      await manager.shutdown();
    }
  });

  test("a client's own tool passes through to the client, and wins a name it shares with a server tool", async () => {
    const { backend, manager, runs } = await start(modelCalling([toolCall('c1', 'add', '{"a":1,"b":2}')]));
    try {
      const clientAdd = { name: 'add', description: 'The client adds', parameters: { type: 'object' } };
      const response = await manager.chat(
        chatRequest('add', { options: { tools: [clientAdd, { name: 'lookup', description: 'Client lookup' }] } }),
      );
      assert.equal(backend.calls.length, 1, 'the model is not called again');
      assert.equal(response.finishReason, 'tool_calls');
      assert.deepEqual(response.message.toolCalls, [toolCall('c1', 'add', '{"a":1,"b":2}')]);
      assert.equal(runs.get('add'), undefined, 'the server tool did not run');
      const sent = backend.calls[0]!.options.tools ?? [];
      assert.deepEqual(
        sent.filter((tool) => tool.name === 'add').map((tool) => tool.description),
        ['The client adds'],
      );
      assert.deepEqual(
        sent.slice(0, 2).map((tool) => tool.name),
        ['add', 'lookup'],
        "the client's tools come first",
      );
    } finally {
      await manager.shutdown();
    }
  });

  test('mixed: server tools run, a client tool called with them is sent back to the model to call alone', async () => {
    const { backend, manager, runs } = await start((context) => {
      const tools = context.messages.filter((message) => message.role === 'tool');
      if (tools.length === 0) {
        return { toolCalls: [toolCall('c1', 'add', '{"a":1,"b":2}'), toolCall('c2', 'lookup', '{}')] };
      }
      return { toolCalls: [toolCall('c3', 'lookup', '{}')] };
    });
    try {
      const response = await manager.chat(chatRequest('mix', { options: { tools: [{ name: 'lookup' }] } }));
      assert.equal(runs.get('add'), 1);
      assert.equal(backend.calls.length, 2);
      assert.deepEqual(
        backend.calls[1]!.messages.slice(-2).map((message) => message.content),
        [
          '{"sum":3}',
          'Error: "lookup" was not run: it cannot be called in the same turn as the server\'s tools. Call it again on its own.',
        ],
      );
      assert.deepEqual(response.message.toolCalls, [toolCall('c3', 'lookup', '{}')], 'only the client tool call');
      assert.equal(response.finishReason, 'tool_calls');
    } finally {
      await manager.shutdown();
    }
  });

  test('max_turns: after that many rounds the model is called once more with toolChoice none', async () => {
    const { backend, manager, hooks } = await start(
      (context) =>
        context.options.toolChoice === 'none'
          ? { content: 'enough adding' }
          : { toolCalls: [toolCall(`c${context.messages.length}`, 'add', '{"a":1,"b":1}')] },
      { max_turns: 2 },
    );
    try {
      const response = await manager.chat(chatRequest('add forever', { options: { toolChoice: 'required' } }));
      assert.equal(response.message.content, 'enough adding');
      assert.equal(backend.calls.length, 3);
      assert.deepEqual(
        backend.calls.map((context) => context.options.toolChoice),
        ['required', 'auto', 'none'],
        'a forced choice is honoured once, then auto, then none',
      );
      assert.deepEqual(
        toolRecords(response.data).map((record) => record.round),
        [1, 2],
      );
      assert.equal(hooks.beforeModelCall, 3);
      assert.equal(hooks.afterModelCall, 3);
    } finally {
      await manager.shutdown();
    }
  });

  test('max_turns: a model that calls tools anyway ends the loop with its reply as it is', async () => {
    const { backend, manager, runs } = await start(
      (context) => ({ toolCalls: [toolCall(`c${context.messages.length}`, 'add', '{"a":1,"b":1}')] }),
      { max_turns: 1 },
    );
    try {
      const response = await manager.chat(chatRequest('add'));
      assert.equal(backend.calls.length, 2);
      assert.equal(runs.get('add'), 1);
      assert.equal(response.finishReason, 'tool_calls');
    } finally {
      await manager.shutdown();
    }
  });

  test("per-tool timeout: the tool's own timeoutMs, else timeout_ms", async () => {
    const { manager } = await start(
      modelCalling([
        toolCall('c1', 'hang', '{}'),
        toolCall('c2', 'hang_default', '{}'),
        toolCall('c3', 'add', '{"a":1,"b":1}'),
      ]),
      { timeout_ms: 80 },
    );
    try {
      const response = await manager.chat(chatRequest('hang'));
      const records = toolRecords(response.data);
      assert.deepEqual(
        records.map((record) => [record.name, record.outcome]),
        [
          ['hang', 'timeout'],
          ['hang_default', 'timeout'],
          ['add', 'ok'],
        ],
      );
      assert.equal(records[0]?.output, 'Error: Tool "hang" did not answer within 50 ms');
      assert.equal(records[1]?.output, 'Error: Tool "hang_default" did not answer within 80 ms');
    } finally {
      await manager.shutdown();
    }
  });

  test('an exception is not shown to the model; repeated failures open the breaker', async () => {
    const { manager, runs, metrics } = await start(modelCalling([toolCall('c1', 'explode', '{}')]), {
      breaker: { failure_threshold: 2, reset_after_ms: 60_000 },
    });
    try {
      const outputs: string[] = [];
      for (let request = 0; request < 3; request++) {
        const response = await manager.chat(chatRequest('explode'));
        assert.ok(!response.message.content.includes('hunter2'), 'the exception text never reaches the model');
        outputs.push(toolRecords(response.data)[0]?.outcome ?? '');
      }
      assert.deepEqual(outputs, ['failed', 'failed', 'unavailable']);
      assert.equal(runs.get('explode'), 2, 'the open circuit kept the third call from running');
      const scrape = await metrics.registry.metrics();
      assert.match(scrape, /tools_calls_total\{tool="explode",outcome="failed"\} 2/);
      assert.match(scrape, /tools_calls_total\{tool="explode",outcome="unavailable"\} 1/);
    } finally {
      await manager.shutdown();
    }
  });

  test("a coded error's message reaches the model and does not count against the breaker", async () => {
    const { manager } = await start(modelCalling([toolCall('c1', 'refuse', '{}')]), {
      breaker: { failure_threshold: 1, reset_after_ms: 60_000 },
    });
    try {
      for (let request = 0; request < 2; request++) {
        const response = await manager.chat(chatRequest('refuse'));
        assert.equal(response.message.content, 'answer from Error: Only tables a and b may be read');
      }
    } finally {
      await manager.shutdown();
    }
  });

  test("toolChoice none, deny and allow: the server's tools are not offered", async () => {
    const { backend, manager } = await start(() => ({ content: 'ok' }), { allow: ['a*', 'h*'], deny: ['hang_*'] });
    try {
      await manager.chat(chatRequest('hi'));
      assert.deepEqual(backend.calls[0]!.options.tools?.map((tool) => tool.name).sort(), ['add', 'hang']);
      await manager.chat(chatRequest('hi', { options: { toolChoice: 'none' } }));
      assert.equal(backend.calls[1]!.options.tools, undefined);
    } finally {
      await manager.shutdown();
    }
  });
});

describe('models that cannot call tools', () => {
  test('a model whose backend lists capabilities without tools is offered none, and the chat is answered', async () => {
    // As the llama.cpp backend lists its models: `capabilities: ['completion']`.
    const scripted = createScriptedBackend({ models: ['plain'], reply: 'no tools here' });
    const backend = { ...scripted, listModels: () => [{ id: 'plain', details: { capabilities: ['completion'] } }] };
    const toolful = createScriptedBackend({ name: 'toolful', models: ['smart'], reply: 'fine' });
    const manager = await startManager([backend, toolful, calculatorPlugin().plugin, createToolsPlugin]);
    try {
      const plain = await manager.chat(chatRequest('hi', { model: 'plain' }));
      assert.equal(plain.message.content, 'no tools here');
      assert.equal(scripted.calls.at(-1)?.options.tools, undefined, 'no tools sent to a model that cannot call them');
      await manager.chat(chatRequest('hi', { model: 'smart' }));
      assert.ok((toolful.calls.at(-1)?.options.tools?.length ?? 0) > 0, 'a model that says nothing is offered tools');
    } finally {
      await manager.shutdown();
    }
  });
});
