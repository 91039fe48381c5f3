/**
 * The openai backend against a hand-written server that answers the way other compatible
 * servers do (vLLM, llama-server, TGI): tool calls streamed in fragments, reasoning in
 * `reasoning`, usage on the last chunk. It also records the raw request bodies, to check
 * the exact parameters sent.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { PluginManager } from '../../src/core/manager/plugin-manager.ts';
import { chatRequest, collectStream, startManager } from '../../src/testing/index.ts';
import { createOpenAiBackend } from './openai.plugin.ts';

type Body = Record<string, unknown>;

/** SSE events of a reply with two tool calls whose arguments arrive in pieces. */
const FRAGMENTED = [
  { choices: [{ index: 0, delta: { role: 'assistant', reasoning: 'Two lookups ' }, finish_reason: null }] },
  { choices: [{ index: 0, delta: { reasoning: 'are needed.' }, finish_reason: null }] },
  {
    choices: [
      {
        index: 0,
        delta: {
          tool_calls: [{ index: 0, id: 'chatcmpl-tool-a', type: 'function', function: { name: 'get_weather' } }],
        },
        finish_reason: null,
      },
    ],
  },
  {
    choices: [
      { index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }, finish_reason: null },
    ],
  },
  {
    choices: [
      {
        index: 0,
        delta: {
          tool_calls: [
            { index: 0, function: { arguments: '"Paris"}' } },
            { index: 1, id: 'chatcmpl-tool-b', type: 'function', function: { name: 'get_time', arguments: '' } },
          ],
        },
        finish_reason: null,
      },
    ],
  },
  {
    choices: [
      {
        index: 0,
        delta: { tool_calls: [{ index: 1, function: { arguments: '{"zone":"CET"}' } }] },
        finish_reason: null,
      },
    ],
  },
  // vLLM style: finish_reason and usage on the same last chunk, no separate usage chunk.
  {
    choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }],
    usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 },
  },
];

const bodies: Body[] = [];
/** TCP connections the server accepted. */
let connections = 0;
let server: Server;
let baseUrl: string;

async function readJson(request: IncomingMessage): Promise<Body> {
  let text = '';
  for await (const piece of request) text += piece;
  return JSON.parse(text) as Body;
}

before(async () => {
  server = createServer(async (request, response) => {
    const body = await readJson(request);
    bodies.push(body);
    if (body.stream !== true) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          id: 'x',
          object: 'chat.completion',
          created: 0,
          model: 'served-model',
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: 'done', reasoning: 'short' },
              finish_reason: 'eos_token', // TGI's word for stop
            },
          ],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        }),
      );
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const event of FRAGMENTED)
      response.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', ...event })}\n\n`);
    response.end('data: [DONE]\n\n');
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`;
});
after(() => new Promise((resolve) => server.close(resolve)));

async function withPlugin(config: Record<string, unknown>, run: (manager: PluginManager) => Promise<void>) {
  const manager = await startManager([[createOpenAiBackend(), { config: { base_url: baseUrl, ...config } }]]);
  try {
    await run(manager);
  } finally {
    await manager.shutdown();
  }
}

describe('openai backend: streams of other compatible servers', () => {
  test('fragmented tool-call deltas are assembled by index; reasoning and usage are read', async () => {
    await withPlugin({}, async (manager) => {
      const { chunks, response } = await collectStream(
        manager.stream(chatRequest('weather and time?', { model: 'm', backend: 'openai', stream: true })),
      );
      const calls = chunks.filter((chunk) => chunk.toolCalls);
      assert.equal(calls.length, 1, 'the calls arrive together, once complete');
      assert.deepEqual(calls[0]?.toolCalls, [
        { id: 'chatcmpl-tool-a', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { id: 'chatcmpl-tool-b', name: 'get_time', arguments: '{"zone":"CET"}' },
      ]);
      assert.equal(chunks.map((chunk) => chunk.thinking ?? '').join(''), 'Two lookups are needed.');
      assert.equal(response.finishReason, 'tool_calls');
      assert.deepEqual(response.usage, { promptTokens: 12, completionTokens: 30 });
    });
  });

  test("a whole reply: `reasoning` is thinking, TGI's eos_token is stop, the served model is kept", async () => {
    await withPlugin({}, async (manager) => {
      const response = await manager.chat(chatRequest('hi', { model: 'm', backend: 'openai' }));
      assert.equal(response.message.content, 'done');
      assert.equal(response.message.thinking, 'short');
      assert.equal(response.finishReason, 'stop');
      assert.equal(response.model, 'served-model');
    });
  });
});

describe('openai backend: the request body on the wire', () => {
  test('defaults for a compatible server: max_tokens, stream_options.include_usage, top_k and extra passed', async () => {
    await withPlugin({}, async (manager) => {
      await collectStream(
        manager.stream(
          chatRequest('hi', {
            model: 'm',
            backend: 'openai',
            stream: true,
            options: { maxTokens: 10, topK: 5, extra: { repetition_penalty: 1.1 } },
          }),
        ),
      );
      const body = bodies.at(-1)!;
      assert.equal(body.max_tokens, 10);
      assert.equal(body.max_completion_tokens, undefined);
      assert.deepEqual(body.stream_options, { include_usage: true });
      assert.equal(body.top_k, 5);
      assert.equal(body.repetition_penalty, 1.1);
      assert.equal(body.reasoning_effort, undefined, 'think is not sent unless configured');
    });
  });

  test('max_tokens_field, stream_usage: false and pass_extra as a list change what is sent', async () => {
    const config = { max_tokens_field: 'max_completion_tokens', stream_usage: 'false', pass_extra: ['top_k'] };
    await withPlugin(config, async (manager) => {
      await collectStream(
        manager.stream(
          chatRequest('hi', {
            model: 'm',
            backend: 'openai',
            stream: true,
            options: { maxTokens: 10, topK: 5, think: true, extra: { num_ctx: 8192 } },
          }),
        ),
      );
      const body = bodies.at(-1)!;
      assert.equal(body.max_completion_tokens, 10);
      assert.equal(body.max_tokens, undefined);
      assert.equal(body.stream_options, undefined);
      assert.equal(body.top_k, 5);
      assert.equal(body.num_ctx, undefined, 'extra not listed in pass_extra is dropped');
    });
  });

  test('extra never replaces a mapped field', async () => {
    await withPlugin({}, async (manager) => {
      await manager.chat(
        chatRequest('hi', {
          model: 'm',
          backend: 'openai',
          options: { temperature: 0.2, extra: { temperature: 1.5, model: 'other' } },
        }),
      );
      const body = bodies.at(-1)!;
      assert.equal(body.temperature, 0.2);
      assert.equal(body.model, 'm');
    });
  });
});

describe('openai backend: connections', () => {
  test('streamed and whole replies, one after another, reuse kept-alive connections', async () => {
    await withPlugin({}, async (manager) => {
      const before = connections;
      for (let round = 0; round < 5; round++) {
        await collectStream(manager.stream(chatRequest('hi', { model: 'm', backend: 'openai', stream: true })));
        await manager.chat(chatRequest('hi', { model: 'm', backend: 'openai' }));
      }
      // Destroying a stream's response after [DONE] (before its end arrived) used to open one per
      // stream (5 or more here). A request sent the moment a stream's [DONE] arrived may find its
      // connection not yet back in the pool: a second one.
      assert.ok(connections - before <= 2, `${connections - before} connections for 10 requests`);
    });
  });

  test('a stream the consumer leaves early is cut: its connection is not reused', async () => {
    await withPlugin({}, async (manager) => {
      const before = connections;
      for await (const chunk of manager.stream(chatRequest('hi', { model: 'm', backend: 'openai', stream: true }))) {
        if (chunk.thinking) break;
      }
      await manager.chat(chatRequest('hi', { model: 'm', backend: 'openai' }));
      assert.equal(connections - before, 2);
    });
  });
});
