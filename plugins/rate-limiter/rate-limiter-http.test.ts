/**
 * The limiter in the real HTTP server, through the official clients: with `openai`, N requests
 * pass and the N+1th is `RateLimitError` (429) with Retry-After and the x-ratelimit-* headers,
 * in OpenAI's error format; with `ollama`, the same limit gives a 429 in Ollama's format. Every
 * client-facing route counts (a limit without `operations` covers models and embeddings too).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import createRateLimiterPlugin from './rate-limiter.plugin.ts';

const LIMIT = 3;

/** One server per test: each starts with fresh in-memory counters. */
let server: TestServer;
async function start(limits: unknown[]) {
  server = await startTestServer([
    createScriptedBackend({ models: ['scripted-model', 'embedder'] }),
    [createRateLimiterPlugin, { config: { limits } }],
  ]);
}

describe('the official openai client', () => {
  before(() => start([{ key: 'ip', requests: LIMIT, per_seconds: 60, operations: ['chat'] }]));
  after(() => server.close());

  test(`${LIMIT} chats pass, the next is RateLimitError (429) with Retry-After and x-ratelimit-*`, async () => {
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const ask = () =>
      openai.chat.completions.create({ model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }] });
    for (let index = 0; index < LIMIT; index++) assert.equal((await ask()).choices[0]?.message.content, 'You said: hi');
    await assert.rejects(ask(), (error) => {
      assert.ok(error instanceof OpenAI.RateLimitError, String(error));
      assert.equal(error.status, 429);
      assert.equal(error.type, 'rate_limit_error');
      assert.equal(error.code, 'rate_limiter/limited');
      assert.match(error.message, /Rate limit exceeded: 3 requests per 60 seconds per ip\. Resets in \d+ s\./);
      assert.doesNotMatch(error.message, /127\.0\.0\.1/, 'the caller’s address is not echoed');
      const headers = error.headers;
      assert.match(headers.get('retry-after') ?? '', /^\d+$/);
      assert.equal(headers.get('x-ratelimit-limit'), String(LIMIT));
      assert.equal(headers.get('x-ratelimit-remaining'), '0');
      assert.equal(headers.get('x-ratelimit-reset'), headers.get('retry-after'));
      return true;
    });
    // operations: [chat] — listing models is not limited.
    assert.ok((await openai.models.list()).data.length > 0);
  });
});

describe('the official ollama client', () => {
  before(() => start([{ key: 'principal', requests: LIMIT, per_seconds: 60 }]));
  after(() => server.close());

  test('the same limit gives a 429 in Ollama’s error format, with the headers', async () => {
    const ollama = new Ollama({ host: server.url });
    for (let index = 0; index < LIMIT; index++) {
      const reply = await ollama.chat({ model: 'scripted-model', messages: [{ role: 'user', content: 'hey' }] });
      assert.equal(reply.message.content, 'You said: hey');
    }
    await assert.rejects(
      ollama.chat({ model: 'scripted-model', messages: [{ role: 'user', content: 'hey' }] }),
      (error) => {
        const refused = error as { name: string; status_code: number; error: string };
        assert.equal(refused.name, 'ResponseError');
        assert.equal(refused.status_code, 429);
        // No principal (no auth plugin): the principal limit counts per address, and says so.
        assert.match(refused.error, /^Rate limit exceeded: 3 requests per 60 seconds per ip \(no principal\)/);
        return true;
      },
    );
    const raw = await fetch(`${server.url}/api/tags`);
    assert.equal(raw.status, 429, 'a limit without operations covers the model list too');
    const body = (await raw.json()) as { error: string; code: string };
    assert.equal(body.code, 'rate_limiter/LIMITED');
    assert.match(body.error, /^Rate limit exceeded/);
    assert.equal(raw.headers.get('x-ratelimit-limit'), String(LIMIT));
    assert.match(raw.headers.get('retry-after') ?? '', /^\d+$/);
  });
});

describe('every client-facing operation passes the limiter', () => {
  before(() => start([{ key: 'global', requests: 6, per_seconds: 60 }]));
  after(() => server.close());

  test('chat, generate, embeddings, model list and show all count against a limit without operations', async () => {
    const send = (path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const statuses = [];
    for (const [path, body] of [
      ['/v1/chat/completions', { model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }] }],
      ['/api/generate', { model: 'scripted-model', prompt: 'hi', stream: false }],
      ['/v1/embeddings', { model: 'embedder', input: 'a' }],
      ['/v1/models', undefined],
      ['/api/show', { model: 'embedder' }],
      ['/v1/models/scripted/embedder', undefined],
      ['/api/embed', { model: 'embedder', input: ['a'] }],
    ] as const) {
      const response = await send(path, body);
      await response.arrayBuffer();
      statuses.push(response.status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429]);
  });
});
