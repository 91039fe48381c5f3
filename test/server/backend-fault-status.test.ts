/**
 * One status for one kind of fault (docs/API.md, "Errors"): whatever a backend plugin does
 * wrong — returns an invalid reply, streams an invalid chunk, throws in `embed` or
 * `listModels`, returns garbage from them — the client gets a 502 on both APIs (OpenAI's
 * /v1 and Ollama's /api). 500 is kept for bugs in Plugboard itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ChatChunk, defineBackend, lastUserMessage } from '../../src/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

async function* badChunks(): AsyncGenerator<ChatChunk> {
  yield { content: 42 } as unknown as ChatChunk;
}

/** A backend at fault as the user message says; its embed throws, its model list throws. */
const faulty = defineBackend({
  metadata: { name: 'faulty', version: '1.0.0' },
  listModels: () => {
    throw new Error('listModels exploded');
  },
  chat: (context) => {
    const text = lastUserMessage(context)?.content;
    if (text === 'bad-chunk' && context.stream) return badChunks();
    // An invalid whole reply (a message that is a number), streamed or not.
    return { message: 42 } as never;
  },
  embed: () => {
    throw new Error('embed exploded');
  },
});

/** A backend whose embed and listModels return values of the wrong shape. */
const sloppy = defineBackend({
  metadata: { name: 'sloppy', version: '1.0.0' },
  listModels: () => 'not a list' as never,
  chat: () => ({ message: 42 }) as never,
  embed: () => ({ model: 'x', embeddings: 'nope' }) as never,
});

let server: TestServer;
before(async () => {
  // No circuit breaker: after repeated faults it would skip the calls (a 503, not what is tested).
  server = await startTestServer([faulty, sloppy], { manager: { circuitBreaker: { enabled: false } } });
});
after(() => server.close());

async function post(path: string, body: unknown): Promise<{ status: number; body: string }> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.text() };
}

async function get(path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${server.url}${path}`);
  return { status: response.status, body: await response.text() };
}

const user = (content: string) => [{ role: 'user', content }];

describe('a backend fault is a 502 on both APIs', () => {
  for (const stream of [false, true]) {
    test(`an invalid reply (${stream ? 'streamed' : 'whole'}): 502`, async () => {
      for (const model of ['faulty/m', 'sloppy/m']) {
        const openai = await post('/v1/chat/completions', { model, stream, messages: user('bad-reply') });
        assert.equal(openai.status, 502, `/v1 ${model}: ${openai.body}`);
        const ollama = await post('/api/chat', { model, stream, messages: user('bad-reply') });
        assert.equal(ollama.status, 502, `/api ${model}: ${ollama.body}`);
      }
    });
  }

  test('an invalid stream chunk: 502, as an invalid whole reply', async () => {
    const openai = await post('/v1/chat/completions', { model: 'faulty/m', stream: true, messages: user('bad-chunk') });
    assert.equal(openai.status, 502, openai.body);
    const ollama = await post('/api/chat', { model: 'faulty/m', stream: true, messages: user('bad-chunk') });
    assert.equal(ollama.status, 502, ollama.body);
    const generate = await post('/api/generate', { model: 'faulty/m', stream: true, prompt: 'bad-chunk' });
    assert.equal(generate.status, 502, generate.body);
  });

  test('embed that throws or returns garbage: 502', async () => {
    for (const model of ['faulty/m', 'sloppy/m']) {
      const openai = await post('/v1/embeddings', { model, input: 'hello' });
      assert.equal(openai.status, 502, `/v1 ${model}: ${openai.body}`);
      const ollama = await post('/api/embed', { model, input: 'hello' });
      assert.equal(ollama.status, 502, `/api/embed ${model}: ${ollama.body}`);
      const legacy = await post('/api/embeddings', { model, prompt: 'hello' });
      assert.equal(legacy.status, 502, `/api/embeddings ${model}: ${legacy.body}`);
    }
  });

  test('list models and show, every backend failing to list: 502', async () => {
    const list = await get('/v1/models');
    assert.equal(list.status, 502, list.body);
    const tags = await get('/api/tags');
    assert.equal(tags.status, 502, tags.body);
    const one = await get('/v1/models/faulty%2Fm');
    assert.equal(one.status, 502, one.body);
    const show = await post('/api/show', { model: 'faulty/m' });
    assert.equal(show.status, 502, show.body);
  });
});
