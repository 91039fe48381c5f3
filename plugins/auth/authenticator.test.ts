/**
 * The decision the middleware makes for each request: who is asking (API key from the
 * Authorization or x-api-key header, from config, the environment or the keys file), whether
 * the key is usable (revoked, expired), whether it has the scope and the model, and what the
 * context carries afterwards (the principal, no credential headers). Also: the keys file is
 * re-read when it changes, and a key source that cannot be read stops the plugin from starting.
 */
import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { isPlugboardError } from '../../src/index.ts';
import { Authenticator } from './authenticator.ts';
import { authConfigSchema } from './config.ts';
import { createKey, type KeyRecord, revokeKey } from './key-file.ts';
import { generateKey, hashKey } from './key-hash.ts';
import { admit, authConfig, bearer, outcomeOf, request, silent, tempFolder } from './testing/fixtures.ts';

const CHAT_KEY = generateKey();
const LIMITED_KEY = generateKey();
const OLD_KEY = generateKey();
const OFF_KEY = generateKey();

const KEYS = [
  { id: 'chatter', hash: hashKey(CHAT_KEY), scopes: ['chat', 'models'] },
  { id: 'limited', hash: hashKey(LIMITED_KEY), scopes: ['chat', 'embeddings', 'models'], models: ['llama*'] },
  { id: 'old', hash: hashKey(OLD_KEY), scopes: ['chat'], expires_at: '2020-01-01T00:00:00Z' },
  { id: 'off', hash: hashKey(OFF_KEY), scopes: ['chat'], disabled: true },
];

let auth: Authenticator;
before(async () => {
  auth = await Authenticator.create(authConfig({ keys: KEYS }), {});
});

describe('who is asking', () => {
  test('a valid key: the principal names the key and its scopes; the credential headers are gone', async () => {
    const admitted = outcomeOf(await admit(auth, request({ headers: { ...bearer(CHAT_KEY), 'x-api-key': 'other' } })));
    assert.ok(!('code' in admitted), JSON.stringify(admitted));
    assert.deepEqual(admitted.principal, { id: 'chatter', roles: ['chat', 'models'], attributes: { auth: 'api_key' } });
    assert.deepEqual(admitted.client?.headers, { 'content-type': 'application/json' });
    assert.equal(admitted.client?.address, '127.0.0.1');
  });

  test('x-api-key works too, and the header name is configurable', async () => {
    const byHeader = outcomeOf(await admit(auth, request({ headers: { 'x-api-key': CHAT_KEY } })));
    assert.equal('principal' in byHeader && byHeader.principal?.id, 'chatter');
    const custom = await Authenticator.create(authConfig({ keys: KEYS, header: 'Api-Key' }), {});
    const byCustom = outcomeOf(await admit(custom, request({ headers: { 'api-key': CHAT_KEY } })));
    assert.equal('principal' in byCustom && byCustom.principal?.id, 'chatter');
    const notThatOne = outcomeOf(await admit(custom, request({ headers: { 'x-api-key': CHAT_KEY } })));
    assert.equal('code' in notThatOne && notThatOne.code, 'auth/UNAUTHENTICATED');
  });

  test('strip_credentials: false leaves the headers to later plugins', async () => {
    const keeping = await Authenticator.create(authConfig({ keys: KEYS, strip_credentials: false }), {});
    const admitted = outcomeOf(await admit(keeping, request({ headers: bearer(CHAT_KEY) })));
    assert.equal('client' in admitted && admitted.client?.headers?.authorization, `Bearer ${CHAT_KEY}`);
  });

  test('no credential, another scheme, a wrong, revoked or expired key: 401, the key never echoed', async () => {
    const cases: [Record<string, string>, string, RegExp][] = [
      [{}, 'auth/UNAUTHENTICATED', /^Missing credentials/],
      [
        { authorization: `Basic ${Buffer.from(`u:${CHAT_KEY}`).toString('base64')}` },
        'auth/UNAUTHENTICATED',
        /must be "Bearer/,
      ],
      [{ authorization: 'Bearer' }, 'auth/UNAUTHENTICATED', /must be "Bearer/],
      [bearer(`${CHAT_KEY}x`), 'auth/UNAUTHENTICATED', /^Invalid API key$/],
      [bearer(hashKey(CHAT_KEY)), 'auth/UNAUTHENTICATED', /^Invalid API key$/],
      [bearer(OFF_KEY), 'auth/UNAUTHENTICATED', /revoked/],
      [bearer(OLD_KEY), 'auth/EXPIRED', /expired/],
    ];
    for (const [headers, code, message] of cases) {
      const refused = outcomeOf(await admit(auth, request({ headers })));
      assert.ok('code' in refused, JSON.stringify(headers));
      assert.equal(refused.code, code);
      assert.equal(refused.status, 401);
      assert.match(refused.message, message);
      for (const key of [CHAT_KEY, OFF_KEY, OLD_KEY]) assert.ok(!refused.message.includes(key));
    }
  });

  test('anonymous: no credential passes without a principal; a wrong one is still refused', async () => {
    const open = await Authenticator.create(authConfig({ keys: KEYS, anonymous: true }), {});
    const passed = outcomeOf(await admit(open, request()));
    assert.ok(!('code' in passed));
    assert.equal(passed.principal, undefined);
    const wrong = outcomeOf(await admit(open, request({ headers: bearer('pb_wrong') })));
    assert.equal('code' in wrong && wrong.code, 'auth/UNAUTHENTICATED');
  });
});

describe('what it may do', () => {
  test('a missing scope is 403 naming the scope', async () => {
    const refused = outcomeOf(
      await admit(auth, request({ operation: 'embeddings', model: 'e', headers: bearer(CHAT_KEY) })),
    );
    assert.deepEqual('code' in refused && [refused.code, refused.status], ['auth/FORBIDDEN', 403]);
    assert.match('message' in refused ? refused.message : '', /lacks the "embeddings" scope/);
  });

  test('every operation asks for its scope: a chat+models key may list, show and load, not embed', async () => {
    const allowed = [
      request({ operation: 'chat', headers: bearer(CHAT_KEY) }),
      request({ operation: 'generate', headers: bearer(CHAT_KEY) }),
      request({ operation: 'models.list', headers: bearer(CHAT_KEY) }),
      request({ operation: 'models.show', model: 'x', headers: bearer(CHAT_KEY) }),
      request({ operation: 'chat', messages: [], model: 'x', headers: bearer(CHAT_KEY) }),
    ];
    for (const context of allowed) assert.ok(!('decision' in (await admit(auth, context))), context.operation);
  });

  test('a model outside the allow-list is 403 without listing the allowed ones; the list itself is allowed', async () => {
    const ok = outcomeOf(await admit(auth, request({ model: 'llama3.2', headers: bearer(LIMITED_KEY) })));
    assert.equal('principal' in ok && ok.principal?.id, 'limited');
    for (const context of [
      request({ model: 'mistral', headers: bearer(LIMITED_KEY) }),
      request({ operation: 'embeddings', model: 'nomic-embed', headers: bearer(LIMITED_KEY) }),
      request({ operation: 'models.show', model: 'mistral', headers: bearer(LIMITED_KEY) }),
    ]) {
      const refused = outcomeOf(await admit(auth, context));
      assert.ok('code' in refused);
      assert.equal(refused.status, 403);
      assert.match(refused.message, /not allowed to use the model "(mistral|nomic-embed)"/);
      assert.doesNotMatch(refused.message, /llama/);
    }
    const unnamed = outcomeOf(await admit(auth, request({ headers: bearer(LIMITED_KEY) })));
    assert.match('message' in unnamed ? unnamed.message : '', /name the model/);
    const listing = await admit(auth, request({ operation: 'models.list', headers: bearer(LIMITED_KEY) }));
    assert.ok(!('decision' in listing));
  });
});

describe('key sources', () => {
  test('key_env: the plaintext key comes from the environment and is hashed at load', async () => {
    const key = generateKey();
    const fromEnv = await Authenticator.create(
      authConfig({ keys: [{ id: 'ops', key_env: 'OPS_KEY', scopes: ['chat'] }] }),
      { OPS_KEY: key },
    );
    const admitted = outcomeOf(await admit(fromEnv, request({ headers: bearer(key) })));
    assert.equal('principal' in admitted && admitted.principal?.id, 'ops');
    await assert.rejects(
      Authenticator.create(authConfig({ keys: [{ id: 'ops', key_env: 'OPS_KEY', scopes: ['chat'] }] }), {}),
      (error) =>
        isPlugboardError(error, 'auth/KEYS_INVALID') && /environment variable OPS_KEY is not set/.test(error.message),
    );
  });

  test('a plaintext key in config is refused by the schema, and so is a config without any source', () => {
    const plain = authConfigSchema.safeParse({ keys: [{ id: 'a', key: 'pb_secret', scopes: ['chat'] }] });
    assert.equal(plain.success, false);
    assert.match(JSON.stringify(plain.error?.issues), /plaintext key is not accepted in config: use key_env/);
    assert.doesNotMatch(JSON.stringify(plain.error?.issues), /pb_secret/);
    const none = authConfigSchema.safeParse({});
    assert.match(JSON.stringify(none.error?.issues), /at least one credential source/);
    const both = authConfigSchema.safeParse({
      keys: [{ id: 'a', hash: hashKey('x'), key_env: 'X', scopes: ['chat'] }],
    });
    assert.match(JSON.stringify(both.error?.issues), /exactly one of hash or key_env/);
  });

  test('pepper_env: HMAC-hashed keys work with the pepper; an unset pepper stops the start', async () => {
    const key = generateKey();
    const keys = [{ id: 'p', hash: hashKey(key, 'salt-and-pepper'), scopes: ['chat'] }];
    const peppered = await Authenticator.create(authConfig({ keys, pepper_env: 'PEPPER' }), {
      PEPPER: 'salt-and-pepper',
    });
    assert.ok(!('decision' in (await admit(peppered, request({ headers: bearer(key) })))));
    await assert.rejects(Authenticator.create(authConfig({ keys, pepper_env: 'PEPPER' }), {}), /PEPPER is not set/);
    await assert.rejects(Authenticator.create(authConfig({ keys }), {}), /no pepper_env is configured/);
  });
});

describe('the keys file', () => {
  let folder: Awaited<ReturnType<typeof tempFolder>>;
  before(async () => {
    folder = await tempFolder();
  });
  after(() => folder.cleanup());

  test('missing or broken at start: the plugin does not start, and says which file', async () => {
    await assert.rejects(
      Authenticator.create(authConfig({ keys_file: folder.path('absent.yaml') }), {}),
      (error) =>
        isPlugboardError(error, 'auth/KEYS_INVALID') &&
        /absent\.yaml: cannot read the keys file \(no such file\)/.test(error.message),
    );
    await writeFile(folder.path('broken.yaml'), 'keys: [');
    await assert.rejects(
      Authenticator.create(authConfig({ keys_file: folder.path('broken.yaml') }), {}),
      /broken\.yaml: not valid YAML/,
    );
    const clash = folder.path('clash.yaml');
    await writeFile(clash, stringify({ keys: [{ id: 'chatter', hash: hashKey('x'), scopes: ['chat'] }] }));
    await assert.rejects(
      Authenticator.create(authConfig({ keys: KEYS, keys_file: clash }), {}),
      /"chatter" is defined twice \(config, .*clash\.yaml\)/,
    );
  });

  test('re-read when it changes: a new key works, a revoked one stops working', async () => {
    const path = folder.path('live.yaml');
    const first = await createKey(path, { id: 'first', scopes: ['chat'] });
    const live = await Authenticator.create(authConfig({ keys_file: path, keys_file_check_ms: 0 }), {});
    const id = async (key: string) => {
      const admitted = outcomeOf(await admit(live, request({ headers: bearer(key) })));
      return 'code' in admitted ? admitted.message : admitted.principal?.id;
    };
    assert.equal(await id(first.key), 'first');
    const second = await createKey(path, { id: 'second', scopes: ['chat'] });
    await revokeKey(path, 'first');
    assert.equal(await id(second.key), 'second');
    assert.equal(await id(first.key), 'This API key has been revoked');
    assert.deepEqual(live.health(), { status: 'healthy', details: { keys: 2, keys_file: path, anonymous: false } });
  });

  test('edited in place, renamed over, or broken: last good keys stay, health says why until fixed', async () => {
    const path = folder.path('edit.json');
    const keyA = generateKey();
    const keyB = generateKey();
    const record = (id: string, key: string): KeyRecord => ({ id, hash: hashKey(key), scopes: ['chat'] });
    await writeFile(path, JSON.stringify({ keys: [record('a', keyA)] }));
    const live = await Authenticator.create(authConfig({ keys_file: path, keys_file_check_ms: 0 }), {});
    const works = async (key: string) => !('decision' in (await admit(live, request({ headers: bearer(key) }))));
    assert.deepEqual([await works(keyA), await works(keyB)], [true, false]);

    await writeFile(path, JSON.stringify({ keys: [record('b', keyB)] })); // in place
    assert.deepEqual([await works(keyA), await works(keyB)], [false, true]);

    await writeFile(path, '{"keys": [');
    assert.deepEqual([await works(keyA), await works(keyB)], [false, true], 'the last good keys stay in force');
    const health = live.health();
    assert.equal(health.status, 'degraded');
    assert.match(health.message ?? '', /edit\.json: not valid JSON.*keys read before stay in force/);

    await writeFile(folder.path('next.json'), JSON.stringify({ keys: [record('a', keyA)] }));
    await rename(folder.path('next.json'), path); // as editors and `plugboard keys` save
    assert.deepEqual([await works(keyA), await works(keyB)], [true, false]);
    assert.equal(live.health().status, 'healthy');
  });

  test('checked at most once per keys_file_check_ms', async () => {
    const path = folder.path('slow.yaml');
    const first = await createKey(path, { id: 'first', scopes: ['chat'] });
    const slow = await Authenticator.create(authConfig({ keys_file: path, keys_file_check_ms: 60_000 }), {});
    await revokeKey(path, 'first');
    const result = slow.admit(request({ headers: bearer(first.key) }), silent);
    assert.ok(!(result instanceof Promise), 'no check within the interval: answered synchronously');
    assert.ok(!('decision' in result), 'the revoke is not seen before the next check');
  });
});
