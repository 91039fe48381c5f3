/**
 * The keys file: JSON and YAML documents, what an invalid one reports (the field, never a
 * hash), and the create / list / revoke operations the CLI runs — atomic writes, owner-only.
 */
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { createKey, KeyFileError, listKeys, parseKeysDocument, readKeysFile, revokeKey } from './key-file.ts';
import { hashKey } from './key-hash.ts';
import { tempFolder } from './testing/fixtures.ts';

const HASH = hashKey('pb_example');

describe('parseKeysDocument', () => {
  test('reads YAML and JSON alike', () => {
    const yaml = `keys:\n  - id: a\n    hash: ${HASH}\n    scopes: [chat]\n    models: ['llama*']\n    expires_at: 2030-01-01\n`;
    const json = JSON.stringify({
      keys: [{ id: 'a', hash: HASH, scopes: ['chat'], models: ['llama*'], expires_at: '2030-01-01' }],
    });
    assert.deepEqual(parseKeysDocument(yaml, 'keys.yaml'), parseKeysDocument(json, 'keys.json'));
    assert.equal(parseKeysDocument(yaml, 'keys.yaml')[0]?.expires_at, '2030-01-01');
    assert.deepEqual(parseKeysDocument('', 'empty.yaml'), []);
  });

  test('a broken document names the file and the field, and never quotes a hash', () => {
    const cases: [string, RegExp][] = [
      ['keys: [', /^k\.yaml: not valid YAML/],
      ['{"keys": [', /^k\.yaml: not valid JSON/],
      [
        `keys:\n  - id: a\n    hash: sha256:abc\n    scopes: [chat]\n`,
        /keys\.0\.hash: expected "sha256:<64 hex digits>"/,
      ],
      [`keys:\n  - id: a\n    hash: ${HASH}\n    scopes: [chat, root]\n`, /keys\.0\.scopes\.1: /],
      [`keys:\n  - id: a\n    hash: ${HASH}\n    scopes: []\n`, /keys\.0\.scopes: give at least one scope/],
      [`keys:\n  - id: a\n    hash: ${HASH}\n    scope: [chat]\n`, /keys\.0(\.scopes)?: /],
      [
        `keys:\n  - id: a\n    hash: ${HASH}\n    scopes: [chat]\n    expires_at: someday\n`,
        /keys\.0\.expires_at: expected an ISO 8601/,
      ],
      [
        `keys:\n  - {id: a, hash: '${HASH}', scopes: [chat]}\n  - {id: a, hash: '${hashKey('x')}', scopes: [chat]}\n`,
        /the key id "a" appears twice/,
      ],
      ['- id: a', /\(top level\)/],
    ];
    for (const [text, expected] of cases) {
      assert.throws(
        () => parseKeysDocument(text, 'k.yaml'),
        (error: Error) => {
          assert.ok(error instanceof KeyFileError);
          assert.match(error.message, expected);
          assert.doesNotMatch(error.message, /[0-9a-f]{64}/, 'no hash in the message');
          return true;
        },
        text,
      );
    }
  });
});

describe('create, list, revoke', () => {
  let folder: Awaited<ReturnType<typeof tempFolder>>;
  before(async () => {
    folder = await tempFolder();
  });
  after(() => folder.cleanup());

  test('create makes the file (owner-only), stores only the hash, and returns the key once', async () => {
    const path = folder.path('keys.yaml');
    const { key, record } = await createKey(path, { id: 'ci-bot', scopes: ['chat', 'models'], models: ['llama*'] });
    assert.match(key, /^pb_/);
    assert.equal(record.hash, hashKey(key));
    const text = await readFile(path, 'utf8');
    assert.ok(!text.includes(key), 'the key itself is not in the file');
    assert.ok(text.includes(record.hash));
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readKeysFile(path), [record]);
  });

  test('a pepper makes an HMAC hash; a taken id or an invalid scope is refused', async () => {
    const path = folder.path('keys.json');
    const { key, record } = await createKey(path, { id: 'a', scopes: ['embeddings'], pepper: 'p' });
    assert.equal(record.hash, hashKey(key, 'p'));
    assert.ok((await readFile(path, 'utf8')).startsWith('{'), 'a .json file is written as JSON');
    await assert.rejects(createKey(path, { id: 'a', scopes: ['chat'] }), /a key with id "a" already exists/);
    // @ts-expect-error: a scope the CLI passed on unchecked
    await assert.rejects(createKey(path, { id: 'b', scopes: ['root'] }), /scopes\.0: /);
  });

  test('list shows status without hashes; revoke disables and keeps the record', async () => {
    const path = folder.path('list.yaml');
    await createKey(path, { id: 'live', scopes: ['chat'] });
    await createKey(path, { id: 'old', scopes: ['chat'], expiresAt: '2020-01-01T00:00:00Z' });
    await createKey(path, { id: 'gone', scopes: ['models'] });
    const revoked = await revokeKey(path, 'gone');
    assert.equal(revoked.disabled, true);
    assert.ok(revoked.revoked_at);
    const keys = await listKeys(path);
    assert.deepEqual(
      keys.map(({ id, status }) => ({ id, status })),
      [
        { id: 'live', status: 'active' },
        { id: 'old', status: 'expired' },
        { id: 'gone', status: 'disabled' },
      ],
    );
    assert.ok(!JSON.stringify(keys).includes('sha256:'), 'no hash listed');
    await assert.rejects(revokeKey(path, 'nobody'), /no key with id "nobody"/);
  });

  test('a missing or unreadable file is an error naming it', async () => {
    await assert.rejects(
      readKeysFile(folder.path('nope.yaml')),
      /nope\.yaml: cannot read the keys file \(no such file\)/,
    );
    const path = folder.path('bad.yaml');
    await writeFile(path, 'keys: nope');
    await assert.rejects(listKeys(path), /bad\.yaml: keys: /);
  });
});
