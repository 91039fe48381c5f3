/**
 * The anthropic backend with the real `@anthropic-ai/sdk`, against a FAKE Anthropic server.
 *
 * Anthropic's service cannot run here, so these tests point the SDK (through the plugin's
 * `base_url`) at testing/fake-anthropic-server.ts: a local node:http server on 127.0.0.1 that
 * replays Anthropic's documented wire format (JSON messages, named server-sent events, model
 * pages, error bodies with their statuses) and records the requests it receives. The tests
 * assert both what the plugin returns and what it sent. The SDK itself is not mocked.
 * No sleeps: cancellation waits on the fake's "connection closed" promise.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, type TestContext, test } from 'node:test';
import { type BackendHandle, type ChatChunk, isPlugboardError, type PlugboardError } from '../../src/index.ts';
import { chatRequest, collectStream, startManager } from '../../src/testing/index.ts';
import { closedPort } from '../../test/support/closed-port.ts';
import anthropicPlugin from './anthropic.plugin.ts';
import {
  DEFAULT_MESSAGE,
  errorEvent,
  type FakeAnthropicServer,
  type FakeMessage,
  type FakeReply,
  startFakeAnthropic,
  streamEvents,
} from './testing/fake-anthropic-server.ts';

const API_KEY = 'sk-ant-test-secret';
const MODEL = 'claude-test-1';

let fake: FakeAnthropicServer;
before(async () => {
  fake = await startFakeAnthropic();
});
after(() => fake.close());
beforeEach(() => {
  fake.onMessages({ message: DEFAULT_MESSAGE });
  fake.onModels([{ id: MODEL }]);
});

/** A running manager with the anthropic backend pointed at the fake; shut down after the test. */
async function startAnthropic(t: TestContext, config: Record<string, unknown> = {}) {
  const manager = await startManager([
    [anthropicPlugin, { config: { api_key: API_KEY, base_url: fake.url, ...config } }],
  ]);
  t.after(() => manager.shutdown());
  const backend = manager.getBackendProvider('anthropic');
  assert.ok(backend, 'the anthropic backend is active');
  return { manager, backend };
}

/** What the backend handle's chat fails with (a failed call, or a stream that throws). */
async function failureOf(backend: BackendHandle, input: Parameters<typeof chatRequest>[0], stream = false) {
  const result = await backend.chat(chatRequest(input, { model: MODEL, stream }));
  if (!result.ok) return { error: result.error, chunks: [] as ChatChunk[] };
  const chunks: ChatChunk[] = [];
  assert.ok(Symbol.asyncIterator in result.value, 'a stream');
  try {
    for await (const chunk of result.value) chunks.push(chunk);
  } catch (error) {
    assert.ok(isPlugboardError(error), `a PlugboardError, not ${String(error)}`);
    return { error, chunks };
  }
  assert.fail('the call did not fail');
}

const request = (model = MODEL) => chatRequest('Hello', { model: `anthropic/${model}` });

describe('chat, whole replies', () => {
  test('answers with the text, usage, finish reason and model; sends the key as a Bearer token', async (t) => {
    const { manager } = await startAnthropic(t);
    const response = await manager.chat(request());
    assert.equal(response.message.content, 'Hello from the fake.');
    assert.deepEqual(response.usage, { promptTokens: 12, completionTokens: 5 });
    assert.equal(response.finishReason, 'stop');
    assert.equal(response.model, MODEL);
    const sent = fake.lastMessagesRequest();
    assert.equal(sent.headers.authorization, `Bearer ${API_KEY}`);
    assert.equal(sent.headers['anthropic-version'], '2026-10-21');
    assert.deepEqual(sent.body, {
      model: MODEL,
      max_tokens: 1024,
      messages: [{ role: 'user', content: 'Hello' }],
      stream: false,
    });
  });

  test('maps stop reasons to finish reasons', async (t) => {
    const { manager } = await startAnthropic(t);
    const cases = [
      ['end_turn', 'stop'],
      ['stop_sequence', 'stop'],
      ['max_tokens', 'length'],
      ['model_context_window_exceeded', 'length'],
      ['tool_use', 'tool_calls'],
      ['refusal', 'content_filter'],
    ] as const;
    for (const [stopReason, finishReason] of cases) {
      fake.onMessages({ message: { ...DEFAULT_MESSAGE, stop_reason: stopReason } });
      assert.equal((await manager.chat(request())).finishReason, finishReason, stopReason);
    }
  });

  test('counts prompt-cache tokens as prompt tokens', async (t) => {
    const { manager } = await startAnthropic(t);
    fake.onMessages({
      message: {
        ...DEFAULT_MESSAGE,
        usage: { input_tokens: 3, cache_creation_input_tokens: 10, cache_read_input_tokens: 20, output_tokens: 7 },
      },
    });
    assert.deepEqual((await manager.chat(request())).usage, { promptTokens: 33, completionTokens: 7 });
  });

  test('uses default_model when the request names none, and the request maxTokens over max_tokens', async (t) => {
    const { backend } = await startAnthropic(t, { default_model: 'claude-default', max_tokens: 300 });
    const result = await backend.chat(chatRequest('Hi', { options: { maxTokens: 77 } }));
    assert.ok(result.ok);
    assert.equal(fake.lastMessagesRequest().body.model, 'claude-default');
    assert.equal(fake.lastMessagesRequest().body.max_tokens, 77);
    await backend.chat(chatRequest('Hi'));
    assert.equal(fake.lastMessagesRequest().body.max_tokens, 300);
  });

  test('without a model and without default_model the request is invalid', async (t) => {
    const { backend } = await startAnthropic(t);
    const result = await backend.chat(chatRequest('Hi'));
    assert.ok(!result.ok);
    assert.equal(result.error.code, 'REQUEST_INVALID');
    assert.match(result.error.message, /default_model/);
  });
});

describe('chat, streamed replies', () => {
  test('streams text deltas, then a last chunk with usage and finish reason', async (t) => {
    const { manager } = await startAnthropic(t);
    fake.onMessages({
      message: {
        content: [{ type: 'text', text: 'One two three.' }],
        stop_reason: 'max_tokens',
        usage: DEFAULT_MESSAGE.usage!,
      },
    });
    const { chunks, text, response } = await collectStream(manager.stream(request()));
    assert.equal(text, 'One two three.');
    assert.ok(chunks.filter((chunk) => chunk.content).length >= 3, 'several content chunks');
    assert.deepEqual(response.usage, { promptTokens: 12, completionTokens: 5 });
    assert.equal(response.finishReason, 'length');
    assert.equal(fake.lastMessagesRequest().body.stream, true);
  });

  test('message_delta usage completes what message_start said', async (t) => {
    const { backend } = await startAnthropic(t);
    const events = streamEvents(DEFAULT_MESSAGE, MODEL, 1).map((event) =>
      event.event === 'message_delta'
        ? { ...event, data: { ...(event.data as object), usage: { input_tokens: null, output_tokens: 42 } } }
        : event,
    );
    fake.onMessages({ events });
    const result = await backend.chat(chatRequest('Hi', { model: MODEL, stream: true }));
    assert.ok(result.ok && Symbol.asyncIterator in result.value);
    const chunks: ChatChunk[] = [];
    for await (const chunk of result.value) chunks.push(chunk);
    assert.deepEqual(chunks.at(-1), { usage: { promptTokens: 12, completionTokens: 42 }, finishReason: 'stop' });
  });
});

describe('mapping the conversation', () => {
  test('system messages join into `system`; same-role messages merge so turns alternate', async (t) => {
    const { backend } = await startAnthropic(t);
    await backend.chat(
      chatRequest(
        [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'First.' },
          { role: 'user', content: 'Second.' },
          { role: 'system', content: 'Be kind.' },
          { role: 'assistant', content: 'Answer one.' },
          { role: 'assistant', content: 'Answer two.' },
          { role: 'user', content: 'Third.' },
        ],
        { model: MODEL },
      ),
    );
    const body = fake.lastMessagesRequest().body;
    assert.equal(body.system, 'Be brief.\n\nBe kind.');
    assert.deepEqual(body.messages, [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'First.' },
          { type: 'text', text: 'Second.' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Answer one.' },
          { type: 'text', text: 'Answer two.' },
        ],
      },
      { role: 'user', content: 'Third.' },
    ]);
  });

  test('stop → stop_sequences; sampling options are left out under API version 2026-10-21', async (t) => {
    const { backend } = await startAnthropic(t);
    await backend.chat(
      chatRequest('Hi', {
        model: MODEL,
        options: { stop: ['END'], temperature: 0.2, topP: 0.9, topK: 5, seed: 1, extra: { frequency_penalty: 1 } },
      }),
    );
    const body = fake.lastMessagesRequest().body;
    assert.deepEqual(body.stop_sequences, ['END']);
    for (const key of ['temperature', 'top_p', 'top_k', 'seed', 'frequency_penalty']) assert.ok(!(key in body), key);
  });

  test('with anthropic_version 2023-06-01 the header changes and temperature, top_p, top_k are sent', async (t) => {
    const { backend } = await startAnthropic(t, {
      anthropic_version: '2023-06-01',
      headers: { 'anthropic-beta': 'x-1' },
    });
    await backend.chat(chatRequest('Hi', { model: MODEL, options: { temperature: 0.2, topP: 0.9, topK: 5 } }));
    const sent = fake.lastMessagesRequest();
    assert.equal(sent.headers['anthropic-version'], '2023-06-01');
    assert.equal(sent.headers['anthropic-beta'], 'x-1');
    assert.equal(sent.body.temperature, 0.2);
    assert.equal(sent.body.top_p, 0.9);
    assert.equal(sent.body.top_k, 5);
  });

  test('a json_schema response format, a principal (hashed) and Anthropic fields of `extra` reach the body', async (t) => {
    const { backend } = await startAnthropic(t);
    const schema = { type: 'object', properties: { answer: { type: 'string' } } };
    await backend.chat(
      chatRequest('Hi', {
        model: MODEL,
        principal: { id: 'alice' },
        options: { responseFormat: { type: 'json_schema', schema }, extra: { service_tier: 'standard_only' } },
      }),
    );
    const body = fake.lastMessagesRequest().body;
    assert.deepEqual(body.output_config, { format: { type: 'json_schema', schema } });
    assert.deepEqual(body.metadata, { user_id: createHash('sha256').update('alice').digest('hex') });
    assert.equal(body.service_tier, 'standard_only');
  });

  test('images: base64, data: URLs and http URLs become image blocks before the text', async (t) => {
    const { backend } = await startAnthropic(t);
    const png = 'iVBORw0KGgoAAAANSUhEUg==';
    await backend.chat(
      chatRequest(
        [
          {
            role: 'user',
            content: 'What is in these?',
            images: [png, 'data:image/webp;base64,UklGRgAA', 'https://example.com/cat.jpg'],
          },
        ],
        { model: MODEL },
      ),
    );
    assert.deepEqual(fake.lastMessagesRequest().body.messages, [
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } },
          { type: 'image', source: { type: 'base64', media_type: 'image/webp', data: 'UklGRgAA' } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          { type: 'text', text: 'What is in these?' },
        ],
      },
    ]);
  });

  test('an image in a format Anthropic does not take is REQUEST_INVALID, and nothing is sent', async (t) => {
    const { backend } = await startAnthropic(t);
    const before = fake.requests.length;
    const { error } = await failureOf(backend, [
      { role: 'user', content: 'x', images: ['data:image/bmp;base64,Qk0='] },
    ]);
    assert.equal(error.code, 'REQUEST_INVALID');
    assert.match(error.message, /image\/bmp/);
    assert.equal(fake.requests.length, before);
  });
});

describe('tool calls', () => {
  const tools = [
    {
      name: 'get_weather',
      description: 'Weather of a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
    { name: 'now' },
  ];

  test('tools and every tool choice map to Anthropic’s', async (t) => {
    const { backend } = await startAnthropic(t);
    const choices = [
      ['auto', { type: 'auto' }],
      ['none', { type: 'none' }],
      ['required', { type: 'any' }],
      [{ name: 'now' }, { type: 'tool', name: 'now' }],
    ] as const;
    for (const [toolChoice, expected] of choices) {
      await backend.chat(chatRequest('Weather?', { model: MODEL, options: { tools, toolChoice } }));
      const body = fake.lastMessagesRequest().body;
      assert.deepEqual(body.tool_choice, expected);
      assert.deepEqual(body.tools, [
        {
          name: 'get_weather',
          description: 'Weather of a city',
          input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
        { name: 'now', input_schema: { type: 'object' } },
      ]);
    }
  });

  test('assistant tool calls go out as tool_use blocks, tool results as tool_result blocks of one user turn', async (t) => {
    const { backend } = await startAnthropic(t);
    await backend.chat(
      chatRequest(
        [
          { role: 'user', content: 'Weather in Paris and the time?' },
          {
            role: 'assistant',
            content: 'Let me check.',
            toolCalls: [
              { id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
              { id: 'toolu_2', name: 'now', arguments: '' },
            ],
          },
          { role: 'tool', toolCallId: 'toolu_1', content: 'Sunny, 21 °C' },
          { role: 'tool', toolCallId: 'toolu_2', content: '12:00' },
          { role: 'user', content: 'Thanks!' },
        ],
        { model: MODEL, options: { tools } },
      ),
    );
    assert.deepEqual(fake.lastMessagesRequest().body.messages, [
      { role: 'user', content: 'Weather in Paris and the time?' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_2', name: 'now', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny, 21 °C' },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: '12:00' },
          { type: 'text', text: 'Thanks!' },
        ],
      },
    ]);
  });

  test('a tool message without toolCallId, or arguments that are not a JSON object, is REQUEST_INVALID', async (t) => {
    const { backend } = await startAnthropic(t);
    const noId = await failureOf(backend, [
      { role: 'user', content: 'x' },
      { role: 'tool', content: 'result' },
    ]);
    assert.equal(noId.error.code, 'REQUEST_INVALID');
    assert.match(noId.error.message, /toolCallId/);
    const badArguments = await failureOf(backend, [
      { role: 'user', content: 'x' },
      { role: 'assistant', content: '', toolCalls: [{ id: 't', name: 'now', arguments: '[1,2]' }] },
    ]);
    assert.equal(badArguments.error.code, 'REQUEST_INVALID');
    assert.match(badArguments.error.message, /JSON object/);
  });

  const toolReply: FakeMessage = {
    content: [
      { type: 'text', text: 'Checking.' },
      { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: { city: 'Paris', days: [1, 2] } },
    ],
    stop_reason: 'tool_use',
    usage: { input_tokens: 30, output_tokens: 12 },
  };

  test('tool_use blocks of a whole reply come back as tool calls', async (t) => {
    const { backend } = await startAnthropic(t);
    fake.onMessages({ message: toolReply });
    const result = await backend.chat(chatRequest('Weather?', { model: MODEL, options: { tools } }));
    assert.ok(result.ok && !(Symbol.asyncIterator in result.value));
    assert.equal(result.value.message.content, 'Checking.');
    assert.deepEqual(result.value.message.toolCalls, [
      { id: 'toolu_9', name: 'get_weather', arguments: '{"city":"Paris","days":[1,2]}' },
    ]);
    assert.equal(result.value.finishReason, 'tool_calls');
  });

  test('streamed tool input is assembled and yielded as one complete call at content_block_stop', async (t) => {
    const { manager } = await startAnthropic(t);
    fake.onMessages({ message: toolReply });
    const { chunks, response } = await collectStream(
      manager.stream(chatRequest('Weather?', { model: `anthropic/${MODEL}`, options: { tools } })),
    );
    const withCalls = chunks.filter((chunk) => chunk.toolCalls);
    assert.equal(withCalls.length, 1);
    assert.deepEqual(withCalls[0]?.toolCalls, [
      { id: 'toolu_9', name: 'get_weather', arguments: '{"city":"Paris","days":[1,2]}' },
    ]);
    assert.equal(response.finishReason, 'tool_calls');
    assert.deepEqual(response.message.toolCalls, withCalls[0]?.toolCalls);
  });
});

describe('thinking', () => {
  const thinkingReply: FakeMessage = {
    content: [
      { type: 'thinking', thinking: 'Six times seven is forty-two.' },
      { type: 'text', text: '42' },
    ],
    stop_reason: 'end_turn',
    usage: { input_tokens: 9, output_tokens: 30 },
  };

  test('auto: a model whose capabilities take adaptive thinking is asked for it', async (t) => {
    fake.onModels([
      {
        id: MODEL,
        capabilities: {
          thinking: { supported: true, types: { adaptive: { supported: true }, enabled: { supported: false } } },
        },
      },
    ]);
    const { backend } = await startAnthropic(t);
    await backend.chat(chatRequest('6×7?', { model: MODEL, options: { think: true } }));
    const body = fake.lastMessagesRequest().body;
    assert.deepEqual(body.thinking, { type: 'adaptive', display: 'summarized' });
    assert.equal(body.max_tokens, 1024);
    assert.ok(!('output_config' in body));
    // Ollama's `think: "high"` arrives as metadata.thinkLevel: Anthropic's effort.
    await backend.chat(
      chatRequest('6×7?', { model: MODEL, options: { think: true }, metadata: { thinkLevel: 'high' } }),
    );
    assert.deepEqual(fake.lastMessagesRequest().body.output_config, { effort: 'high' });
  });

  test('auto with unknown capabilities, or `enabled`: a budget, and max_tokens raised above it', async (t) => {
    fake.onModels([{ id: 'another-model' }]);
    const { backend } = await startAnthropic(t);
    await backend.chat(chatRequest('6×7?', { model: MODEL, options: { think: true } }));
    assert.deepEqual(fake.lastMessagesRequest().body.thinking, {
      type: 'enabled',
      budget_tokens: 2048,
      display: 'summarized',
    });
    assert.equal(fake.lastMessagesRequest().body.max_tokens, 1024 + 2048);

    const configured = await startAnthropic(t, { thinking: 'enabled', thinking_budget_tokens: 1500 });
    await configured.backend.chat(chatRequest('6×7?', { model: MODEL, options: { think: true, maxTokens: 4000 } }));
    assert.deepEqual(fake.lastMessagesRequest().body.thinking, {
      type: 'enabled',
      budget_tokens: 1500,
      display: 'summarized',
    });
    assert.equal(fake.lastMessagesRequest().body.max_tokens, 4000);
  });

  test('no `think`, no thinking parameter', async (t) => {
    const { backend } = await startAnthropic(t);
    await backend.chat(chatRequest('Hi', { model: MODEL }));
    assert.ok(!('thinking' in fake.lastMessagesRequest().body));
  });

  test('thinking comes back apart from the answer, whole and streamed', async (t) => {
    const { manager } = await startAnthropic(t, { thinking: 'adaptive' });
    fake.onMessages({ message: thinkingReply });
    const whole = await manager.chat(chatRequest('6×7?', { model: `anthropic/${MODEL}`, options: { think: true } }));
    assert.equal(whole.message.content, '42');
    assert.equal(whole.message.thinking, 'Six times seven is forty-two.');

    const { chunks, text, response } = await collectStream(
      manager.stream(chatRequest('6×7?', { model: `anthropic/${MODEL}`, options: { think: true } })),
    );
    assert.equal(text, '42');
    assert.ok(chunks.filter((chunk) => chunk.thinking).length >= 2, 'thinking in several deltas');
    assert.equal(response.message.thinking, 'Six times seven is forty-two.');
  });
});

describe('errors', () => {
  const replyWith = (status: number, type: string, message: string, headers?: Record<string, string>): FakeReply => ({
    error: { status, type, message, ...(headers ? { headers } : {}) },
  });

  test('401: BACKEND_FAILED saying the API key is wrong or missing, without the key', async (t) => {
    const { backend } = await startAnthropic(t);
    fake.onMessages(replyWith(401, 'authentication_error', 'invalid x-api-key'));
    for (const stream of [false, true]) {
      const { error, chunks } = await failureOf(backend, 'Hi', stream);
      assert.equal(error.code, 'BACKEND_FAILED');
      assert.match(error.message, /API key .*wrong, expired or missing/);
      assert.ok(!error.message.includes(API_KEY));
      assert.ok(!JSON.stringify(error.toJSON()).includes(API_KEY));
      assert.equal(chunks.length, 0, 'fails before any output');
    }
  });

  test('404 for the model: MODEL_NOT_FOUND naming it', async (t) => {
    const { backend } = await startAnthropic(t);
    fake.onMessages(replyWith(404, 'not_found_error', `model: ${MODEL}`));
    const { error } = await failureOf(backend, 'Hi');
    assert.equal(error.code, 'MODEL_NOT_FOUND');
    assert.equal(error.status, 404);
    assert.match(error.message, new RegExp(`model "${MODEL}" was not found`));
  });

  test('429 keeps status 429 (with Retry-After); 529 and 503 overloaded become 503', async (t) => {
    const { backend } = await startAnthropic(t);
    fake.onMessages(
      replyWith(429, 'rate_limit_error', 'Number of requests has exceeded your rate limit', { 'retry-after': '30' }),
    );
    const limited = (await failureOf(backend, 'Hi')).error;
    assert.equal(limited.code, 'BACKEND_FAILED');
    assert.equal(limited.status, 429);
    assert.match(limited.message, /rate limited.*retry after 30 s/);
    assert.equal(limited.details?.retryAfterMs, 30_000, 'the pipeline waits that long before a retry');
    for (const status of [529, 503]) {
      fake.onMessages(replyWith(status, 'overloaded_error', 'Overloaded'));
      const overloaded = (await failureOf(backend, 'Hi', true)).error;
      assert.equal(overloaded.code, 'BACKEND_FAILED');
      assert.equal(overloaded.status, 503, String(status));
      assert.match(overloaded.message, /overloaded/);
    }
  });

  test('400: BACKEND_FAILED with status 400 and Anthropic’s message', async (t) => {
    const { backend } = await startAnthropic(t);
    fake.onMessages(replyWith(400, 'invalid_request_error', 'messages: text content blocks must be non-empty'));
    const { error } = await failureOf(backend, 'Hi');
    assert.equal(error.code, 'BACKEND_FAILED');
    assert.equal(error.status, 400);
    assert.match(error.message, /text content blocks must be non-empty/);
  });

  test('an `error` event mid-stream makes the stream throw a PlugboardError with its message', async (t) => {
    const { backend } = await startAnthropic(t);
    const events = streamEvents(DEFAULT_MESSAGE, MODEL, 1);
    const firstDelta = events.findIndex((event) => event.event === 'content_block_delta');
    fake.onMessages({ events: [...events.slice(0, firstDelta + 1), errorEvent('overloaded_error', 'Overloaded')] });
    const { error, chunks } = await failureOf(backend, 'Hi', true);
    assert.ok(
      chunks.some((chunk) => chunk.content),
      'output came before the error',
    );
    assert.equal(error.code, 'BACKEND_FAILED');
    assert.equal(error.status, 503);
    assert.match(error.message, /Overloaded/);

    fake.onMessages({ events: [...events.slice(0, firstDelta + 1), errorEvent('api_error', 'Internal server error')] });
    const internal = (await failureOf(backend, 'Hi', true)).error;
    assert.equal(internal.code, 'BACKEND_FAILED');
    assert.match(internal.message, /api_error: Internal server error/);
  });

  test('a stream cut off before message_stop fails instead of ending quietly', async (t) => {
    const { backend } = await startAnthropic(t);
    const events = streamEvents(DEFAULT_MESSAGE, MODEL, 1);
    fake.onMessages({ events: events.slice(0, -2) });
    const { error } = await failureOf(backend, 'Hi', true);
    assert.equal(error.code, 'BACKEND_FAILED');
    assert.match(error.message, /before message_stop/);
  });

  test('connection refused: BACKEND_UNAVAILABLE (503) naming the address', async (t) => {
    const port = await closedPort();
    const address = `http://127.0.0.1:${port}`;
    const { backend } = await startAnthropic(t, { base_url: address });
    for (const stream of [false, true]) {
      const { error } = await failureOf(backend, 'Hi', stream);
      assert.equal(error.code, 'BACKEND_UNAVAILABLE');
      assert.equal(error.status, 503);
      assert.match(error.message, new RegExp(`^anthropic: connection refused at ${address} — check \`base_url\``));
    }
  });

  test('through the pipeline, a failure before output reaches the caller as an error', async (t) => {
    const { manager } = await startAnthropic(t);
    fake.onMessages(replyWith(401, 'authentication_error', 'invalid x-api-key'));
    await assert.rejects(manager.chat(request()), (error: PlugboardError) => /API key/.test(error.message));
  });
});

describe('cancellation', () => {
  test('aborting the request closes the connection to Anthropic', async (t) => {
    const { manager } = await startAnthropic(t);
    const events = streamEvents(DEFAULT_MESSAGE, MODEL, 1);
    const firstDelta = events.findIndex((event) => event.event === 'content_block_delta');
    fake.onMessages({ events: events.slice(0, firstDelta + 1), hold: true });
    const arrived = fake.nextRequest();
    const controller = new AbortController();
    const stream = manager.stream(request(), { signal: controller.signal });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.equal(first.done, false);
    assert.ok(first.value?.content, 'the first delta arrived');
    const held = await arrived;
    controller.abort(new Error('client went away'));
    await held.closed; // the fake saw the connection close
    await assert.rejects(iterator.next(), (error: PlugboardError) => error.code === 'REQUEST_ABORTED');
    await stream.response.catch(() => undefined);
  });

  test('a caller that stops reading early closes the connection too', async (t) => {
    const { manager } = await startAnthropic(t);
    const events = streamEvents(DEFAULT_MESSAGE, MODEL, 1);
    fake.onMessages({ events: events.slice(0, 4), hold: true });
    const arrived = fake.nextRequest();
    const stream = manager.stream(request());
    for await (const chunk of stream) {
      if (chunk.content) break;
    }
    await (await arrived).closed;
    await stream.response.catch(() => undefined);
  });
});

describe('models and health', () => {
  test('listModels: the Models API list, with its facts, plus configured models it lacks', async (t) => {
    fake.onModels([{ id: 'claude-a', display_name: 'Claude A', max_input_tokens: 1000 }, { id: 'claude-b' }]);
    const { backend } = await startAnthropic(t, { models: ['claude-b', 'my-alias'], default_model: 'claude-a' });
    const result = await backend.listModels();
    assert.ok(result.ok);
    assert.deepEqual(
      result.value.map((model) => model.id),
      ['claude-a', 'claude-b', 'my-alias'],
    );
    assert.equal(result.value[0]?.details?.display_name, 'Claude A');
    assert.equal(result.value[0]?.details?.context_length, 1000);
    assert.deepEqual(result.value[2]?.details, { source: 'config' });
  });

  test('listModels falls back to the configured models when the Models API fails, else fails', async (t) => {
    fake.onModels({ error: { status: 404, type: 'not_found_error', message: 'Not found' } });
    const configured = await startAnthropic(t, { models: ['claude-x'], default_model: 'claude-y' });
    const listed = await configured.backend.listModels();
    assert.ok(listed.ok);
    assert.deepEqual(
      listed.value.map((model) => model.id),
      ['claude-x', 'claude-y'],
    );
    const bare = await startAnthropic(t);
    const failed = await bare.backend.listModels();
    assert.ok(!failed.ok);
    assert.equal(failed.error.code, 'BACKEND_FAILED');
  });

  test('healthCheck: healthy when the Models API answers; unhealthy for a refused key or no service', async (t) => {
    const healthy = await startAnthropic(t);
    assert.equal((await healthy.manager.getHealth()).plugins.anthropic?.health.status, 'healthy');
    const sent = fake.requests.at(-1);
    assert.equal(sent?.path, '/v1/models?limit=1');

    fake.onModels({ error: { status: 401, type: 'authentication_error', message: 'invalid x-api-key' } });
    const refused = (await healthy.manager.getHealth()).plugins.anthropic?.health;
    assert.equal(refused?.status, 'unhealthy');
    assert.match(refused?.message ?? '', /API key/);

    fake.onModels({ error: { status: 529, type: 'overloaded_error', message: 'Overloaded' } });
    assert.equal((await healthy.manager.getHealth()).plugins.anthropic?.health.status, 'degraded');

    const gone = await startAnthropic(t, { base_url: `http://127.0.0.1:${await closedPort()}` });
    const down = (await gone.manager.getHealth()).plugins.anthropic?.health;
    assert.equal(down?.status, 'unhealthy');
    assert.match(down?.message ?? '', /connection refused/);
  });
});

describe('configuration', () => {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.ANTHROPIC_API_KEY;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.ANTHROPIC_API_KEY;
    else process.env.ANTHROPIC_API_KEY = saved;
  });

  test('without api_key and ANTHROPIC_API_KEY the plugin stays in ERROR saying so', async (t) => {
    delete process.env.ANTHROPIC_API_KEY;
    const manager = await startManager([[anthropicPlugin, { config: { base_url: fake.url } }]]);
    t.after(() => manager.shutdown());
    const status = manager.getPluginStatus().plugins.anthropic;
    assert.equal(status?.state, 'ERROR');
    assert.match(status?.lastError?.message ?? '', /no API key/);
  });

  test('the key can come from ANTHROPIC_API_KEY', async (t) => {
    process.env.ANTHROPIC_API_KEY = 'from-the-environment';
    const manager = await startManager([[anthropicPlugin, { config: { base_url: fake.url } }]]);
    t.after(() => manager.shutdown());
    await manager.chat(request());
    assert.equal(fake.lastMessagesRequest().headers.authorization, 'Bearer from-the-environment');
  });

  test('unknown keys are refused (the schema is strict)', async (t) => {
    const manager = await startManager([
      [anthropicPlugin, { config: { api_key: 'k', base_url: fake.url, modle: 'x' } }],
    ]);
    t.after(() => manager.shutdown());
    const status = manager.getPluginStatus().plugins.anthropic;
    assert.equal(status?.state, 'ERROR');
    assert.match(status?.lastError?.message ?? '', /modle/);
  });
});
