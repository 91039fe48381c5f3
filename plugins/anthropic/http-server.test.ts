/**
 * The anthropic backend behind Plugboard's HTTP server, used through the official `openai`
 * client: `anthropic/<model>` routes to it, whole and streamed.
 *
 * Anthropic's service cannot run here: the plugin's SDK talks to a FAKE Anthropic server
 * (testing/fake-anthropic-server.ts, node:http on 127.0.0.1) that replays Anthropic's
 * documented wire format and records what it received.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import anthropicPlugin from './anthropic.plugin.ts';
import { type FakeAnthropicServer, startFakeAnthropic } from './testing/fake-anthropic-server.ts';

let fake: FakeAnthropicServer;
let server: TestServer;
let client: OpenAI;

before(async () => {
  fake = await startFakeAnthropic();
  server = await startTestServer([[anthropicPlugin, { config: { api_key: 'sk-test', base_url: fake.url } }]]);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
});
after(async () => {
  await server.close();
  await fake.close();
});

describe('anthropic through POST /v1/chat/completions', () => {
  test('a whole reply, with usage and the system prompt mapped', async () => {
    fake.onMessages({
      message: {
        content: [{ type: 'text', text: 'Bonjour !' }],
        stop_reason: 'end_turn',
        usage: { input_tokens: 20, output_tokens: 4 },
      },
    });
    const completion = await client.chat.completions.create({
      model: 'anthropic/claude-test-1',
      messages: [
        { role: 'system', content: 'Answer in French.' },
        { role: 'user', content: 'Hello' },
      ],
      max_tokens: 50,
      stop: ['\n\n'],
    });
    assert.equal(completion.choices[0]?.message.content, 'Bonjour !');
    assert.equal(completion.choices[0]?.finish_reason, 'stop');
    assert.equal(completion.usage?.prompt_tokens, 20);
    assert.equal(completion.usage?.completion_tokens, 4);
    const body = fake.lastMessagesRequest().body;
    assert.equal(body.model, 'claude-test-1');
    assert.equal(body.system, 'Answer in French.');
    assert.deepEqual(body.messages, [{ role: 'user', content: 'Hello' }]);
    assert.equal(body.max_tokens, 50);
    assert.deepEqual(body.stop_sequences, ['\n\n']);
  });

  test('a streamed reply, and a tool call', async () => {
    fake.onMessages({
      message: {
        content: [{ type: 'text', text: 'Streaming works fine.' }],
        stop_reason: 'end_turn',
        usage: { input_tokens: 8, output_tokens: 6 },
      },
    });
    const stream = await client.chat.completions.create({
      model: 'anthropic/claude-test-1',
      messages: [{ role: 'user', content: 'Stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    assert.equal(text, 'Streaming works fine.');
    assert.equal(finish, 'stop');
    assert.equal(usage?.completion_tokens, 6);
    assert.equal(fake.lastMessagesRequest().body.stream, true);

    fake.onMessages({
      message: {
        content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Lyon' } }],
        stop_reason: 'tool_use',
        usage: { input_tokens: 8, output_tokens: 6 },
      },
    });
    const withTool = await client.chat.completions.create({
      model: 'anthropic/claude-test-1',
      messages: [{ role: 'user', content: 'Weather in Lyon?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
    });
    assert.equal(withTool.choices[0]?.finish_reason, 'tool_calls');
    assert.deepEqual(withTool.choices[0]?.message.tool_calls, [
      { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lyon"}' } },
    ]);
  });

  test('an Anthropic error reaches the OpenAI client as an HTTP error', async () => {
    fake.onMessages({ error: { status: 429, type: 'rate_limit_error', message: 'Slow down' } });
    await assert.rejects(
      client.chat.completions.create({ model: 'anthropic/claude-test-1', messages: [{ role: 'user', content: 'Hi' }] }),
      (error: unknown) => error instanceof OpenAI.APIError && /Slow down/.test(error.message),
    );
  });
});
