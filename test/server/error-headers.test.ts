/**
 * A plugin's error can carry response headers (a rate limiter's Retry-After and x-ratelimit-*,
 * authentication's WWW-Authenticate): they reach the client on every API and route, with the
 * status and the body in the API's format. Headers that frame the response or identify it are
 * the server's, and an invalid one (CR/LF) is left out rather than failing the answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ChatContext, defineErrors, defineMiddleware, reject } from '../../src/index.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

const limitErrors = defineErrors('header-test', {
  LIMITED: { summary: 'Too many requests', hint: 'Wait for the time in Retry-After.', status: 429 },
});

const HEADERS = {
  'Retry-After': '7',
  'x-ratelimit-limit': '10',
  'x-ratelimit-remaining': '0',
  // Not a plugin's to set: dropped.
  'content-length': '1',
  'x-request-id': 'forged',
  connection: 'close',
  'set-cookie': 'session=forged',
  // Invalid: dropped, the rest of the answer unharmed.
  'x-split': 'a\r\nx-injected: yes',
};

const limiter = defineMiddleware({
  metadata: { name: 'limiter', version: '1.0.0', failurePolicy: 'closed' },
  processRequest: (context: ChatContext) => {
    const how = context.client?.headers?.['x-limit'];
    if (how === 'factory') return { decision: 'reject', error: limitErrors.LIMITED('Slow down', { headers: HEADERS }) };
    if (how === 'reject') return reject('REQUEST_REJECTED', 'Slow down', { status: 429, headers: HEADERS });
    return context;
  },
});

const ROUTES = [
  {
    method: 'POST',
    path: '/v1/chat/completions',
    body: { model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }] },
  },
  {
    method: 'POST',
    path: '/v1/chat/completions',
    body: { model: 'scripted-model', stream: true, messages: [{ role: 'user', content: 'hi' }] },
  },
  { method: 'GET', path: '/v1/models' },
  { method: 'POST', path: '/api/chat', body: { model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }] } },
  { method: 'GET', path: '/api/tags' },
] as const;

let server: TestServer;
before(async () => {
  server = await startTestServer([createScriptedBackend(), limiter]);
});
after(() => server.close());

describe('response headers of a plugin error', () => {
  for (const how of ['reject', 'factory'] as const) {
    for (const route of ROUTES) {
      const body = 'body' in route ? route.body : undefined;
      const label = `${route.method} ${route.path}${body && 'stream' in body ? ' (stream)' : ''}, ${how}`;
      test(label, async () => {
        const response = await fetch(`${server.url}${route.path}`, {
          method: route.method,
          headers: { 'x-limit': how, ...(body ? { 'content-type': 'application/json' } : {}) },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        const text = await response.text();
        assert.equal(response.status, 429, text);
        assert.equal(response.headers.get('retry-after'), '7');
        assert.equal(response.headers.get('x-ratelimit-limit'), '10');
        assert.equal(response.headers.get('x-ratelimit-remaining'), '0');
        assert.equal(response.headers.get('content-length'), String(Buffer.byteLength(text)), 'the server frames it');
        assert.notEqual(response.headers.get('x-request-id'), 'forged');
        assert.equal(response.headers.get('set-cookie'), null);
        assert.notEqual(response.headers.get('connection'), 'close');
        assert.equal(response.headers.get('x-split'), null);
        assert.equal(response.headers.get('x-injected'), null);
        const parsed = JSON.parse(text) as { error: string | { message: string } };
        const message = typeof parsed.error === 'string' ? parsed.error : parsed.error.message;
        assert.match(message, /Slow down/);
      });
    }
  }

  test('a request the plugin lets through carries none of them', async () => {
    const response = await fetch(`${server.url}/v1/models`);
    await response.text();
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('retry-after'), null);
  });
});
