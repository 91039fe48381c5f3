/**
 * The server adopts a client's `x-request-id`, but never one a request in flight already has:
 * plugins key per-request state by `context.requestId` (the cache's pending entry, a token
 * estimate), so two concurrent requests sharing one must not read each other's. The client
 * learns the id used from the response's `x-request-id`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { defineMiddleware } from '../../src/index.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

const seen: string[] = [];
const recorder = defineMiddleware({
  metadata: { name: 'recorder', version: '1.0.0' },
  processRequest: (context) => {
    seen.push(context.requestId);
    return context;
  },
});

let server: TestServer;
before(async () => {
  server = await startTestServer([createScriptedBackend({ latencyMs: 150 }), recorder]);
});
after(() => server.close());

function chat(id: string): Promise<Response> {
  return fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': id },
    body: JSON.stringify({ model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }] }),
  });
}

test('a client id is adopted; while a request has it, another gets a fresh one; once it is done, it is free again', async () => {
  const [first, second] = await Promise.all([chat('client-id-1'), chat('client-id-1')]);
  await Promise.all([first.text(), second.text()]);
  const ids = [first.headers.get('x-request-id'), second.headers.get('x-request-id')];
  assert.ok(ids.includes('client-id-1'), `one adopted the client's id: ${ids.join(', ')}`);
  assert.notEqual(ids[0], ids[1], 'never two requests in flight with one id');
  assert.deepEqual([...seen].sort(), [...ids].sort(), 'plugins saw the ids the clients were told');

  const later = await chat('client-id-1');
  await later.text();
  assert.equal(later.headers.get('x-request-id'), 'client-id-1', 'free again once the first finished');
});
