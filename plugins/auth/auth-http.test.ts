/**
 * The auth plugin in the real HTTP server, through the official clients: with `openai`, a good
 * key chats and lists models, a wrong key or none is `AuthenticationError` (401), a key without
 * the embeddings scope is `PermissionDeniedError` (403); with `ollama`, Bearer in `headers`
 * works and a wrong key is refused. Every client-facing route (the list of
 * test/server/middleware-coverage.test.ts) refuses a request without a key, in its API's error
 * format, before the backend is asked anything; the health, metrics and status routes stay
 * open. A later middleware sees the principal and no credential. A JWKS URL that cannot be
 * reached refuses JWT requests with 503 (fail-closed), never lets them through.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { defineMiddleware, type Principal } from '../../src/index.ts';
import { closedPort } from '../../test/support/closed-port.ts';
import { countedBackend } from '../../test/support/counted-backend.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import createAuthPlugin from './auth.plugin.ts';
import { generateKey, hashKey } from './key-hash.ts';
import { tokenIssuer } from './testing/fixtures.ts';

const FULL_KEY = generateKey();
const CHAT_KEY = generateKey();

/** The scripted backend, counting every call that reaches it. */
const { backend, reached } = countedBackend(['scripted-model', 'embedder']);

/** What a middleware after auth sees. */
const seen: { principal: Principal | undefined; headers: Readonly<Record<string, string>> | undefined }[] = [];
const recorder = defineMiddleware({
  metadata: { name: 'recorder', version: '1.0.0', priority: 'LOW' },
  processRequest: (context) => {
    seen.push({ principal: context.principal, headers: context.client?.headers });
    return context;
  },
});

const authConfig = {
  keys: [
    { id: 'full', hash: hashKey(FULL_KEY), scopes: ['chat', 'embeddings', 'models'] },
    { id: 'chat-only', hash: hashKey(CHAT_KEY), scopes: ['chat', 'models'] },
  ],
};

let server: TestServer;
before(async () => {
  server = await startTestServer([backend, [createAuthPlugin, { config: authConfig }], recorder]);
});
after(() => server.close());

const openai = (apiKey: string, extra: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}) =>
  new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0, ...extra });

describe('the official openai client', () => {
  test('a good key chats and lists models; the principal reaches the next middleware, the key does not', async () => {
    seen.length = 0;
    const completion = await openai(FULL_KEY).chat.completions.create({
      model: 'scripted-model',
      messages: [{ role: 'user', content: 'hello' }],
    });
    assert.equal(completion.choices[0]?.message.content, 'You said: hello');
    const models = await openai(FULL_KEY).models.list();
    assert.ok(models.data.some((model) => model.id.endsWith('scripted-model')));
    assert.deepEqual(seen[0]?.principal, {
      id: 'full',
      roles: ['chat', 'embeddings', 'models'],
      attributes: { auth: 'api_key' },
    });
    assert.equal(seen[0]?.headers?.authorization, undefined, 'the credential is not passed on');
    assert.equal(seen.length, 2);
  });

  test('a wrong key and no key: AuthenticationError (401) in OpenAI’s format', async () => {
    for (const client of [openai('pb_wrong'), openai('unused', { defaultHeaders: { Authorization: null } })]) {
      await assert.rejects(
        client.chat.completions.create({ model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }] }),
        (error) => {
          assert.ok(error instanceof OpenAI.AuthenticationError, String(error));
          assert.equal(error.status, 401);
          assert.equal(error.code, 'auth/unauthenticated');
          assert.equal(error.type, 'authentication_error');
          return true;
        },
      );
    }
  });

  test('a key without the embeddings scope: PermissionDeniedError (403) naming the scope', async () => {
    reached.length = 0;
    await assert.rejects(openai(CHAT_KEY).embeddings.create({ model: 'embedder', input: 'text' }), (error) => {
      assert.ok(error instanceof OpenAI.PermissionDeniedError, String(error));
      assert.equal(error.status, 403);
      assert.match(error.message, /lacks the "embeddings" scope/);
      return true;
    });
    assert.deepEqual(reached, []);
    const embedded = await openai(FULL_KEY).embeddings.create({ model: 'embedder', input: 'text' });
    assert.equal(embedded.data.length, 1);
  });
});

describe('the official ollama client', () => {
  test('Bearer in headers chats; a wrong key is refused with 401', async () => {
    const good = new Ollama({ host: server.url, headers: { Authorization: `Bearer ${FULL_KEY}` } });
    const reply = await good.chat({ model: 'scripted-model', messages: [{ role: 'user', content: 'hey' }] });
    assert.equal(reply.message.content, 'You said: hey');
    const bad = new Ollama({ host: server.url, headers: { Authorization: `Bearer ${generateKey()}` } });
    await assert.rejects(bad.chat({ model: 'scripted-model', messages: [{ role: 'user', content: 'hey' }] }), {
      name: 'ResponseError',
      status_code: 401,
      error: 'Invalid API key',
    });
  });

  test('x-api-key works for clients that cannot send Authorization', async () => {
    const viaHeader = new Ollama({ host: server.url, headers: { 'x-api-key': FULL_KEY } });
    const listed = await viaHeader.list();
    assert.ok(listed.models.length > 0);
  });
});

interface Route {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: unknown;
  readonly api: 'openai' | 'ollama';
}
const chat = { model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }] };
/** Every client-facing route of src/server (as in test/server/middleware-coverage.test.ts). */
const ROUTES: readonly Route[] = [
  { method: 'POST', path: '/v1/chat/completions', body: chat, api: 'openai' },
  { method: 'POST', path: '/v1/chat/completions', body: { ...chat, stream: true }, api: 'openai' },
  { method: 'POST', path: '/v1/embeddings', body: { model: 'embedder', input: ['a'] }, api: 'openai' },
  { method: 'GET', path: '/v1/models', api: 'openai' },
  { method: 'GET', path: '/v1/models/scripted/embedder', api: 'openai' },
  { method: 'POST', path: '/api/chat', body: { ...chat, stream: false }, api: 'ollama' },
  { method: 'POST', path: '/api/chat', body: chat, api: 'ollama' },
  { method: 'POST', path: '/api/chat', body: { model: 'scripted-model' }, api: 'ollama' },
  {
    method: 'POST',
    path: '/api/generate',
    body: { model: 'scripted-model', prompt: 'hi', stream: false },
    api: 'ollama',
  },
  { method: 'POST', path: '/api/generate', body: { model: 'scripted-model' }, api: 'ollama' },
  { method: 'POST', path: '/api/embed', body: { model: 'embedder', input: ['a', 'b'] }, api: 'ollama' },
  { method: 'POST', path: '/api/embeddings', body: { model: 'embedder', prompt: 'a' }, api: 'ollama' },
  { method: 'GET', path: '/api/tags', api: 'ollama' },
  { method: 'POST', path: '/api/show', body: { model: 'embedder' }, api: 'ollama' },
  { method: 'GET', path: '/api/ps', api: 'ollama' },
];

async function send(route: Route, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}${route.path}`, {
    method: route.method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(route.body === undefined ? {} : { body: JSON.stringify(route.body) }),
  });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

describe('every client-facing route', () => {
  for (const route of ROUTES) {
    const label = `${route.method} ${route.path} ${route.body === undefined ? '' : JSON.stringify(route.body)}`;
    test(`${label}: refused without a key (401, the API's format), allowed with one`, async () => {
      reached.length = 0;
      const refused = await send(route);
      assert.equal(refused.status, 401, refused.text);
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="plugboard"');
      const body = JSON.parse(refused.text) as { error: unknown; code?: unknown };
      if (route.api === 'openai') {
        const error = body.error as { message: string; type: string; code: string };
        assert.deepEqual([error.type, error.code], ['authentication_error', 'auth/unauthenticated']);
        assert.match(error.message, /^Missing credentials/);
      } else {
        assert.match(String(body.error), /^Missing credentials/);
        assert.equal(body.code, 'auth/UNAUTHENTICATED');
      }
      assert.deepEqual(reached, [], 'the backend was not asked anything');
      const admitted = await send(route, { authorization: `Bearer ${FULL_KEY}` });
      assert.equal(admitted.status, 200, admitted.text);
      assert.equal(admitted.headers.get('www-authenticate'), null);
    });
  }
});

test('health, metrics, status and the Ollama root stay open', async () => {
  for (const path of [
    '/health',
    '/health/live',
    '/health/ready',
    '/metrics',
    '/plugins',
    '/plugins/metrics',
    '/plugins/errors',
    '/',
    '/api/version',
  ]) {
    const response = await fetch(`${server.url}${path}`);
    assert.equal(response.status, 200, path);
    await response.arrayBuffer();
  }
  const errors = (await (await fetch(`${server.url}/plugins/errors`)).json()) as { errors: { code: string }[] };
  const codes = errors.errors.map((entry) => entry.code).filter((code) => code.startsWith('auth/'));
  assert.deepEqual(codes.sort(), ['auth/EXPIRED', 'auth/FORBIDDEN', 'auth/KEYS_INVALID', 'auth/UNAUTHENTICATED']);
});

test('a JWKS URL that cannot be reached: JWT requests get 503 (fail-closed), API keys still work', async () => {
  const issuer = await tokenIssuer();
  const jwt = {
    issuer: 'https://idp.test',
    audience: 'plugboard',
    jwks_url: `http://127.0.0.1:${await closedPort()}/jwks.json`,
    jwks_timeout_ms: 1000,
  };
  const local = await startTestServer([backend, [createAuthPlugin, { config: { ...authConfig, jwt } }]]);
  try {
    const token = await issuer.sign({ sub: 'alice', scope: 'chat' });
    const response = await fetch(`${local.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(chat),
    });
    const body = (await response.json()) as { error: { code: string; plugin: string } };
    assert.equal(response.status, 503);
    assert.deepEqual([body.error.code, body.error.plugin], ['plugin_failed_closed', 'auth']);
    const byKey = await fetch(`${local.url}/v1/models`, { headers: { authorization: `Bearer ${FULL_KEY}` } });
    assert.equal(byKey.status, 200);
  } finally {
    await local.close();
  }
});
