/**
 * Plugins add HTTP endpoints under /v1/ (`endpoints`): served while the plugin is ACTIVE,
 * through the request middleware as the operation `endpoint` (so authentication covers them),
 * with JSON or raw bodies, JSON or text answers, and the server's error format. A plugin's
 * unexpected exception never reaches the client; its coded 4xx refusal does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type ChatContext,
  defineMiddleware,
  definePlugin,
  type EndpointRequest,
  PlugboardError,
  reject,
} from '../../src/index.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

const notes = new Map<string, string>();
const seen: EndpointRequest[] = [];
const notebook = definePlugin({
  metadata: { name: 'notebook', version: '1.0.0' },
  endpoints: [
    { method: 'GET', path: '/v1/notes', handle: () => ({ body: { data: [...notes.keys()].sort() } }) },
    {
      method: 'GET',
      path: '/v1/notes/:id',
      handle: ({ params }) => {
        const text = notes.get(params.id!);
        if (text === undefined) throw new PlugboardError('STORE_NOT_FOUND', `No note "${params.id}"`);
        return { body: { id: params.id!, text } };
      },
    },
    {
      method: 'GET',
      path: '/v1/notes/:id/export',
      handle: ({ params }) => ({
        text: `# ${params.id}\n\n${notes.get(params.id!)}`,
        contentType: 'text/markdown',
        filename: `${params.id}.md`,
      }),
    },
    {
      method: 'PUT',
      path: '/v1/notes/:id',
      scope: 'documents',
      bodyLimit: 1000,
      handle: (request) => {
        seen.push(request);
        const text =
          request.body instanceof Uint8Array
            ? new TextDecoder().decode(request.body)
            : String((request.body as { text?: unknown } | undefined)?.text ?? '');
        notes.set(request.params.id!, text);
        return {
          status: 201,
          body: { id: request.params.id!, bytes: text.length },
          headers: { 'x-note': 'saved', 'content-length': '1' },
        };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/notes/:id',
      handle: ({ params }) => {
        notes.delete(params.id!);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/v1/notes-crash',
      handle: () => {
        throw new Error('database password is hunter2');
      },
    },
  ],
});

const operations: { operation: string; endpoint: unknown; principal?: string }[] = [];
const gate = defineMiddleware({
  metadata: { name: 'gate', version: '1.0.0' },
  processRequest(context: ChatContext) {
    operations.push({ operation: context.operation, endpoint: context.metadata.endpoint });
    const key = context.client?.headers?.authorization;
    if (key !== 'Bearer letmein') return reject('REQUEST_REJECTED', 'Sign in first', { status: 401 });
    return { ...context, principal: { id: 'alice' } };
  },
});

interface OpenAiError {
  readonly error: { readonly message: string };
}

let server: TestServer;
before(async () => {
  server = await startTestServer([createScriptedBackend(), notebook, gate]);
});
after(() => server.close());

function call(
  method: string,
  path: string,
  init: { body?: string | Uint8Array; type?: string; key?: string | null } = {},
) {
  const headers: Record<string, string> = {};
  if (init.key !== null) headers.authorization = `Bearer ${init.key ?? 'letmein'}`;
  if (init.type) headers['content-type'] = init.type;
  return fetch(`${server.url}${path}`, { method, headers, ...(init.body === undefined ? {} : { body: init.body }) });
}

describe('plugin endpoints', () => {
  test('JSON and raw bodies reach the handler with params, query, principal; the answer comes back', async () => {
    let response = await call('PUT', '/v1/notes/groceries?draft=1&draft=2', {
      body: JSON.stringify({ text: 'eggs' }),
      type: 'application/json',
    });
    assert.equal(response.status, 201, await response.clone().text());
    assert.deepEqual(await response.json(), { id: 'groceries', bytes: 4 });
    assert.equal(response.headers.get('x-note'), 'saved');
    const request = seen.at(-1)!;
    assert.deepEqual(request.query, { draft: '2' });
    assert.equal(request.principal?.id, 'alice');
    assert.equal(request.route, '/v1/notes/:id');
    assert.equal(request.contentType, 'application/json');

    response = await call('PUT', '/v1/notes/todo%20list', {
      body: new TextEncoder().encode('# Todo\n- call'),
      type: 'text/markdown',
    });
    assert.equal(response.status, 201);
    assert.ok(seen.at(-1)!.body instanceof Uint8Array, 'a non-JSON body arrives as bytes');
    assert.equal(seen.at(-1)!.contentType, 'text/markdown');
    assert.equal(seen.at(-1)!.params.id, 'todo list', 'parameters are decoded');

    response = await call('GET', '/v1/notes');
    assert.deepEqual(await response.json(), { data: ['groceries', 'todo list'] });
    response = await call('HEAD', '/v1/notes');
    assert.equal(response.status, 200, 'HEAD is answered like GET, as on the server’s own routes');
    assert.equal(await response.text(), '');
    response = await call('GET', '/v1/notes/todo%20list/export');
    assert.equal(response.headers.get('content-type'), 'text/markdown; charset=utf-8');
    assert.match(response.headers.get('content-disposition') ?? '', /attachment; filename="todo_list.md"/);
    assert.equal(await response.text(), '# todo list\n\n# Todo\n- call');
    response = await call('DELETE', '/v1/notes/groceries');
    assert.equal(response.status, 204);
    assert.equal(notes.has('groceries'), false);
  });

  test('every request passes the middleware as the operation endpoint, naming the endpoint and its scope', async () => {
    operations.length = 0;
    const refused = await call('GET', '/v1/notes', { key: null });
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as OpenAiError).error.message, 'Sign in first');
    await call('PUT', '/v1/notes/x', { body: 'y', type: 'text/plain' });
    assert.deepEqual(operations, [
      { operation: 'endpoint', endpoint: { plugin: 'notebook', method: 'GET', route: '/v1/notes', scope: 'chat' } },
      {
        operation: 'endpoint',
        endpoint: { plugin: 'notebook', method: 'PUT', route: '/v1/notes/:id', scope: 'documents' },
      },
    ]);
  });

  test("errors: a coded refusal's message reaches the client, an exception's text never does", async () => {
    let response = await call('GET', '/v1/notes/missing');
    assert.equal(response.status, 404);
    assert.match(((await response.json()) as OpenAiError).error.message, /No note "missing"/);
    response = await call('POST', '/v1/notes-crash');
    const text = await response.text();
    assert.equal(response.status, 502, 'a failed plugin call, as for any plugin');
    const poisoned = await call('PUT', '/v1/notes/p', { body: '{"__proto__":{"x":1}}', type: 'application/json' });
    assert.equal(poisoned.status, 400);
    assert.match(((await poisoned.json()) as OpenAiError).error.message, /may not contain "__proto__"/);
    assert.doesNotMatch(text, /hunter2/);
  });

  test('unknown paths 404 and wrong methods 405 in OpenAI format; the server reserves its headers; bodyLimit holds', async () => {
    let response = await call('GET', '/v1/nothing-here');
    assert.equal(response.status, 404);
    assert.ok(((await response.json()) as OpenAiError).error, 'OpenAI error format');
    response = await call('POST', '/v1/notes');
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'GET');
    response = await call('GET', '/v1/chat/completions');
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'POST');
    response = await call('PUT', '/v1/notes/big', { body: 'x'.repeat(1001), type: 'text/plain' });
    assert.equal(response.status, 413);
    const saved = await call('PUT', '/v1/notes/small', { body: 'x', type: 'text/plain' });
    assert.notEqual(saved.headers.get('content-length'), '1', 'a plugin cannot set content-length');
  });

  test('a paused plugin takes its endpoints with it: 503 naming it, not a 404', async () => {
    server.manager.pausePlugin('notebook');
    try {
      const response = await call('GET', '/v1/notes');
      assert.equal(response.status, 503);
      assert.match(
        ((await response.json()) as OpenAiError).error.message,
        /plugin "notebook", which is not running \(PAUSED\)/,
      );
    } finally {
      server.manager.resumePlugin('notebook');
    }
    assert.equal((await call('GET', '/v1/notes')).status, 200);
  });
});

describe('conversation ids', () => {
  const heard: (string | undefined)[] = [];
  const listener = definePlugin({
    metadata: { name: 'listener', version: '1.0.0' },
    onRequestStart: ({ context }) => {
      heard.push(context.conversationId);
    },
  });
  let local: TestServer;
  before(async () => {
    local = await startTestServer([createScriptedBackend(), listener]);
  });
  after(() => local.close());

  async function chat(path: string, body: Record<string, unknown>, header?: string): Promise<number> {
    const response = await fetch(`${local.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(header === undefined ? {} : { 'x-conversation-id': header }) },
      body: JSON.stringify({ model: 'scripted-model', stream: false, ...body }),
    });
    await response.text();
    return response.status;
  }

  test('from the header on both APIs, else OpenAI metadata.conversation_id or Ollama conversation_id; invalid ones 400', async () => {
    const messages = [{ role: 'user', content: 'hi' }];
    heard.length = 0;
    assert.equal(await chat('/v1/chat/completions', { messages }, 'c-1'), 200);
    assert.equal(await chat('/v1/chat/completions', { messages, metadata: { conversation_id: 'c-2' } }), 200);
    assert.equal(await chat('/v1/chat/completions', { messages, metadata: { conversation_id: 'c-2' } }, 'c-3'), 200);
    assert.equal(await chat('/api/chat', { messages }, 'c-4'), 200);
    assert.equal(await chat('/api/chat', { messages, conversation_id: 'c-5' }), 200);
    assert.equal(await chat('/api/generate', { prompt: 'hi', conversation_id: 'new' }), 200);
    assert.equal(await chat('/v1/chat/completions', { messages }), 200);
    assert.deepEqual(heard, ['c-1', 'c-2', 'c-3', 'c-4', 'c-5', 'new', undefined]);
    assert.equal(await chat('/v1/chat/completions', { messages }, 'bad id with spaces'), 400);
    assert.equal(await chat('/api/chat', { messages, conversation_id: 'x'.repeat(300) }), 400);
  });
});

describe('the endpoints of a disabled plugin', () => {
  let local: TestServer;
  before(async () => {
    const shelf = definePlugin({
      metadata: { name: 'shelf', version: '1.0.0' },
      endpoints: [{ method: 'GET', path: '/v1/shelf', handle: () => ({ body: {} }) }],
    });
    local = await startTestServer([createScriptedBackend(), [shelf, { enabled: false }]]);
  });
  after(() => local.close());

  test('answer 404 saying which plugin serves them and that it is disabled', async () => {
    const response = await fetch(`${local.url}/v1/shelf`);
    assert.equal(response.status, 404);
    assert.match(((await response.json()) as OpenAiError).error.message, /plugin "shelf", which is disabled/);
  });
});

describe('two plugins, one endpoint', () => {
  const declaring = (name: string, answer: string) =>
    definePlugin({
      metadata: { name, version: '1.0.0' },
      endpoints: [{ method: 'GET', path: '/v1/whoami', handle: () => ({ body: { answer } }) }],
    });
  let local: TestServer;
  before(async () => {
    local = await startTestServer([createScriptedBackend(), declaring('first', 'one'), declaring('second', 'two')]);
  });
  after(() => local.close());

  test('the first in priority order serves it; the other is named in GET /plugins, never silently dropped', async () => {
    const response = await fetch(`${local.url}/v1/whoami`);
    assert.deepEqual(await response.json(), { answer: 'one' });
    const status = (await (await fetch(`${local.url}/plugins`)).json()) as {
      endpointConflicts?: string[];
      plugins: Record<string, { endpoints?: string[] }>;
    };
    assert.deepEqual(status.endpointConflicts, ['second: GET /v1/whoami (answered by "first")']);
    assert.deepEqual(status.plugins.second?.endpoints, ['GET /v1/whoami']);
  });
});
