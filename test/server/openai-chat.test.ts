/**
 * The OpenAI chat completions API through the official `openai` client against a real
 * server: whole and streamed replies in OpenAI's wire format, plugins running in both modes,
 * tool calls in both directions, request options reaching the backend, and errors — before
 * output as HTTP statuses, mid-stream as in-band events the client throws on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import redactEmails from '../../examples/plugins/redact-emails.plugin.ts';
import { type ChatContext, lastUserMessage } from '../../src/index.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

const WEATHER_CALLS = [
  { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
  { id: 'call_2', name: 'get_time', arguments: '{"zone":"CET"}' },
];

/** Echoes the last user message; model `tools` calls tools; a user message `email` gets an address back. */
function replyTo(context: ChatContext) {
  if (context.model === 'tools') return { toolCalls: WEATHER_CALLS };
  if (context.model === 'thinker') return { thinking: 'Let me think.', content: 'Forty-two.' };
  const text = lastUserMessage(context)?.content ?? '';
  if (text === 'email') return 'Write to alice@example.com for details.';
  return `You said: ${text}`;
}

const backend = createScriptedBackend({ name: 'echo', models: ['echo', 'tools', 'thinker'], reply: replyTo });
let server: TestServer;
let client: OpenAI;

before(async () => {
  server = await startTestServer([backend, redactEmails]);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(() => server.close());

const lastCall = (): ChatContext => {
  const call = backend.calls.at(-1);
  assert.ok(call, 'the backend was called');
  return call;
};

describe('POST /v1/chat/completions, whole replies', () => {
  test('answers a chat.completion with the reply, usage and the model name the client sent', async () => {
    const completion = await client.chat.completions.create({
      model: 'echo',
      messages: [{ role: 'user', content: 'hello there' }],
    });
    assert.equal(completion.object, 'chat.completion');
    assert.match(completion.id, /^chatcmpl-/);
    assert.equal(completion.model, 'echo');
    assert.ok(Number.isInteger(completion.created));
    assert.equal(completion.choices.length, 1);
    const [choice] = completion.choices;
    assert.equal(choice?.index, 0);
    assert.equal(choice?.finish_reason, 'stop');
    assert.equal(choice?.message.role, 'assistant');
    assert.equal(choice?.message.content, 'You said: hello there');
    assert.equal(choice?.message.tool_calls, undefined);
    // Scripted usage counts words: 2 in the prompt, 4 in the reply.
    assert.deepEqual(completion.usage, { prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 });
  });

  test('the completion id and the pipeline use the x-request-id of the request', async () => {
    const completion = await client.chat.completions.create(
      { model: 'echo', messages: [{ role: 'user', content: 'id?' }] },
      { headers: { 'x-request-id': 'req-openai-42' } },
    );
    assert.equal(completion.id, 'chatcmpl-req-openai-42');
    assert.equal(lastCall().requestId, 'req-openai-42');
  });

  test('a message processor runs on input and output (redact-emails)', async () => {
    await client.chat.completions.create({
      model: 'echo',
      messages: [{ role: 'user', content: 'mail bob@example.org please' }],
    });
    assert.equal(lastUserMessage(lastCall())?.content, 'mail [email] please');

    const completion = await client.chat.completions.create({
      model: 'echo',
      messages: [{ role: 'user', content: 'email' }],
    });
    assert.equal(completion.choices[0]?.message.content, 'Write to [email] for details.');
  });

  test('a thinking model’s reasoning is reasoning_content', async () => {
    const completion = await client.chat.completions.create({
      model: 'thinker',
      messages: [{ role: 'user', content: 'meaning of life?' }],
    });
    const message = completion.choices[0]?.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string };
    assert.equal(message.content, 'Forty-two.');
    assert.equal(message.reasoning_content, 'Let me think.');
  });

  test('tool calls reach the client with content null and finish_reason tool_calls', async () => {
    const completion = await client.chat.completions.create({
      model: 'echo/tools',
      messages: [{ role: 'user', content: 'weather and time in Paris?' }],
      tools: [
        { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } },
        { type: 'function', function: { name: 'get_time', description: 'Current time' } },
      ],
      tool_choice: 'required',
    });
    const [choice] = completion.choices;
    assert.equal(choice?.finish_reason, 'tool_calls');
    assert.equal(choice?.message.content, null);
    assert.deepEqual(choice?.message.tool_calls, [
      { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{"zone":"CET"}' } },
    ]);
    assert.equal(completion.model, 'echo/tools');
    const options = lastCall().options;
    assert.deepEqual(options.tools, [
      { name: 'get_weather', parameters: { type: 'object' } },
      { name: 'get_time', description: 'Current time' },
    ]);
    assert.equal(options.toolChoice, 'required');
  });

  test('assistant tool_calls and tool results of the conversation reach the backend', async () => {
    const first = await client.chat.completions.create({
      model: 'tools',
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [{ type: 'function', function: { name: 'get_weather' } }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    assert.deepEqual(lastCall().options.toolChoice, { name: 'get_weather' });
    const assistant = first.choices[0]?.message;
    assert.ok(assistant);

    await client.chat.completions.create({
      model: 'echo',
      messages: [
        { role: 'user', content: 'weather?' },
        // Sent back as received, the way client code usually does it.
        assistant,
        { role: 'tool', tool_call_id: 'call_1', content: 'Sunny, 24 °C' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '14:00' }] },
      ],
    });
    const messages = lastCall().messages;
    assert.equal(messages.length, 4);
    assert.equal(messages[1]?.role, 'assistant');
    assert.equal(messages[1]?.content, '');
    assert.deepEqual(messages[1]?.toolCalls, WEATHER_CALLS);
    assert.deepEqual(
      { ...messages[2] },
      { role: 'tool', content: 'Sunny, 24 °C', toolCallId: 'call_1', name: 'get_weather' },
    );
    assert.deepEqual({ ...messages[3] }, { role: 'tool', content: '14:00', toolCallId: 'call_2', name: 'get_time' });
  });

  test('sampling and output options reach the backend’s context.options', async () => {
    await client.chat.completions.create({
      model: 'echo',
      messages: [{ role: 'user', content: 'json please' }],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'answer', schema: { type: 'object', properties: { a: { type: 'string' } } } },
      },
      max_tokens: 64,
      temperature: 0.25,
      top_p: 0.5,
      stop: '###',
      seed: 1234,
      frequency_penalty: 0.5,
      presence_penalty: -0.5,
      reasoning_effort: 'low',
    });
    assert.deepEqual(lastCall().options, {
      responseFormat: {
        type: 'json_schema',
        name: 'answer',
        schema: { type: 'object', properties: { a: { type: 'string' } } },
      },
      maxTokens: 64,
      temperature: 0.25,
      topP: 0.5,
      stop: ['###'],
      seed: 1234,
      think: true,
      extra: { frequency_penalty: 0.5, presence_penalty: -0.5 },
    });

    await client.chat.completions.create({
      model: 'echo',
      messages: [{ role: 'user', content: 'json' }],
      response_format: { type: 'json_object' },
      max_tokens: 10,
      max_completion_tokens: 20,
      stop: ['a', 'b'],
    });
    assert.deepEqual(lastCall().options, { responseFormat: { type: 'json' }, maxTokens: 20, stop: ['a', 'b'] });
  });

  test('developer, system, names, content parts and images map onto Plugboard messages', async () => {
    await client.chat.completions.create({
      model: 'echo',
      user: 'user-7',
      messages: [
        { role: 'developer', content: 'Be brief.' },
        { role: 'system', content: [{ type: 'text', text: 'Be kind.' }] },
        {
          role: 'user',
          name: 'ann',
          content: [
            { type: 'text', text: 'What is' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'text', text: 'in this picture?' },
          ],
        },
      ],
    });
    const context = lastCall();
    assert.deepEqual(
      context.messages.map((message) => ({ ...message })),
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'system', content: 'Be kind.' },
        {
          role: 'user',
          name: 'ann',
          content: 'What is\nin this picture?',
          images: ['data:image/png;base64,iVBORw0KGgo='],
        },
      ],
    );
    assert.equal(context.metadata.api, 'openai');
    assert.equal(context.metadata.user, 'user-7');
    assert.equal(context.backend, 'echo');
    assert.equal(context.stream, false);
  });

  test('an unknown model is a 404 NotFoundError whose message lists the available models', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'hi' }] }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.NotFoundError, String(error));
        assert.equal(error.status, 404);
        assert.match(error.message, /gpt-9/);
        assert.match(error.message, /echo\/echo, echo\/tools, echo\/thinker/);
        assert.equal(error.param, 'model');
        return true;
      },
    );
  });
});

/** Reads a client stream to its end. */
async function collect(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<OpenAI.ChatCompletionChunk[]> {
  const chunks: OpenAI.ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

const textOf = (chunks: readonly OpenAI.ChatCompletionChunk[]): string =>
  chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');

describe('POST /v1/chat/completions, streamed replies', () => {
  test('streams chunks: role first, content deltas, a finish chunk, then a usage chunk', async () => {
    // Longer than redact-emails' 80-character window, so text settles (and streams) before the end.
    const words = 'stream this please '.repeat(10).trim();
    const stream = await client.chat.completions.create({
      model: 'echo',
      messages: [{ role: 'user', content: words }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = await collect(stream);
    const contentChunks = chunks.filter((chunk) => chunk.choices[0]?.delta.content);
    assert.ok(contentChunks.length >= 2, `got ${contentChunks.length} content chunks`);
    const ids = new Set(chunks.map((chunk) => chunk.id));
    assert.equal(ids.size, 1);
    assert.match([...ids][0] ?? '', /^chatcmpl-/);
    for (const chunk of chunks) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      assert.equal(chunk.model, 'echo');
    }
    assert.equal(chunks[0]?.choices[0]?.delta.role, 'assistant');
    assert.equal(textOf(chunks), `You said: ${words}`);

    const usageChunk = chunks.at(-1);
    assert.deepEqual(usageChunk?.choices, []);
    assert.deepEqual(usageChunk?.usage, { prompt_tokens: 30, completion_tokens: 32, total_tokens: 62 });
    const finish = chunks.at(-2);
    assert.deepEqual(finish?.choices[0]?.delta, {});
    assert.equal(finish?.choices[0]?.finish_reason, 'stop');
    for (const chunk of chunks.slice(0, -1)) assert.equal(chunk.usage, null);
    for (const chunk of chunks.slice(0, -2)) assert.equal(chunk.choices[0]?.finish_reason, null);
    assert.equal(lastCall().stream, true);
  });

  test('without include_usage there is no usage chunk and no usage field', async () => {
    const chunks = await collect(
      await client.chat.completions.create({
        model: 'echo',
        messages: [{ role: 'user', content: 'short' }],
        stream: true,
      }),
    );
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'stop');
    for (const chunk of chunks) assert.equal('usage' in chunk, false);
  });

  test('the wire format is SSE data events ending with [DONE]', async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'wire' }], stream: true }),
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const text = await response.text();
    assert.ok(text.endsWith('data: [DONE]\n\n'), text.slice(-40));
    const events = text.split('\n\n').filter(Boolean);
    for (const event of events) assert.match(event, /^data: /);
    for (const event of events.slice(0, -1)) JSON.parse(event.slice('data: '.length));
  });

  test('a message processor’s change is visible in the stream', async () => {
    const chunks = await collect(
      await client.chat.completions.create({
        model: 'echo',
        messages: [{ role: 'user', content: 'email' }],
        stream: true,
      }),
    );
    assert.equal(textOf(chunks), 'Write to [email] for details.');

    await collect(
      await client.chat.completions.create({
        model: 'echo',
        messages: [{ role: 'user', content: 'to carol@example.net now' }],
        stream: true,
      }),
    );
    assert.equal(lastUserMessage(lastCall())?.content, 'to [email] now');
  });

  test('tool calls stream as indexed deltas; the client’s stream helper assembles them', async () => {
    const chunks = await collect(
      await client.chat.completions.create({
        model: 'tools',
        messages: [{ role: 'user', content: 'weather?' }],
        tools: [{ type: 'function', function: { name: 'get_weather' } }],
        stream: true,
      }),
    );
    const deltas = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    assert.deepEqual(deltas, [
      { index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { index: 1, id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{"zone":"CET"}' } },
    ]);
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'tool_calls');

    const final = await client.chat.completions
      .stream({
        model: 'tools',
        messages: [{ role: 'user', content: 'weather?' }],
        tools: [{ type: 'function', function: { name: 'get_weather' } }],
      })
      .finalChatCompletion();
    assert.equal(final.choices[0]?.finish_reason, 'tool_calls');
    assert.deepEqual(
      final.choices[0]?.message.tool_calls?.map((call) => call.type === 'function' && call.function.name),
      ['get_weather', 'get_time'],
    );
  });

  test('reasoning streams as delta.reasoning_content before the content', async () => {
    const chunks = await collect(
      await client.chat.completions.create({
        model: 'thinker',
        messages: [{ role: 'user', content: 'think' }],
        stream: true,
      }),
    );
    const deltas = chunks.map((chunk) => chunk.choices[0]?.delta as { reasoning_content?: string } | undefined);
    assert.equal(deltas[0]?.reasoning_content, 'Let me think.');
    assert.equal(textOf(chunks), 'Forty-two.');
  });
});
