/**
 * A plugin sets headers on a successful response with `call.setResponseHeader` (the rate
 * limiter's x-ratelimit-*, the cache's hit or miss): they reach the client on every API,
 * streamed or not, and on every operation. The server keeps the headers that frame or
 * identify the response to itself, and a malformed one is left out, not sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ChatContext, defineMiddleware, metricsRef } from '../../src/index.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

const tagger = defineMiddleware({
  metadata: { name: 'tagger', version: '1.0.0', consumes: [metricsRef] },
  initialize(_config, call) {
    const seen = call.services.get(metricsRef).counter({
      name: 'tagger_requests_total',
      help: 'Requests the tagger saw, by operation',
      labelNames: ['operation'],
    });
    taggerSeen = (operation) => seen.inc({ operation });
  },
  processRequest: (context: ChatContext, call) => {
    taggerSeen?.(context.operation);
    call.setResponseHeader('x-ratelimit-remaining', '41');
    call.setResponseHeader('Content-Type', 'text/forged'); // the server's
    call.setResponseHeader('x-plugboard-degraded', 'forged'); // the server's
    call.setResponseHeader('x-split', 'a\r\nx-injected: yes'); // malformed
    return context;
  },
});
let taggerSeen: ((operation: string) => void) | undefined;

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
  { method: 'POST', path: '/api/chat', body: { model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }] } },
  {
    method: 'POST',
    path: '/api/chat',
    body: { model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }], stream: true },
  },
  { method: 'POST', path: '/api/generate', body: { model: 'scripted-model', prompt: 'hi', stream: false } },
  { method: 'GET', path: '/v1/models' },
  { method: 'GET', path: '/api/tags' },
  { method: 'POST', path: '/v1/embeddings', body: { model: 'scripted-model', input: 'hi' } },
] as const;

let server: TestServer;
before(async () => {
  server = await startTestServer([createScriptedBackend(), tagger]);
});
after(() => server.close());

describe('response headers a plugin sets on a successful response', () => {
  for (const route of ROUTES) {
    const body = 'body' in route ? route.body : undefined;
    test(`${route.method} ${route.path}${body && 'stream' in body && body.stream ? ' (stream)' : ''}`, async () => {
      const response = await fetch(`${server.url}${route.path}`, {
        method: route.method,
        headers: body ? { 'content-type': 'application/json' } : {},
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      assert.equal(response.status, 200, text);
      assert.equal(response.headers.get('x-ratelimit-remaining'), '41');
      assert.notEqual(response.headers.get('content-type'), 'text/forged');
      assert.notEqual(response.headers.get('x-plugboard-degraded'), 'forged');
      assert.equal(response.headers.get('x-split'), null);
      assert.equal(response.headers.get('x-injected'), null);
    });
  }
});

describe("plugins' metrics on GET /metrics", () => {
  test("a counter a plugin defined through metricsRef is scraped with the server's own metrics", async () => {
    await (await fetch(`${server.url}/v1/models`)).text();
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /# HELP tagger_requests_total Requests the tagger saw, by operation/);
    assert.match(text, /tagger_requests_total\{operation="models\.list"\} [1-9]/);
    assert.match(text, /plugboard_http_requests_total/, "the server's own metrics are still there");
  });
});
