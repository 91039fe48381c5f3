/**
 * `plugboard keys create|list|revoke`, run as the real CLI (`node bin/plugboard.mjs`, from the
 * sources): a created key is printed once on stdout and works with the plugin reading the same
 * file; list never shows hashes; a revoked key stops working; wrong usage exits 2 and an
 * unusable file exits 1, each saying why.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Authenticator } from './authenticator.ts';
import { admit, authConfig, bearer, outcomeOf, request, tempFolder } from './testing/fixtures.ts';

const BIN = fileURLToPath(new URL('../../bin/plugboard.mjs', import.meta.url));
const run = promisify(execFile);

async function plugboard(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, 'keys', ...args], {
      env: { ...process.env, PLUGBOARD_FROM_SOURCE: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('plugboard keys', () => {
  let folder: Awaited<ReturnType<typeof tempFolder>>;
  before(async () => {
    folder = await tempFolder();
  });
  after(() => folder.cleanup());

  test('create prints the key once; the plugin accepts it; list shows no hash; revoke stops it', async () => {
    const file = folder.path('keys.yaml');
    const created = await plugboard(
      'create',
      '--file',
      file,
      '--id',
      'ci-bot',
      '--scopes',
      'chat,models',
      '--models',
      'llama*',
    );
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    assert.match(key, /^pb_[A-Za-z0-9_-]{43}$/, 'only the key on stdout');
    assert.match(created.stderr, /only time the key is shown/);
    assert.ok(!(await readFile(file, 'utf8')).includes(key));

    const auth = await Authenticator.create(authConfig({ keys_file: file, keys_file_check_ms: 0 }), {});
    const admitted = outcomeOf(await admit(auth, request({ model: 'llama3.2', headers: bearer(key) })));
    assert.deepEqual('principal' in admitted && admitted.principal?.roles, ['chat', 'models']);

    const listed = await plugboard('list', '--file', file);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(
      listed.stdout,
      /^ID\s+SCOPES\s+MODELS\s+CREATED\s+EXPIRES\s+STATUS\nci-bot\s+chat,models\s+llama\*\s+\d{4}-\S+\s+-\s+active$/m,
    );
    assert.doesNotMatch(listed.stdout, /sha256|pb_/);

    const revoked = await plugboard('revoke', '--file', file, '--id', 'ci-bot');
    assert.equal(revoked.code, 0, revoked.stderr);
    const refused = outcomeOf(await admit(auth, request({ model: 'llama3.2', headers: bearer(key) })));
    assert.deepEqual('code' in refused && [refused.status, refused.message], [401, 'This API key has been revoked']);

    const json = await plugboard('list', '--file', file, '--json');
    assert.equal((JSON.parse(json.stdout) as { keys: { status: string }[] }).keys[0]?.status, 'disabled');
  });

  test('wrong usage exits 2, an unusable file or a refused key exits 1, each with the reason', async () => {
    const file = folder.path('other.json');
    const [noFile, noScopes, unknown, missing, badScope] = await Promise.all([
      plugboard('list'),
      plugboard('create', '--file', file, '--id', 'x'),
      plugboard('rotate', '--file', file),
      plugboard('list', '--file', folder.path('missing.yaml')),
      plugboard('create', '--file', file, '--id', 'x', '--scopes', 'chat,root'),
    ]);
    assert.deepEqual([noFile.code, noScopes.code, unknown.code, missing.code, badScope.code], [2, 2, 2, 1, 1]);
    assert.match(noFile.stderr, /--file is required/);
    assert.match(noScopes.stderr, /create needs --id and --scopes/);
    assert.match(unknown.stderr, /Unknown action: rotate/);
    assert.match(missing.stderr, /missing\.yaml: cannot read the keys file \(no such file\)/);
    assert.match(badScope.stderr, /scopes\.1: /);
    for (const result of [noFile, noScopes, unknown, missing, badScope]) assert.equal(result.stdout, '');
  });
});
