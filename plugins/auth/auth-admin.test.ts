/**
 * With the auth plugin on, the admin API admits a credential with the `admin` scope (operation
 * `admin` passes request middleware like every other request); a key without it gets auth's 403,
 * no key auth's 401. The admin token, when the server has one, still works on its own. Without
 * either, the admin API refuses every request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import createAuthPlugin from './auth.plugin.ts';
import { generateKey, hashKey } from './key-hash.ts';

const ADMIN_KEY = generateKey();
const CHAT_KEY = generateKey();
const TOKEN = 'an-admin-token-of-32-characters!';
const RESET = '/admin/plugins/scripted/breaker/reset';

const authConfig = {
  keys: [
    { id: 'ops', hash: hashKey(ADMIN_KEY), scopes: ['admin'] },
    { id: 'app', hash: hashKey(CHAT_KEY), scopes: ['chat', 'models'] },
  ],
};

async function post(server: TestServer, path: string, key?: string) {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
  });
  const body = (await response.json()) as { error?: { code: string; message: string } };
  return { status: response.status, body, challenge: response.headers.get('www-authenticate') };
}

describe('admin API behind the auth plugin, no admin token', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer([createScriptedBackend(), [createAuthPlugin, { config: authConfig }]]);
  });
  after(() => server.close());

  test('a key with the admin scope is admitted', async () => {
    const answer = await post(server, RESET, ADMIN_KEY);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  });

  test('a key without it gets 403 naming the scope; no key 401 with the challenge', async () => {
    const forbidden = await post(server, RESET, CHAT_KEY);
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.error?.code, 'auth/FORBIDDEN');
    assert.match(forbidden.body.error?.message ?? '', /"admin" scope/);
    const anonymous = await post(server, RESET);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error?.code, 'auth/UNAUTHENTICATED');
    assert.equal(anonymous.challenge, 'Bearer realm="plugboard"');
  });

  test('the admin scope opens the admin API only: the same key cannot chat', async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(response.status, 403, await response.text());
  });
});

describe('admin API with an admin token and the auth plugin', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer([createScriptedBackend(), [createAuthPlugin, { config: authConfig }]], {
      settings: { adminToken: TOKEN },
    });
  });
  after(() => server.close());

  test('the token and an admin-scoped key both work; a chat key does not', async () => {
    assert.equal((await post(server, RESET, TOKEN)).status, 200);
    assert.equal((await post(server, RESET, ADMIN_KEY)).status, 200);
    assert.equal((await post(server, RESET, CHAT_KEY)).status, 403);
  });
});

describe('admin API with neither an admin token nor an authentication plugin', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer([createScriptedBackend()]);
  });
  after(() => server.close());

  test('every request is refused, saying what would admit it', async () => {
    for (const key of [undefined, ADMIN_KEY]) {
      const answer = await post(server, RESET, key);
      assert.equal(answer.status, 401);
      assert.match(
        answer.body.error?.message ?? '',
        /admin token \(server\.admin_token\) or a credential with the admin scope/,
      );
    }
  });
});
