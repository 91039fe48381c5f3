/**
 * `POST /api/chat` through the official `ollama` client against a real server: whole and
 * streamed replies, the pipeline running (a message processor's change shows in both modes),
 * tool calls converted both ways, `format`, `options` and `think` mapped onto the core's
 * options, the load request, errors before and during a stream, and a client abort reaching
 * the backend.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ChatResponse, Ollama } from 'ollama';
import redactEmails from '../../examples/plugins/redact-emails.plugin.ts';
import type { ChatContext } from '../../src/index.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

const main = createScriptedBackend({ name: 'main', models: ['scripted-model'] });
const thinker = createScriptedBackend({
  name: 'thinker',
  models: ['thinker-model'],
  reply: { thinking: 'Let me see.', content: 'Forty-two.' },
});
const tools = createScriptedBackend({
  name: 'tools',
  models: ['tool-model'],
  reply: (context) => {
    const last = context.messages.at(-1);
    if (last?.role === 'tool') return `It is ${last.content} in Oslo`;
    if (last?.content.includes('broken')) {
      return { toolCalls: [{ id: 'call_bad', name: 'weather', arguments: '{city: Oslo' }] };
    }
    return { toolCalls: [{ id: 'call_abc', name: 'weather', arguments: '{"city":"Oslo","days":2}' }] };
  },
});
const flaky = createScriptedBackend({
  name: 'flaky',
  models: ['flaky-model'],
  reply: 'abcdefghijklmnop',
  fail: () => ({ error: new Error('boom'), afterChunks: 2 }),
});

let server: TestServer;
let client: Ollama;

before(async () => {
  server = await startTestServer([main, thinker, tools, flaky]);
  client = new Ollama({ host: server.url });
});
after(() => server.close());

/** The context the backend saw in its latest call. */
function lastCall(backend: { readonly calls: readonly ChatContext[] }): ChatContext {
  const call = backend.calls.at(-1);
  assert.ok(call, 'the backend was called');
  return call;
}

/** Reads a streamed chat to its end. */
async function collect(parts: AsyncIterable<ChatResponse>): Promise<ChatResponse[]> {
  const lines: ChatResponse[] = [];
  for await (const part of parts) lines.push(part);
  return lines;
}

function assertFinalStats(line: ChatResponse): void {
  for (const field of [
    'total_duration',
    'load_duration',
    'prompt_eval_duration',
    'eval_duration',
    'prompt_eval_count',
    'eval_count',
  ] as const) {
    assert.ok(Number.isInteger(line[field]) && line[field] >= 0, `${field} is a non-negative integer`);
  }
  assert.ok(line.total_duration >= line.load_duration, 'total_duration includes load_duration');
}

describe('POST /api/chat', () => {
  test('without streaming: the whole message, done_reason, counts and durations', async () => {
    const response = await client.chat({
      model: 'scripted-model',
      messages: [{ role: 'user', content: 'hello there' }],
    });
    assert.equal(response.model, 'scripted-model');
    assert.deepEqual(response.message, { role: 'assistant', content: 'You said: hello there' });
    assert.equal(response.done, true);
    assert.equal(response.done_reason, 'stop');
    assert.equal(response.prompt_eval_count, 2);
    assert.equal(response.eval_count, 4);
    assertFinalStats(response);
    assert.ok(!Number.isNaN(new Date(response.created_at).getTime()), 'created_at is a timestamp');
    const seen = lastCall(main);
    assert.equal(seen.backend, 'main');
    assert.equal(seen.model, 'scripted-model');
    assert.equal(seen.stream, false);
  });

  test('streaming: assistant chunks, then one done line with done_reason and counts', async () => {
    const lines = await collect(
      await client.chat({
        model: 'scripted-model',
        messages: [{ role: 'user', content: 'stream this please' }],
        stream: true,
      }),
    );
    const final = lines.at(-1)!;
    const chunks = lines.slice(0, -1);
    assert.ok(chunks.length > 1, 'the reply arrives in several chunks');
    for (const chunk of chunks) {
      assert.equal(chunk.done, false);
      assert.equal(chunk.model, 'scripted-model');
      assert.equal(chunk.message.role, 'assistant');
      assert.equal(typeof chunk.message.content, 'string');
      assert.ok(!('done_reason' in chunk), 'only the final line has done_reason');
    }
    assert.equal(chunks.map((chunk) => chunk.message.content).join(''), 'You said: stream this please');
    assert.equal(final.done, true);
    assert.equal(final.done_reason, 'stop');
    assert.deepEqual(final.message, { role: 'assistant', content: '' });
    assert.equal(final.prompt_eval_count, 3);
    assert.equal(final.eval_count, 5);
    assertFinalStats(final);
    assert.equal(lastCall(main).stream, true);
  });

  test('stream defaults to true when the body leaves it out', async () => {
    const response = await fetch(`${server.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'scripted-model', messages: [{ role: 'user', content: 'default' }] }),
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/x-ndjson/);
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as ChatResponse);
    assert.ok(lines.length > 2);
    assert.equal(lines.at(-1)!.done, true);
  });

  test('the qualified backend/id name resolves and is echoed back', async () => {
    const response = await client.chat({ model: 'main/scripted-model', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(response.model, 'main/scripted-model');
    assert.equal(lastCall(main).model, 'scripted-model');
    assert.equal(lastCall(main).backend, 'main');
  });

  test('images of a message reach the backend as base64', async () => {
    await client.chat({
      model: 'scripted-model',
      messages: [{ role: 'user', content: 'what is this', images: ['aGVsbG8='] }],
    });
    assert.deepEqual(lastCall(main).messages[0]?.images, ['aGVsbG8=']);
  });

  test("a message processor's change is visible streamed and not streamed", async () => {
    // A server of its own: the processor holds back text, which would change the chunking elsewhere.
    const mailer = createScriptedBackend({ name: 'mailer', reply: 'Write to alice@example.org for help' });
    const redacting = await startTestServer([mailer, redactEmails]);
    try {
      const mailClient = new Ollama({ host: redacting.url });
      const request = { model: 'scripted-model', messages: [{ role: 'user', content: 'mail bob@x.io' }] };
      const whole = await mailClient.chat(request);
      assert.equal(whole.message.content, 'Write to [email] for help');
      // Input direction too: the backend never saw the address.
      assert.equal(lastCall(mailer).messages[0]?.content, 'mail [email]');
      const lines = await collect(await mailClient.chat({ ...request, stream: true }));
      assert.equal(lines.map((line) => line.message.content).join(''), 'Write to [email] for help');
      assert.equal(lines.at(-1)?.done, true);
    } finally {
      await redacting.close();
    }
  });

  test('tools: definitions and object arguments reach the backend as the core expects them', async () => {
    const weather = {
      type: 'function',
      function: {
        name: 'weather',
        description: 'Weather of a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    };
    const response = await client.chat({
      model: 'tool-model',
      tools: [weather],
      messages: [
        { role: 'user', content: 'Weather in Oslo?' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [{ function: { name: 'weather', arguments: { city: 'Oslo' } } }],
        },
        { role: 'tool', content: '12 °C', tool_name: 'weather' },
      ],
    });
    assert.equal(response.message.content, 'It is 12 °C in Oslo');
    const seen = lastCall(tools);
    assert.deepEqual(seen.options.tools, [
      { name: 'weather', description: 'Weather of a city', parameters: weather.function.parameters },
    ]);
    assert.deepEqual(seen.messages[1]?.toolCalls, [{ id: 'call_1_0', name: 'weather', arguments: '{"city":"Oslo"}' }]);
    assert.equal(seen.messages[2]?.toolCallId, 'call_1_0', 'the result is paired with the call it answers');
    assert.equal(seen.messages[2]?.name, 'weather');
  });

  test("tools: the model's calls come back with object arguments, streamed and not", async () => {
    const request = { model: 'tool-model', messages: [{ role: 'user', content: 'Weather?' }] };
    const whole = await client.chat(request);
    const expected = [
      { id: 'call_abc', function: { index: 0, name: 'weather', arguments: { city: 'Oslo', days: 2 } } },
    ];
    assert.deepEqual(whole.message.tool_calls, expected);
    assert.equal(whole.done_reason, 'stop');
    const lines = await collect(await client.chat({ ...request, stream: true }));
    const withCalls = lines.filter((line) => line.message.tool_calls !== undefined);
    assert.equal(withCalls.length, 1);
    assert.equal(withCalls[0]!.done, false);
    assert.deepEqual(withCalls[0]!.message.tool_calls, expected);
    assert.equal(lines.at(-1)!.done, true);
  });

  test('tools: arguments that are not JSON are handed over as _raw_arguments', async () => {
    const response = await client.chat({ model: 'tool-model', messages: [{ role: 'user', content: 'broken' }] });
    assert.deepEqual(response.message.tool_calls?.[0]?.function.arguments, { _raw_arguments: '{city: Oslo' });
  });

  test('format "json" and a JSON schema reach options.responseFormat', async () => {
    await client.chat({ model: 'scripted-model', messages: [{ role: 'user', content: 'json' }], format: 'json' });
    assert.deepEqual(lastCall(main).options.responseFormat, { type: 'json' });
    const schema = { type: 'object', properties: { age: { type: 'integer' } }, required: ['age'] };
    await client.chat({ model: 'scripted-model', messages: [{ role: 'user', content: 'schema' }], format: schema });
    assert.deepEqual(lastCall(main).options.responseFormat, { type: 'json_schema', schema });
  });

  test('options map onto the core: known ones typed, the rest in extra; keep_alive forwarded', async () => {
    await client.chat({
      model: 'scripted-model',
      messages: [{ role: 'user', content: 'options' }],
      keep_alive: '10m',
      options: {
        temperature: 0.2,
        top_p: 0.9,
        top_k: 40,
        num_predict: 64,
        seed: 7,
        stop: ['\n\n'],
        num_ctx: 8192,
        repeat_penalty: 1.1,
      },
    });
    assert.deepEqual(lastCall(main).options, {
      temperature: 0.2,
      topP: 0.9,
      topK: 40,
      maxTokens: 64,
      seed: 7,
      stop: ['\n\n'],
      extra: { num_ctx: 8192, repeat_penalty: 1.1 },
      keepAlive: '10m',
    });
    await client.chat({
      model: 'scripted-model',
      messages: [{ role: 'user', content: 'unlimited' }],
      options: { num_predict: -1 },
    });
    assert.deepEqual(lastCall(main).options, {}, 'num_predict -1 means no limit');
  });

  test('think: the switch reaches the backend; reasoning arrives as message.thinking', async () => {
    const whole = await client.chat({
      model: 'thinker-model',
      messages: [{ role: 'user', content: 'question' }],
      think: true,
    });
    assert.equal(lastCall(thinker).options.think, true);
    assert.deepEqual(whole.message, { role: 'assistant', content: 'Forty-two.', thinking: 'Let me see.' });
    const lines = await collect(
      await client.chat({
        model: 'thinker-model',
        messages: [{ role: 'user', content: 'q' }],
        think: 'high',
        stream: true,
      }),
    );
    assert.equal(lastCall(thinker).options.think, true);
    assert.equal(lastCall(thinker).metadata.thinkLevel, 'high');
    assert.equal(lines[0]!.message.thinking, 'Let me see.', 'reasoning comes first');
    assert.equal(lines.map((line) => line.message.thinking ?? '').join(''), 'Let me see.');
    assert.equal(lines.map((line) => line.message.content).join(''), 'Forty-two.');
  });

  test('no messages: the model is "loaded" without calling it; keep_alive 0 unloads', async () => {
    const before = main.calls.length;
    const loaded = await client.chat({ model: 'scripted-model', messages: [] });
    assert.equal(loaded.done, true);
    assert.equal(loaded.done_reason, 'load');
    assert.deepEqual(loaded.message, { role: 'assistant', content: '' });
    const unloaded = await client.chat({ model: 'scripted-model', keep_alive: 0 });
    assert.equal(unloaded.done_reason, 'unload');
    assert.equal(main.calls.length, before, 'the backend was not called');
  });

  test('an unknown model is a 404 whose error lists the available models', async () => {
    await assert.rejects(
      client.chat({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
      (error: Error & { status_code?: number }) => {
        assert.equal(error.status_code, 404);
        assert.match(error.message, /no-such-model/);
        assert.match(error.message, /main\/scripted-model/);
        return true;
      },
    );
    await assert.rejects(
      client.chat({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }], stream: true }),
      (error: Error & { status_code?: number }) => error.status_code === 404,
      'a streamed request refused before any output gets a real status',
    );
  });

  test('a backend failing mid-stream ends the iteration with an error naming it (its exception text stays in the log)', async () => {
    const stream = await client.chat({
      model: 'flaky-model',
      messages: [{ role: 'user', content: 'go' }],
      stream: true,
    });
    const received: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const part of stream) received.push(part.message.content);
      })(),
      (error: unknown) => {
        assert.doesNotMatch(String(error), /boom/);
        assert.match(String(error), /plugin "flaky", chat:stream/);
        return true;
      },
    );
    assert.deepEqual(received, ['abcd', 'efgh'], 'the chunks before the failure arrived');
  });

  test('a client abort mid-stream abandons the backend stream', async () => {
    const slow = createScriptedBackend({ name: 'slow', reply: 'x'.repeat(400), chunking: 2, chunkDelayMs: 20 });
    const own = await startTestServer([slow]);
    try {
      const stream = await new Ollama({ host: own.url }).chat({
        model: 'scripted-model',
        messages: [{ role: 'user', content: 'go' }],
        stream: true,
      });
      let received = 0;
      await assert.rejects(
        (async () => {
          for await (const _part of stream) {
            received++;
            if (received === 2) stream.abort();
          }
        })(),
        (error: Error) => error.name === 'AbortError',
      );
      assert.equal(received, 2);
      for (let attempt = 0; attempt < 500 && slow.abandonedStreams === 0; attempt++) await sleep(10);
      assert.equal(slow.abandonedStreams, 1, 'the backend saw the stream abandoned');
    } finally {
      // Node 20's fetch opens a spare connection after an abort, which a graceful close
      // would wait for until its deadline: drop it.
      own.server.app.server.closeAllConnections();
      await own.close();
    }
  });
});
