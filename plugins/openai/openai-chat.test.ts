/**
 * The openai backend against a real OpenAI-compatible server: Plugboard's own `/v1` API over
 * a scripted backend. What the plugin sends is read back from the upstream backend's calls
 * (the context Plugboard's server made of the HTTP request); what it returns is read from a
 * second Plugboard running the plugin.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PluginManager } from '../../src/core/manager/plugin-manager.ts';
import { type ChatContext, defineBackend, lastUserMessage } from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';
import { deferred } from '../../test/support/deferred.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { createOpenAiBackend } from './openai.plugin.ts';

const CALLS = [
  { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
  { id: 'call_2', name: 'get_time', arguments: '{"zone":"CET"}' },
];

function replyTo(context: ChatContext) {
  if (context.model === 'tools') return { toolCalls: CALLS };
  if (context.model === 'thinker') return { thinking: 'Let me think.', content: 'Forty-two.' };
  return `You said: ${lastUserMessage(context)?.content ?? ''}`;
}

const upstreamBackend = createScriptedBackend({ name: 'up', models: ['up-model', 'tools', 'thinker'], reply: replyTo });
let upstream: TestServer;
let manager: PluginManager;

before(async () => {
  upstream = await startTestServer([upstreamBackend]);
  manager = await startManager([
    [
      createOpenAiBackend(),
      {
        config: {
          base_url: `${upstream.url}/v1`,
          api_key: 'test',
          headers: { 'x-team': 'blue' },
          think_effort: 'high',
          no_think_effort: 'none',
        },
      },
    ],
  ]);
});
after(async () => {
  await manager.shutdown();
  await upstream.close();
});

const lastUpstreamCall = (): ChatContext => {
  const call = upstreamBackend.calls.at(-1);
  assert.ok(call, 'the upstream backend was called');
  return call;
};

describe('openai backend: replies', () => {
  test('a whole reply: content, usage, finish reason and the model', async () => {
    const response = await manager.chat(chatRequest('hello there', { backend: 'openai', model: 'up-model' }));
    assert.equal(response.message.role, 'assistant');
    assert.equal(response.message.content, 'You said: hello there');
    assert.deepEqual(response.usage, { promptTokens: 2, completionTokens: 4 });
    assert.equal(response.finishReason, 'stop');
    assert.equal(response.backend, 'openai');
    const call = lastUpstreamCall();
    assert.equal(call.stream, false);
    assert.equal(call.model, 'up-model');
    assert.equal(call.client?.headers?.authorization, 'Bearer test', 'the api_key is sent as a bearer token');
    assert.equal(call.client?.headers?.['x-team'], 'blue', 'configured headers are sent');
  });

  test('a streamed reply: text in pieces, then usage and the finish reason', async () => {
    const { chunks, text, response } = await collectStream(
      manager.stream(chatRequest('stream me', { backend: 'openai', model: 'up-model', stream: true })),
    );
    assert.equal(text, 'You said: stream me');
    const pieces = chunks.filter((chunk) => chunk.content);
    assert.ok(pieces.length > 1, `streamed in pieces (got ${pieces.length})`);
    assert.deepEqual(response.usage, { promptTokens: 2, completionTokens: 4 });
    assert.equal(response.finishReason, 'stop');
    assert.equal(lastUpstreamCall().stream, true);
  });

  test('thinking: the upstream reasoning_content becomes thinking, streamed and whole', async () => {
    const { chunks, text } = await collectStream(
      manager.stream(chatRequest('why?', { backend: 'openai', model: 'thinker', stream: true })),
    );
    assert.equal(chunks.map((chunk) => chunk.thinking ?? '').join(''), 'Let me think.');
    assert.equal(text, 'Forty-two.');
    const whole = await manager.chat(chatRequest('why?', { backend: 'openai', model: 'thinker' }));
    assert.equal(whole.message.thinking, 'Let me think.');
    assert.equal(whole.message.content, 'Forty-two.');
  });
});

describe('openai backend: tool calls', () => {
  test('calls from the model arrive whole, with finish reason tool_calls (whole and streamed)', async () => {
    const whole = await manager.chat(chatRequest('weather?', { backend: 'openai', model: 'tools' }));
    assert.deepEqual(whole.message.toolCalls, CALLS);
    assert.equal(whole.finishReason, 'tool_calls');

    const { chunks, response } = await collectStream(
      manager.stream(chatRequest('weather?', { backend: 'openai', model: 'tools', stream: true })),
    );
    const streamed = chunks.flatMap((chunk) => chunk.toolCalls ?? []);
    assert.deepEqual(streamed, CALLS);
    assert.deepEqual(response.message.toolCalls, CALLS);
    assert.equal(response.finishReason, 'tool_calls');
  });

  test('tools, tool_choice, assistant tool calls and tool results reach the upstream model', async () => {
    await manager.chat(
      chatRequest(
        [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: '', toolCalls: [CALLS[0]!] },
          { role: 'tool', content: '{"temp":21}', toolCallId: 'call_1' },
        ],
        {
          backend: 'openai',
          model: 'up-model',
          options: {
            tools: [
              {
                name: 'get_weather',
                description: 'Weather of a city',
                parameters: { type: 'object', properties: { city: { type: 'string' } } },
              },
            ],
            toolChoice: { name: 'get_weather' },
          },
        },
      ),
    );
    const call = lastUpstreamCall();
    assert.deepEqual(
      call.messages.map((message) => ({
        role: message.role,
        content: message.content,
        toolCalls: message.toolCalls,
        toolCallId: message.toolCallId,
        name: message.name,
      })),
      [
        { role: 'system', content: 'Be brief.', toolCalls: undefined, toolCallId: undefined, name: undefined },
        { role: 'user', content: 'Weather in Paris?', toolCalls: undefined, toolCallId: undefined, name: undefined },
        { role: 'assistant', content: '', toolCalls: [CALLS[0]], toolCallId: undefined, name: undefined },
        { role: 'tool', content: '{"temp":21}', toolCalls: undefined, toolCallId: 'call_1', name: 'get_weather' },
      ],
    );
    assert.deepEqual(call.options.tools, [
      {
        name: 'get_weather',
        description: 'Weather of a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } } },
      },
    ]);
    assert.deepEqual(call.options.toolChoice, { name: 'get_weather' });
  });

  test('images go as image_url parts; raw base64 becomes a data: URL', async () => {
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
    await manager.chat(
      chatRequest([{ role: 'user', content: 'What is this?', images: [png, 'https://example.com/cat.jpg'] }], {
        backend: 'openai',
        model: 'up-model',
      }),
    );
    const [message] = lastUpstreamCall().messages;
    assert.equal(message?.content, 'What is this?');
    assert.deepEqual(message?.images, [`data:image/png;base64,${png}`, 'https://example.com/cat.jpg']);
  });
});

describe('openai backend: generation options', () => {
  test('sampling, limits, stop, seed, top_k and extra reach the upstream context', async () => {
    await manager.chat(
      chatRequest('go', {
        backend: 'openai',
        model: 'up-model',
        options: {
          temperature: 0.3,
          topP: 0.9,
          topK: 40,
          maxTokens: 64,
          stop: ['END'],
          seed: 7,
          responseFormat: { type: 'json' },
          extra: { frequency_penalty: 0.5 },
        },
      }),
    );
    assert.deepEqual(lastUpstreamCall().options, {
      temperature: 0.3,
      topP: 0.9,
      topK: 40,
      maxTokens: 64,
      stop: ['END'],
      seed: 7,
      responseFormat: { type: 'json' },
      extra: { frequency_penalty: 0.5 },
    });
  });

  test('a json_schema response format keeps its schema (named "response" when unnamed)', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    await manager.chat(
      chatRequest('go', {
        backend: 'openai',
        model: 'up-model',
        options: { responseFormat: { type: 'json_schema', schema } },
      }),
    );
    assert.deepEqual(lastUpstreamCall().options.responseFormat, { type: 'json_schema', name: 'response', schema });
  });

  test('think maps to the configured reasoning_effort both ways; unset, nothing is sent', async () => {
    await manager.chat(chatRequest('go', { backend: 'openai', model: 'up-model', options: { think: true } }));
    assert.equal(lastUpstreamCall().options.think, true);
    assert.deepEqual((lastUpstreamCall().metadata.openai as Record<string, unknown>).reasoning_effort, 'high');
    await manager.chat(chatRequest('go', { backend: 'openai', model: 'up-model', options: { think: false } }));
    assert.equal(lastUpstreamCall().options.think, false);
    await manager.chat(chatRequest('go', { backend: 'openai', model: 'up-model' }));
    assert.equal(lastUpstreamCall().options.think, undefined);
  });
});

describe('openai backend: cancellation', () => {
  test('aborting a stream mid-way abandons the upstream stream', { timeout: 20_000 }, async () => {
    const slow = createScriptedBackend({ name: 'slow', reply: 'x'.repeat(400), chunking: 2, chunkDelayMs: 20 });
    const server = await startTestServer([slow]);
    const local = await startManager([[createOpenAiBackend(), { config: { base_url: `${server.url}/v1` } }]]);
    try {
      const controller = new AbortController();
      const stream = local.stream(chatRequest('go', { backend: 'openai', model: 'scripted-model', stream: true }), {
        signal: controller.signal,
      });
      let received = 0;
      await assert.rejects(
        (async () => {
          for await (const chunk of stream) {
            if (chunk.content) received++;
            if (received === 2) controller.abort();
          }
        })(),
        (error: { code?: string }) => error.code === 'REQUEST_ABORTED',
      );
      for (let attempt = 0; attempt < 500 && slow.abandonedStreams === 0; attempt++) await sleep(10);
      assert.equal(slow.abandonedStreams, 1, 'the upstream saw its stream abandoned');
    } finally {
      await local.shutdown();
      await server.close();
    }
  });

  test('aborting a whole request aborts the upstream backend call', { timeout: 20_000 }, async () => {
    const started = deferred();
    const aborted = deferred();
    const hanging = defineBackend({
      metadata: { name: 'hang', version: '1.0.0' },
      chat: (_context, call) => {
        started.resolve();
        return new Promise((_, reject) => {
          call.signal.addEventListener('abort', () => {
            aborted.resolve();
            reject(call.signal.reason);
          });
        });
      },
      listModels: () => [{ id: 'hang-model' }],
    });
    const server = await startTestServer([hanging]);
    const local = await startManager([[createOpenAiBackend(), { config: { base_url: `${server.url}/v1` } }]]);
    try {
      const controller = new AbortController();
      const reply = local.chat(chatRequest('go', { backend: 'openai', model: 'hang-model' }), {
        signal: controller.signal,
      });
      await started.promise;
      controller.abort();
      await assert.rejects(reply, (error: { code?: string }) => error.code === 'REQUEST_ABORTED');
      await aborted.promise; // resolves only when the upstream call's signal fired
    } finally {
      await local.shutdown();
      await server.close();
    }
  });
});
