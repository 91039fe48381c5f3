import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { isPlugboardError } from '../../src/core/errors/plugboard-error.ts';
import { makeRegistry, makeTempDir, removeTempDir } from './support.ts';

const root = makeTempDir();
after(() => removeTempDir(root));

/** A fresh working directory per test, under the temporary root. */
function workDir(name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  return dir;
}

test('data_dir is created on first use, relative to cwd; WAL and synchronous = FULL by default', async () => {
  const cwd = workDir('defaults');
  const { registry } = makeRegistry({ sqlite: { local: { file: 'plugboard.db' } } }, { cwd });
  assert.equal(fs.existsSync(path.join(cwd, 'data')), false, 'nothing is created before first use');
  const db = registry.sqlite('local');
  try {
    assert.ok(db instanceof Database);
    assert.equal(db.name, path.join(fs.realpathSync(cwd), 'data', 'plugboard.db'));
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('synchronous', { simple: true }), 2); // FULL
    assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
  } finally {
    await registry.close();
  }
});

test('synchronous: normal is applied', async () => {
  const cwd = workDir('normal');
  const { registry } = makeRegistry({ sqlite: { fast: { file: 'fast.db', synchronous: 'normal' } } }, { cwd });
  try {
    assert.equal(registry.sqlite('fast').pragma('synchronous', { simple: true }), 1); // NORMAL
  } finally {
    await registry.close();
  }
});

test('three consumers share one handle; what one writes, another reads; close() closes it', async () => {
  const cwd = workDir('shared');
  const { registry } = makeRegistry({ data_dir: 'state', sqlite: { local: { file: 'sub/dir/app.db' } } }, { cwd });
  const [a, b, c] = [registry.sqlite('local'), registry.sqlite('local'), registry.sqlite('local')];
  assert.ok(a === b && b === c);
  a.exec('CREATE TABLE notes (body TEXT)');
  b.prepare('INSERT INTO notes VALUES (?)').run('remember me');
  assert.deepEqual(c.prepare('SELECT body FROM notes').all(), [{ body: 'remember me' }]);
  assert.ok(fs.existsSync(path.join(cwd, 'state', 'sub', 'dir', 'app.db')));

  await registry.close();
  assert.equal(a.open, false);
  await registry.close(); // idempotent
  assert.throws(
    () => registry.sqlite('local'),
    (error: unknown) => isPlugboardError(error, 'CONNECTION_FAILED') && /"local" is closed/.test(error.message),
  );
});

test(':memory: needs no data_dir', async () => {
  const cwd = workDir('memory');
  const { registry } = makeRegistry({ sqlite: { scratch: { file: ':memory:' } } }, { cwd });
  try {
    assert.deepEqual(registry.sqlite('scratch').prepare('select 1 as one').get(), { one: 1 });
    assert.equal(fs.existsSync(path.join(cwd, 'data')), false);
  } finally {
    await registry.close();
  }
});

test('a symbolic link cannot take the file outside data_dir', () => {
  const cwd = workDir('links');
  const outside = path.join(cwd, 'outside');
  fs.mkdirSync(outside);
  fs.mkdirSync(path.join(cwd, 'data'));
  fs.symlinkSync(outside, path.join(cwd, 'data', 'escape'));
  fs.symlinkSync(path.join(outside, 'victim.db'), path.join(cwd, 'data', 'dangling.db'));
  fs.writeFileSync(path.join(outside, 'real.db'), '');
  fs.symlinkSync(path.join(outside, 'real.db'), path.join(cwd, 'data', 'linked.db'));
  const { registry } = makeRegistry(
    {
      sqlite: {
        folder: { file: 'escape/evil.db' },
        deeper: { file: 'escape/new/evil.db' },
        dangling: { file: 'dangling.db' },
        linked: { file: 'linked.db' },
      },
    },
    { cwd },
  );
  for (const name of ['folder', 'deeper', 'dangling', 'linked']) {
    assert.throws(
      () => registry.sqlite(name),
      (error: unknown) =>
        isPlugboardError(error, 'CONNECTION_FAILED') &&
        error.message.startsWith(`sqlite connection "${name}"`) &&
        /outside data_dir/.test(error.message),
      name,
    );
  }
  // Nothing was created outside.
  assert.deepEqual(fs.readdirSync(outside), ['real.db']);
});

test('a data_dir that is itself a symbolic link is fine: the file stays inside its target', async () => {
  const cwd = workDir('linked-dir');
  fs.mkdirSync(path.join(cwd, 'volume'));
  fs.symlinkSync(path.join(cwd, 'volume'), path.join(cwd, 'data'));
  const { registry } = makeRegistry({ sqlite: { local: { file: 'app.db' } } }, { cwd });
  try {
    registry.sqlite('local').exec('CREATE TABLE t (x)');
    assert.ok(fs.existsSync(path.join(cwd, 'volume', 'app.db')));
  } finally {
    await registry.close();
  }
});

test('a file that cannot be opened is CONNECTION_FAILED naming the connection and the file', () => {
  const cwd = workDir('broken');
  fs.mkdirSync(path.join(cwd, 'data', 'taken.db'), { recursive: true }); // a folder where the file should be
  const { registry } = makeRegistry({ sqlite: { local: { file: 'taken.db' } } }, { cwd });
  assert.throws(
    () => registry.sqlite('local'),
    (error: unknown) =>
      isPlugboardError(error, 'CONNECTION_FAILED') &&
      error.message.startsWith(`sqlite connection "local" (${path.join(cwd, 'data', 'taken.db')}): cannot open`),
  );
});

test('wrong kind and unknown names', () => {
  const { registry } = makeRegistry({
    redis: { cache: { url: 'redis://127.0.0.1:6379' } },
    sqlite: { local: { file: 'a.db' } },
  });
  assert.throws(
    () => registry.sqlite('cache'),
    (error: unknown) =>
      isPlugboardError(error, 'CONNECTION_UNKNOWN') &&
      error.message === '"cache" is a redis connection, not a sqlite one; sqlite connections: local',
  );
  assert.throws(
    () => registry.sqlite('locl'),
    (error: unknown) =>
      isPlugboardError(error, 'CONNECTION_UNKNOWN') &&
      error.message === 'no sqlite connection named "locl" (did you mean "local"?); sqlite connections: local',
  );
  assert.throws(
    () => registry.postgres('db'),
    (error: unknown) =>
      isPlugboardError(error, 'CONNECTION_UNKNOWN') &&
      error.message ===
        'no postgres connection named "db"; no postgres connection is configured (add one under connections.postgres)',
  );
});
