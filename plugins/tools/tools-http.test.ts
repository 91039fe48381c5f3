/**
 * End to end through the HTTP server with the official clients: `openai` (tool call arguments as
 * JSON text) and `ollama` (arguments as objects). A tool call round-trips through a real MCP
 * server (Streamable HTTP, in-process) and the final answer comes back with the tools that ran
 * in the reply's `plugboard` object; a client's own tool still goes back to the client.
 *
 * The model is a scripted backend: the tiny llama.cpp test model cannot produce tool calls.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import type { ChatContext } from '../../src/index.ts';
import { createScriptedBackend, type ScriptedBackend, type ScriptedReply } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { startTestMcpHttpServer, type TestMcpHttpServer } from './testing/http-server.ts';
import { createToolsPlugin } from './tools.plugin.ts';

/** Asks the MCP server to add 20 and 22, or calls the client's weather tool, then answers from the result. */
function model(context: ChatContext): ScriptedReply {
  const last = context.messages.at(-1);
  if (last?.role === 'tool') return { content: `The tool said ${last.content}.` };
  if (last?.content.includes('weather')) {
    return { toolCalls: [{ id: 'call_w', name: 'get_weather', arguments: '{"city":"Oslo"}' }] };
  }
  return { content: '', toolCalls: [{ id: 'call_a', name: 'calc__add', arguments: '{"a":20,"b":22}' }] };
}

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

type ToolRecord = { name: string; ok: boolean; output: string; arguments: unknown };

let mcp: TestMcpHttpServer;
let server: TestServer;
let backend: ScriptedBackend;
let openai: OpenAI;
let ollama: Ollama;

before(async () => {
  mcp = await startTestMcpHttpServer();
  backend = createScriptedBackend({ reply: model });
  server = await startTestServer([
    backend,
    [createToolsPlugin, { config: { mcp_servers: { calc: { url: mcp.url } } } }],
  ]);
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  ollama = new Ollama({ host: server.url });
});
after(async () => {
  await server.close();
  await mcp.close();
});

describe('OpenAI API', () => {
  test('a tool call round-trips through the MCP server; the answer and the tools that ran come back', async () => {
    const completion = await openai.chat.completions.create({
      model: 'scripted-model',
      messages: [{ role: 'user', content: 'what is 20 + 22?' }],
    });
    assert.equal(completion.choices[0]?.message.content, 'The tool said 42.');
    assert.equal(completion.choices[0]?.finish_reason, 'stop');
    assert.equal(completion.choices[0]?.message.tool_calls, undefined);
    const tools = (completion as unknown as { plugboard?: { tools?: ToolRecord[] } }).plugboard?.tools;
    assert.deepEqual(
      tools?.map((tool) => [tool.name, tool.ok, tool.output]),
      [['calc__add', true, '42']],
    );
    assert.deepEqual(tools?.[0]?.arguments, { a: 20, b: 22 });
  });

  test('streamed: the answer streams, the last chunk carries the tools', async () => {
    const stream = await openai.chat.completions.create({
      model: 'scripted-model',
      messages: [{ role: 'user', content: 'what is 20 + 22?' }],
      stream: true,
    });
    let text = '';
    let data: { tools?: ToolRecord[] } | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      data = (chunk as unknown as { plugboard?: { tools?: ToolRecord[] } }).plugboard ?? data;
    }
    assert.equal(text, 'The tool said 42.');
    assert.equal(data?.tools?.[0]?.name, 'calc__add');
  });

  test("a client's own tool call reaches the client, arguments as JSON text", async () => {
    const calls = backend.calls.length;
    const completion = await openai.chat.completions.create({
      model: 'scripted-model',
      messages: [{ role: 'user', content: 'the weather?' }],
      tools: [weatherTool],
    });
    const choice = completion.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    const call = choice.message.tool_calls?.[0];
    assert.ok(call?.type === 'function', 'a function call');
    assert.equal(call.function.name, 'get_weather');
    assert.equal(call.function.arguments, '{"city":"Oslo"}');
    assert.equal(backend.calls.length, calls + 1, 'one model call');
    const offered = backend.calls.at(-1)?.options.tools?.map((tool) => tool.name) ?? [];
    assert.ok(offered.includes('calc__add') && offered[0] === 'get_weather', offered.join());

    // The client runs its tool and sends the result back: the model answers from it.
    const answer = await openai.chat.completions.create({
      model: 'scripted-model',
      messages: [
        { role: 'user', content: 'the weather?' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: 'sunny' },
      ],
      tools: [weatherTool],
    });
    assert.equal(answer.choices[0]?.message.content, 'The tool said sunny.');
  });
});

describe('Ollama API', () => {
  test('a tool call round-trips through the MCP server; the answer and the tools that ran come back', async () => {
    const response = await ollama.chat({ model: 'scripted-model', messages: [{ role: 'user', content: '20 + 22?' }] });
    assert.equal(response.message.content, 'The tool said 42.');
    assert.equal(response.message.tool_calls, undefined);
    const tools = (response as unknown as { plugboard?: { tools?: ToolRecord[] } }).plugboard?.tools;
    assert.deepEqual(
      tools?.map((tool) => [tool.name, tool.ok, tool.output]),
      [['calc__add', true, '42']],
    );
  });

  test("a client's own tool call reaches the client, arguments as an object", async () => {
    const response = await ollama.chat({
      model: 'scripted-model',
      messages: [{ role: 'user', content: 'the weather?' }],
      tools: [weatherTool],
    });
    const call = response.message.tool_calls?.[0];
    assert.equal(call?.function.name, 'get_weather');
    assert.deepEqual(call?.function.arguments, { city: 'Oslo' });

    const answer = await ollama.chat({
      model: 'scripted-model',
      messages: [
        { role: 'user', content: 'the weather?' },
        { role: 'assistant', content: '', tool_calls: response.message.tool_calls ?? [] },
        { role: 'tool', content: 'rainy', tool_name: 'get_weather' },
      ],
      tools: [weatherTool],
    });
    assert.equal(answer.message.content, 'The tool said rainy.');
  });
});
