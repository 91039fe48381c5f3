/**
 * Admin API authentication: every `/admin` route needs `Authorization: Bearer <token>`;
 * missing, wrong (of any length) or non-Bearer credentials answer 401 with
 * `WWW-Authenticate: Bearer`, in Plugboard's error format, and the refusal is logged without
 * the token. Without a configured token (and no authentication plugin admitting the caller)
 * every admin request is refused with 401. The token
 * check itself (bearerCheck) is exercised directly too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bearerCheck } from '../../src/server/admin/bearer-auth.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';
import { CapturingLogger } from './admin-support.ts';

const TOKEN = 'correct-horse-battery-staple-42';

describe('admin API authentication', () => {
  let server: TestServer;
  const logger = new CapturingLogger();

  before(async () => {
    server = await startTestServer([createScriptedBackend()], { settings: { adminToken: TOKEN }, logger });
  });
  after(() => server.close());

  const post = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers });

  async function assertUnauthorized(response: Response, invalidToken: boolean): Promise<void> {
    assert.equal(response.status, 401);
    const challenge = response.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^Bearer realm="plugboard-admin"/);
    assert.equal(challenge.includes('error="invalid_token"'), invalidToken);
    const body = (await response.json()) as { error: { code: string; message: string; request_id: string } };
    assert.equal(body.error.code, 'UNAUTHORIZED');
    assert.equal(body.error.request_id, response.headers.get('x-request-id'));
  }

  test('no Authorization header → 401 with WWW-Authenticate: Bearer; nothing happens', async () => {
    await assertUnauthorized(await post('/admin/plugins/scripted/disable'), false);
    assert.equal(server.manager.getPluginStatus().plugins.scripted?.state, 'ACTIVE');
    await assertUnauthorized(await fetch(`${server.url}/admin/config`), false);
  });

  test('a wrong token of the same length → 401', async () => {
    const wrong = `${TOKEN.slice(0, -1)}X`;
    assert.equal(wrong.length, TOKEN.length);
    await assertUnauthorized(await post('/admin/plugins/scripted/disable', { authorization: `Bearer ${wrong}` }), true);
    assert.equal(server.manager.getPluginStatus().plugins.scripted?.state, 'ACTIVE');
  });

  test('tokens of other lengths (a prefix, a longer one, empty) → 401', async () => {
    for (const wrong of [TOKEN.slice(0, 8), `${TOKEN}${TOKEN}`, `${TOKEN}x`]) {
      await assertUnauthorized(
        await post('/admin/plugins/scripted/disable', { authorization: `Bearer ${wrong}` }),
        true,
      );
    }
    await assertUnauthorized(await post('/admin/plugins/scripted/disable', { authorization: 'Bearer ' }), true);
    assert.equal(server.manager.getPluginStatus().plugins.scripted?.state, 'ACTIVE');
  });

  test('the right token with another scheme (Basic, or bare) → 401', async () => {
    for (const header of [`Basic ${TOKEN}`, TOKEN, `Token ${TOKEN}`]) {
      await assertUnauthorized(await post('/admin/plugins/scripted/disable', { authorization: header }), true);
    }
  });

  test('refusals are logged without the token', async () => {
    const mark = logger.lines.length;
    const wrong = 'an-entirely-wrong-token-value';
    await assertUnauthorized(await post('/admin/reload', { authorization: `Bearer ${wrong}` }), true);
    const line = logger.lines.slice(mark).find((entry) => entry.operation === 'admin_auth');
    assert.ok(line, 'an admin_auth line was logged');
    assert.equal(line.outcome, 'denied');
    assert.equal(line.path, '/admin/reload');
    assert.equal(typeof line.request_id, 'string');
    assert.ok(!JSON.stringify(logger.lines).includes(wrong), 'the token sent is never logged');
    assert.ok(!JSON.stringify(logger.lines).includes(TOKEN), 'the admin token is never logged');
  });

  test('the right token passes (scheme case-insensitive)', async () => {
    for (const scheme of ['Bearer', 'bearer']) {
      const response = await post('/admin/plugins/scripted/breaker/reset', { authorization: `${scheme} ${TOKEN}` });
      assert.equal(response.status, 200, await response.text());
    }
  });
});

describe('admin API without a configured token', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer([createScriptedBackend()]);
  });
  after(() => server.close());

  test('every admin request is refused: 401 saying what would admit it, with or without a token', async () => {
    for (const [method, path] of [
      ['GET', '/admin/config'],
      ['POST', '/admin/reload'],
      ['POST', '/admin/plugins/scripted/disable'],
      ['POST', '/admin/plugins/scripted/breaker/reset'],
    ] as const) {
      for (const headers of [{}, { authorization: `Bearer ${TOKEN}` }] as Record<string, string>[]) {
        const response = await fetch(`${server.url}${path}`, { method, headers });
        assert.equal(response.status, 401, `${method} ${path}`);
        assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="plugboard-admin"');
        const body = (await response.json()) as { error: { code: string; message: string } };
        assert.equal(body.error.code, 'UNAUTHORIZED');
        assert.match(
          body.error.message,
          /needs an admin token \(server\.admin_token\) or a credential with the admin scope/,
        );
      }
    }
    assert.equal(server.manager.getPluginStatus().plugins.scripted?.state, 'ACTIVE');
  });
});

describe('bearerCheck', () => {
  const check = bearerCheck(TOKEN);

  test('accepts exactly the token, after "Bearer" in any case, with surrounding blanks', () => {
    assert.equal(check(`Bearer ${TOKEN}`), 'ok');
    assert.equal(check(`BEARER ${TOKEN}`), 'ok');
    assert.equal(check(`Bearer \t${TOKEN} `), 'ok');
  });

  test('tells a missing header from a wrong one', () => {
    assert.equal(check(undefined), 'missing');
    assert.equal(check(''), 'missing');
    assert.equal(check('   '), 'missing');
    assert.equal(check(`Bearer ${TOKEN.toUpperCase()}`), 'invalid');
    assert.equal(check(`Bearer ${TOKEN} extra`), 'invalid');
    assert.equal(check(`Bearer${TOKEN}`), 'invalid');
    assert.equal(check(TOKEN), 'invalid', 'the bare token is not a Bearer credential');
    assert.equal(check('Bearer'), 'invalid');
  });
});
