/**
 * Slow request bodies (issue #10, item 7): a body must arrive within `server.body_timeout`
 * (extended while it keeps `server.body_min_rate_kb`), else 408 in the route's error format
 * and the connection is closed; at most `server.max_pending_bodies` bodies are received at
 * once. Real sockets: the bodies are written by hand, a byte at a time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';
import { destroyRawConnections, openRaw, type RawRequest, within } from '../support/raw-http.ts';

const CHAT = JSON.stringify({ model: 'scripted-model', messages: [{ role: 'user', content: 'hello' }] });

function head(path: string, length: number, extra = ''): string {
  return `POST ${path} HTTP/1.1\r\nHost: plugboard\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`;
}

describe('a body that arrives too slowly', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer([createScriptedBackend()], {
      settings: { bodyTimeoutMs: 300, bodyMinRateBytes: 1024 },
    });
  });
  after(async () => {
    destroyRawConnections();
    await server.close();
  });

  test('is cut with 408 in OpenAI format, and the connection is closed', async () => {
    const started = Date.now();
    const request = openRaw(server.url, head('/v1/chat/completions', CHAT.length), CHAT.slice(0, 1));
    void request.trickle(CHAT.slice(1), 100);
    const response = await within(request.response, 3000, '408 response');
    assert.equal(response.status, 408);
    assert.equal(response.headers.connection, 'close');
    const error = (JSON.parse(response.body) as { error: { code: string; type: string; message: string } }).error;
    assert.equal(error.code, 'request_body_timeout');
    assert.equal(error.type, 'invalid_request_error');
    assert.match(error.message, /body/);
    await within(request.closed, 2000, 'connection closed');
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 280 && elapsed < 2000, `cut after ${elapsed} ms`);
  });

  test('is cut with 408 in Ollama format on /api/chat', async () => {
    const request = openRaw(server.url, head('/api/chat', CHAT.length), CHAT.slice(0, 1));
    const response = await within(request.response, 3000, '408 response');
    assert.equal(response.status, 408);
    const body = JSON.parse(response.body) as { error: string; code: string };
    assert.equal(typeof body.error, 'string');
    assert.equal(body.code, 'REQUEST_BODY_TIMEOUT');
    await within(request.closed, 2000, 'connection closed');
  });

  test('a chunked body that never ends is cut too', async () => {
    const request = openRaw(
      server.url,
      'POST /api/generate HTTP/1.1\r\nHost: plugboard\r\nTransfer-Encoding: chunked\r\n\r\n',
      '1\r\n{\r\n',
    );
    const response = await within(request.response, 3000, '408 response');
    assert.equal(response.status, 408);
    await within(request.closed, 2000, 'connection closed');
  });

  test('a body that keeps arriving at the minimum rate may take longer than body_timeout', async () => {
    // ~4 KiB/s for ~0.8 s: past the 0.3 s timeout, but above the 1 KiB/s minimum rate.
    const padded = CHAT + ' '.repeat(3200 - CHAT.length);
    const request = openRaw(server.url, head('/v1/chat/completions', padded.length));
    void request.trickle(padded, 50, 200);
    const response = await within(request.response, 5000, 'response');
    assert.equal(response.status, 200, response.body);
    request.destroy();
  });

  test('a response sent before the body was read closes the connection (no trickle kept alive)', async () => {
    const request = openRaw(
      server.url,
      'GET /health/live HTTP/1.1\r\nHost: plugboard\r\nContent-Length: 1000\r\n\r\n',
      'x',
    );
    const response = await within(request.response, 3000, 'response');
    assert.equal(response.status, 200);
    assert.equal(response.headers.connection, 'close');
    const writer = request.trickle('x'.repeat(50), 50);
    await within(request.closed, 2000, 'connection closed');
    await writer;
  });
});

describe('many slow bodies at once', () => {
  let server: TestServer;
  const open: RawRequest[] = [];
  before(async () => {
    server = await startTestServer([createScriptedBackend()], {
      settings: { bodyTimeoutMs: 10_000, bodyMinRateBytes: 1024, maxPendingBodies: 2 },
    });
  });
  after(async () => {
    destroyRawConnections();
    await server.close();
  });

  test('beyond max_pending_bodies: a body that arrives at once is served, a slow newcomer gets 503 with Retry-After, the slowest is cut to make room', async () => {
    for (let i = 0; i < 2; i++) {
      open.push(openRaw(server.url, head('/v1/chat/completions', CHAT.length), CHAT.slice(0, 1)));
    }
    await new Promise((resolve) => setTimeout(resolve, 150));

    // Both slots are taken by uploads too young to judge. A newcomer whose body arrives at
    // once is taken on probation and served: trickling uploads cannot lock out normal clients.
    const fast = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: CHAT,
    });
    assert.equal(fast.status, 200, await fast.clone().text());

    // A newcomer that trickles too is refused once its probation is over.
    const slowNewcomer = openRaw(server.url, head('/v1/chat/completions', CHAT.length), CHAT.slice(0, 1));
    open.push(slowNewcomer);
    const refused = await within(slowNewcomer.response, 2000, 'the slow newcomer is refused');
    assert.equal(refused.status, 503);
    assert.match(refused.headers['retry-after'] ?? '', /^\d+$/);
    const error = (JSON.parse(refused.body) as { error: { code: string; type: string } }).error;
    assert.deepEqual([error.code, error.type], ['too_many_uploads', 'service_unavailable_error']);

    // A second in, both first uploads trickle far below 1 KiB/s: the slowest is cut (408) for the next newcomer.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const served = await fetch(`${server.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ ...JSON.parse(CHAT), stream: false }),
    });
    assert.equal(served.status, 200, await served.clone().text());
    const cut = await within(
      Promise.race(open.slice(0, 2).map((request) => request.response)),
      2000,
      'a slow upload is cut',
    );
    assert.equal(cut.status, 408);
    assert.match(cut.body, /make room|minimum rate/);
  });
});

describe('body_timeout and long responses', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer([createScriptedBackend({ reply: 'x'.repeat(40), chunking: 4, chunkDelayMs: 100 })], {
      settings: { bodyTimeoutMs: 300, bodyMinRateBytes: 0 },
    });
  });
  after(async () => {
    destroyRawConnections();
    await server.close();
  });

  test('times only the body: a stream may run far longer than body_timeout', async () => {
    const started = Date.now();
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...JSON.parse(CHAT), stream: true }),
    });
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.ok(Date.now() - started >= 900, 'the stream outlived body_timeout');
    assert.match(text, /data: \[DONE\]/);
    assert.equal((text.match(/"content":"xxxx"/g) ?? []).length, 10);
  });
});
