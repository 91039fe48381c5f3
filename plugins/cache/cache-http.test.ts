/**
 * The cache in the real HTTP server: a stream is recorded on a miss and replayed on the hit
 * in the same protocol — OpenAI's SSE (through the official `openai` client, and as raw
 * `data:` events ending in `[DONE]`) and Ollama's NDJSON (through the official `ollama`
 * client, and as raw lines ending in `done: true`) — without a second backend call; the
 * `x-plugboard-cache` and `age` headers; the client's `Cache-Control`; and the hit, miss and
 * byte counts on `GET /metrics`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { createScriptedBackend, type ScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { readChatStream } from '../../test/support/openai-stream.ts';
import { createCachePlugin } from './cache.plugin.ts';

const REPLY = 'Plugboard replays this reply from its cache, chunk after chunk, in the protocol it was asked in.';

let server: TestServer;
let backend: ScriptedBackend;
let openai: OpenAI;
let ollama: Ollama;

before(async () => {
  backend = createScriptedBackend({ reply: REPLY, chunking: 7 });
  server = await startTestServer([backend, [createCachePlugin, { config: {} }]]);
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  ollama = new Ollama({ host: server.url });
});
after(() => server.close());

/** A streamed OpenAI chat: its text, deltas, finish reason, usage and the cache header. */
async function openAiStream(content: string) {
  const { data: stream, response } = await openai.chat.completions
    .create({
      model: 'scripted-model',
      messages: [{ role: 'user', content }],
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    })
    .withResponse();
  return { ...(await readChatStream(stream)), cache: response.headers.get('x-plugboard-cache'), response };
}

/** A raw POST whose body is read as text. */
async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { response, text: await response.text() };
}

describe('OpenAI API: SSE', () => {
  test('the official client: a stream is recorded, then replayed as a stream with the same text and usage', async () => {
    const calls = backend.calls.length;
    const first = await openAiStream('Tell me about caches');
    assert.equal(first.cache, 'miss');
    assert.ok(first.deltas > 3, `${first.deltas} deltas`);
    const second = await openAiStream('Tell me about caches');
    assert.equal(second.cache, 'hit');
    assert.match(second.response.headers.get('age') ?? '', /^\d+$/);
    assert.equal(backend.calls.length, calls + 1, 'one backend call for both');
    assert.equal(second.text, first.text);
    assert.equal(second.text, REPLY);
    assert.equal(second.finish, 'stop');
    assert.deepEqual(second.usage, first.usage);
  });

  test('raw SSE: data events, a finish, then [DONE]', async () => {
    const body = {
      model: 'scripted-model',
      messages: [{ role: 'user', content: 'raw please' }],
      temperature: 0,
      stream: true,
    };
    await post('/v1/chat/completions', body);
    const { response, text } = await post('/v1/chat/completions', body);
    assert.equal(response.headers.get('x-plugboard-cache'), 'hit');
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = text.split('\n\n').filter(Boolean);
    assert.equal(events.at(-1), 'data: [DONE]');
    const chunks = events.slice(0, -1).map((event) => {
      assert.ok(event.startsWith('data: '), event);
      return JSON.parse(event.slice(6)) as {
        object: string;
        choices: { delta: { content?: string }; finish_reason: string | null }[];
      };
    });
    assert.ok(chunks.every((chunk) => chunk.object === 'chat.completion.chunk'));
    assert.equal(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join(''), REPLY);
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'stop');
  });

  test('a whole reply after a streamed one: the same text, from the cache', async () => {
    await openAiStream('once streamed');
    const { data, response } = await openai.chat.completions
      .create({ model: 'scripted-model', messages: [{ role: 'user', content: 'once streamed' }], temperature: 0 })
      .withResponse();
    assert.equal(response.headers.get('x-plugboard-cache'), 'hit');
    assert.equal(data.choices[0]?.message.content, REPLY);
  });

  test('Cache-Control: no-store and no-cache from the client; a sampled request is skipped', async () => {
    const body = { model: 'scripted-model', messages: [{ role: 'user', content: 'directives' }], temperature: 0 };
    const calls = backend.calls.length;
    assert.equal((await post('/v1/chat/completions', body)).response.headers.get('x-plugboard-cache'), 'miss');
    const noStore = await post('/v1/chat/completions', body, { 'cache-control': 'no-store' });
    assert.equal(noStore.response.headers.get('x-plugboard-cache'), 'bypass');
    const noCache = await post('/v1/chat/completions', body, { 'Cache-Control': 'no-cache' });
    assert.equal(noCache.response.headers.get('x-plugboard-cache'), 'refresh');
    assert.equal((await post('/v1/chat/completions', body)).response.headers.get('x-plugboard-cache'), 'hit');
    const sampled = await post('/v1/chat/completions', { ...body, temperature: 0.8 });
    assert.equal(sampled.response.headers.get('x-plugboard-cache'), 'skip');
    assert.equal(backend.calls.length, calls + 4);
  });
});

describe('Ollama API: NDJSON', () => {
  test('the official client: a stream is recorded, then replayed as a stream with the same text and counts', async () => {
    const ask = async () => {
      let text = '';
      let parts = 0;
      let last: { done: boolean; done_reason: string; eval_count: number } | undefined;
      const stream = await ollama.chat({
        model: 'scripted-model',
        messages: [{ role: 'user', content: 'Tell me about NDJSON' }],
        options: { temperature: 0 },
        stream: true,
      });
      for await (const part of stream) {
        text += part.message.content;
        parts++;
        last = part;
      }
      return { text, parts, last };
    };
    const calls = backend.calls.length;
    const first = await ask();
    const second = await ask();
    assert.equal(backend.calls.length, calls + 1);
    assert.equal(second.text, first.text);
    assert.equal(second.text, REPLY);
    assert.ok(second.parts >= 2, 'content lines, then the done line');
    assert.equal(second.last?.done, true);
    assert.equal(second.last?.done_reason, 'stop');
    assert.equal(second.last?.eval_count, first.last?.eval_count, 'the stored usage');
  });

  test('raw NDJSON: message lines, then done, with the hit header; /api/generate too', async () => {
    const body = {
      model: 'scripted-model',
      messages: [{ role: 'user', content: 'raw lines' }],
      options: { temperature: 0 },
    };
    const first = await post('/api/chat', body);
    assert.equal(first.response.headers.get('x-plugboard-cache'), 'miss');
    const { response, text } = await post('/api/chat', body);
    assert.equal(response.headers.get('x-plugboard-cache'), 'hit');
    assert.match(response.headers.get('content-type') ?? '', /^application\/x-ndjson/);
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { message?: { content: string }; done: boolean });
    assert.equal(lines.at(-1)?.done, true);
    assert.ok(lines.slice(0, -1).every((line) => !line.done));
    assert.equal(lines.map((line) => line.message?.content ?? '').join(''), REPLY);

    const generate = { model: 'scripted-model', prompt: 'raw lines', options: { temperature: 0 } };
    assert.equal((await post('/api/generate', generate)).response.headers.get('x-plugboard-cache'), 'miss');
    const again = await post('/api/generate', generate);
    assert.equal(again.response.headers.get('x-plugboard-cache'), 'hit');
    const generated = again.text
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { response: string }).response)
      .join('');
    assert.equal(generated, REPLY);
  });

  test('a stream recorded through the OpenAI API is replayed through the Ollama API (the key is the request, not the API)', async () => {
    await openAiStream('across APIs');
    const calls = backend.calls.length;
    const { response, text } = await post('/api/chat', {
      model: 'scripted-model',
      messages: [{ role: 'user', content: 'across APIs' }],
      options: { temperature: 0 },
    });
    assert.equal(response.headers.get('x-plugboard-cache'), 'hit');
    assert.equal(backend.calls.length, calls);
    const content = text
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { message?: { content: string } }).message?.content ?? '')
      .join('');
    assert.equal(content, REPLY);
  });
});

describe('GET /metrics', () => {
  test('hits, misses and bytes, by result', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const value = (series: string) => {
      const line = text.split('\n').find((each) => each.startsWith(`${series} `));
      assert.ok(line, `${series} in /metrics`);
      return Number(line.slice(series.length + 1));
    };
    assert.ok(value('cache_requests_total{result="hit"}') >= 7);
    assert.ok(value('cache_requests_total{result="miss"}') >= 6);
    assert.ok(value('cache_requests_total{result="bypass"}') >= 1);
    assert.ok(value('cache_requests_total{result="refresh"}') >= 1);
    assert.ok(value('cache_requests_total{result="skip"}') >= 1);
    assert.ok(value('cache_stores_total{result="stored"}') >= 7);
    assert.ok(value('cache_stored_bytes_total') > REPLY.length * 7);
    assert.ok(value('cache_served_bytes_total') > REPLY.length * 7);
    assert.ok(value('cache_memory_entries') >= 6);
    assert.ok(value('cache_memory_bytes') > REPLY.length * 6);
    assert.match(text, /# HELP cache_requests_total Chat requests the response cache looked at/);
  });
});
