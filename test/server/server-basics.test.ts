/**
 * What every route shares: request ids end to end, body limits, unknown routes and methods,
 * the request timeout, and responses in each API's own error format.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ChatContext, definePlugin, type RequestOutcome } from '../../src/index.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

const seen: { start: ChatContext[]; end: { context: ChatContext; outcome: RequestOutcome }[] } = { start: [], end: [] };
const observer = definePlugin({
  metadata: { name: 'observer', version: '1.0.0' },
  onRequestStart: ({ context }) => {
    seen.start.push(context);
  },
  onRequestEnd: ({ context, outcome }) => {
    seen.end.push({ context, outcome });
  },
});

function chatBody(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model: 'scripted-model', messages: [{ role: 'user', content: 'hello' }], ...extra });
}

describe('HTTP server basics', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer([createScriptedBackend(), observer], {
      settings: { bodyLimitBytes: 64 * 1024 },
    });
  });
  after(() => server.close());

  test("a client's x-request-id is echoed and is the request id every plugin hook sees", async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'trace-abc.123' },
      body: chatBody(),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-request-id'), 'trace-abc.123');
    assert.ok(seen.start.some((context) => context.requestId === 'trace-abc.123'));
    assert.ok(seen.end.some((entry) => entry.context.requestId === 'trace-abc.123'));
  });

  test('without one (or with an unsafe one) a fresh UUID is made and echoed, on errors too', async () => {
    const plain = await fetch(`${server.url}/api/chat`, { method: 'POST', body: chatBody({ stream: false }) });
    const id = plain.headers.get('x-request-id') ?? '';
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.ok(seen.start.some((context) => context.requestId === id));

    const unsafe = await fetch(`${server.url}/nope`, { headers: { 'x-request-id': 'bad id\twith spaces' } });
    assert.equal(unsafe.status, 404);
    assert.match(unsafe.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const body = (await unsafe.json()) as { error: { request_id: string } };
    assert.equal(body.error.request_id, unsafe.headers.get('x-request-id'));
  });

  test('an oversized body is a 413 in the API format of the route', async () => {
    const huge = chatBody({ messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] });
    const openai = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: huge,
    });
    assert.equal(openai.status, 413);
    const error = ((await openai.json()) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'request_too_large');
    const ollama = await fetch(`${server.url}/api/chat`, { method: 'POST', body: huge });
    assert.equal(ollama.status, 413);
    assert.match(((await ollama.json()) as { error: string }).error, /larger than the server accepts/);
  });

  test('a known path with the wrong method is a 405 with Allow; an unknown path a 404', async () => {
    const wrong = await fetch(`${server.url}/v1/chat/completions`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    const missing = await fetch(`${server.url}/v1/nothing-here`, { method: 'POST', body: '{}' });
    assert.equal(missing.status, 404);
    const body = (await missing.json()) as { error: { type: string; code: string } };
    assert.deepEqual([body.error.type, body.error.code], ['not_found_error', 'route_not_found']);
  });

  test('invalid JSON is a 400 that says what is wrong with it', async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model": "x", "messages": [',
    });
    assert.equal(response.status, 400);
    const error = ((await response.json()) as { error: { message: string } }).error;
    assert.match(error.message, /not valid JSON/);
  });
});

describe('request timeout', () => {
  let server: TestServer;
  before(async () => {
    seen.end.length = 0;
    server = await startTestServer([createScriptedBackend({ latencyMs: Number.POSITIVE_INFINITY }), observer], {
      settings: { requestTimeoutMs: 200 },
    });
  });
  after(() => server.close());

  test('a request that outlives server.request_timeout gets 504 and the backend call is aborted', async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chatBody(),
    });
    assert.equal(response.status, 504);
    const error = ((await response.json()) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'request_timeout');
    assert.match(error.message, /did not finish within/);
    const id = response.headers.get('x-request-id');
    const ended = seen.end.find((entry) => entry.context.requestId === id);
    assert.equal(ended?.outcome, 'aborted');
  });
});
