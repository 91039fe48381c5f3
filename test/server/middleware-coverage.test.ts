/**
 * Every client-facing operation passes request middleware, on both APIs: chat, generate,
 * embeddings, the model list and one model's facts, and Ollama's load requests. A rejecting
 * middleware (an auth plugin written from the docs) blocks each of them — before the model is
 * even looked up, so a refused caller learns nothing of the models — and sees the operation
 * named in the context.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ChatContext, defineMiddleware, type Operation, reject } from '../../src/index.ts';
import { countedBackend } from '../support/counted-backend.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

/** The scripted backend, counting every call that reaches it. */
const { backend: counted, reached } = countedBackend(['scripted-model', 'embedder']);

/** Refuses any request with `x-block: yes` (as an auth middleware refuses one without a key). */
const seen: { operation: Operation; model: string | undefined }[] = [];
const gate = defineMiddleware({
  metadata: { name: 'gate', version: '1.0.0', failurePolicy: 'closed' },
  processRequest: (context: ChatContext) => {
    seen.push({ operation: context.operation, model: context.model });
    return context.client?.headers?.['x-block'] === 'yes'
      ? reject('REQUEST_REJECTED', 'Sign in first', { status: 401 })
      : context;
  },
});

interface Route {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: unknown;
  readonly operation: Operation;
  /** The error body's message, in the API's own format. */
  readonly message: (body: Record<string, unknown>) => unknown;
}

const openAiMessage = (body: Record<string, unknown>) => (body.error as { message?: unknown } | undefined)?.message;
const ollamaMessage = (body: Record<string, unknown>) => body.error;
const chat = { model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }] };

const ROUTES: readonly Route[] = [
  { method: 'POST', path: '/v1/chat/completions', body: chat, operation: 'chat', message: openAiMessage },
  {
    method: 'POST',
    path: '/v1/chat/completions',
    body: { ...chat, stream: true },
    operation: 'chat',
    message: openAiMessage,
  },
  {
    method: 'POST',
    path: '/v1/embeddings',
    body: { model: 'embedder', input: ['a secret'] },
    operation: 'embeddings',
    message: openAiMessage,
  },
  { method: 'GET', path: '/v1/models', operation: 'models.list', message: openAiMessage },
  { method: 'GET', path: '/v1/models/scripted/embedder', operation: 'models.show', message: openAiMessage },
  { method: 'POST', path: '/api/chat', body: { ...chat, stream: false }, operation: 'chat', message: ollamaMessage },
  { method: 'POST', path: '/api/chat', body: chat, operation: 'chat', message: ollamaMessage },
  { method: 'POST', path: '/api/chat', body: { model: 'scripted-model' }, operation: 'chat', message: ollamaMessage },
  {
    method: 'POST',
    path: '/api/generate',
    body: { model: 'scripted-model', prompt: 'hi', stream: false },
    operation: 'generate',
    message: ollamaMessage,
  },
  {
    method: 'POST',
    path: '/api/generate',
    body: { model: 'scripted-model' },
    operation: 'generate',
    message: ollamaMessage,
  },
  {
    method: 'POST',
    path: '/api/embed',
    body: { model: 'embedder', input: ['a', 'b'] },
    operation: 'embeddings',
    message: ollamaMessage,
  },
  {
    method: 'POST',
    path: '/api/embeddings',
    body: { model: 'embedder', prompt: 'a' },
    operation: 'embeddings',
    message: ollamaMessage,
  },
  { method: 'GET', path: '/api/tags', operation: 'models.list', message: ollamaMessage },
  { method: 'POST', path: '/api/show', body: { model: 'embedder' }, operation: 'models.show', message: ollamaMessage },
  { method: 'GET', path: '/api/ps', operation: 'models.list', message: ollamaMessage },
];

let server: TestServer;

before(async () => {
  server = await startTestServer([counted, gate]);
});
after(() => server.close());

async function send(route: Route, block: boolean): Promise<{ status: number; text: string }> {
  const response = await fetch(`${server.url}${route.path}`, {
    method: route.method,
    headers: { 'content-type': 'application/json', ...(block ? { 'x-block': 'yes' } : {}) },
    ...(route.body === undefined ? {} : { body: JSON.stringify(route.body) }),
  });
  return { status: response.status, text: await response.text() };
}

describe('a rejecting middleware blocks every client operation, on both APIs', () => {
  for (const route of ROUTES) {
    const label = `${route.method} ${route.path} ${route.body === undefined ? '' : JSON.stringify(route.body)}`;
    test(`${label}: refused with 401 in the API's format, the backend never asked`, async () => {
      reached.length = 0;
      seen.length = 0;
      const { status, text } = await send(route, true);
      assert.equal(status, 401, text);
      assert.equal(route.message(JSON.parse(text) as Record<string, unknown>), 'Sign in first');
      assert.deepEqual(reached, [], 'nothing reached the backend, not even a model lookup');
      assert.equal(seen.at(-1)?.operation, route.operation);
    });

    test(`${label}: admitted, it is served`, async () => {
      const { status, text } = await send(route, false);
      assert.equal(status, 200, text);
    });
  }

  test('an unknown model is refused as unauthenticated, not listed in a 404', async () => {
    const { status, text } = await send({ ...ROUTES[0]!, body: { ...chat, model: 'no-such-model' } }, true);
    assert.equal(status, 401);
    assert.doesNotMatch(text, /scripted-model|embedder/, 'no model names leak to a refused caller');
  });

  test('embedding inputs reach middleware as user messages (so a filter can see them)', async () => {
    const inputs: string[] = [];
    const watcher = defineMiddleware({
      metadata: { name: 'watcher', version: '1.0.0' },
      processRequest: (context) => {
        if (context.operation === 'embeddings') inputs.push(...context.messages.map((message) => message.content));
        return context;
      },
    });
    await server.manager.register(watcher);
    try {
      await send(ROUTES[2]!, false);
      assert.deepEqual(inputs, ['a secret']);
    } finally {
      await server.manager.unloadPlugin('watcher');
    }
  });
});
