import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { z } from 'zod';
import { CONNECTION_KINDS, connectionsSchema } from '../../src/connections/schema.ts';

function issues(input: unknown): z.core.$ZodIssue[] {
  const result = connectionsSchema.safeParse(input);
  assert.equal(result.success, false, 'expected the section to be invalid');
  return result.error?.issues ?? [];
}

test('an absent or empty section means no connections, data_dir ./data', () => {
  const expected = { data_dir: './data', redis: {}, postgres: {}, sqlite: {} };
  assert.deepEqual(connectionsSchema.parse(undefined), expected);
  assert.deepEqual(connectionsSchema.parse({}), expected);
  assert.deepEqual(CONNECTION_KINDS, ['redis', 'postgres', 'sqlite']);
});

test('every entry gets its defaults', () => {
  const settings = connectionsSchema.parse({
    redis: { cache: { url: 'redis://127.0.0.1:6379/0' } },
    postgres: { shared: { url: 'postgres://postgres@127.0.0.1:5432/plugboard' } },
    sqlite: { local: { file: 'plugboard.db' } },
  });
  assert.deepEqual(settings, {
    data_dir: './data',
    redis: { cache: { url: 'redis://127.0.0.1:6379/0', key_prefix: 'plugboard:', connect_timeout: 5 } },
    postgres: { shared: { url: 'postgres://postgres@127.0.0.1:5432/plugboard', pool_size: 10, connect_timeout: 5 } },
    sqlite: { local: { file: 'plugboard.db', synchronous: 'full' } },
  });
});

test('the documented example is valid as written', () => {
  const settings = connectionsSchema.parse({
    data_dir: './data',
    redis: { cache: { url: 'rediss://:pw@cache.internal:6380/1', key_prefix: 'app:', connect_timeout: 0.5 } },
    postgres: { shared: { url: 'postgresql://u:p@db/app', pool_size: 3, connect_timeout: 2 } },
    sqlite: { local: { file: 'sub/plugboard.db', synchronous: 'normal' }, scratch: { file: ':memory:' } },
  });
  assert.equal(settings.sqlite.local?.synchronous, 'normal');
  assert.equal(settings.postgres.shared?.pool_size, 3);
});

test('unknown keys are errors, at any level', () => {
  assert.deepEqual(
    issues({ redis: {}, mongo: {} }).map((issue) => [issue.code, issue.path]),
    [['unrecognized_keys', []]],
  );
  const nested = issues({ redis: { cache: { url: 'redis://h', keyprefix: 'x:' } } });
  assert.equal(nested[0]?.code, 'unrecognized_keys');
  assert.deepEqual(nested[0]?.path, ['redis', 'cache']);
  const sqlite = issues({ sqlite: { local: { file: 'a.db', journal_mode: 'delete' } } });
  assert.deepEqual(sqlite[0]?.path, ['sqlite', 'local']);
});

test('a name used under two kinds is an error at the duplicate, naming the other kind', () => {
  const found = issues({
    redis: { shared: { url: 'redis://127.0.0.1' } },
    postgres: { shared: { url: 'postgres://127.0.0.1/db' } },
    sqlite: { local: { file: 'a.db' }, shared: { file: 'b.db' } },
  });
  assert.deepEqual(
    found.map((issue) => issue.path),
    [
      ['postgres', 'shared'],
      ['sqlite', 'shared'],
    ],
  );
  assert.match(found[0]?.message ?? '', /"shared" is already configured under connections\.redis/);
});

test('connection names are lower-case identifiers', () => {
  const found = issues({ redis: { Cache: { url: 'redis://h' } } });
  assert.deepEqual(found[0]?.path, ['redis', 'Cache']);
  assert.match(JSON.stringify(found), /lower-case letters/);
});

test('URL schemes are checked, and the message never quotes the URL', () => {
  const redis = issues({ redis: { cache: { url: 'http://:topsecret@127.0.0.1:6379' } } });
  assert.deepEqual(redis[0]?.path, ['redis', 'cache', 'url']);
  assert.equal(redis[0]?.message, 'expected a redis:// or rediss:// URL, found scheme "http:"');
  const postgres = issues({ postgres: { db: { url: 'mysql://u:topsecret@h/db' } } });
  assert.equal(postgres[0]?.message, 'expected a postgres:// or postgresql:// URL, found scheme "mysql:"');
  const garbage = issues({ postgres: { db: { url: 'topsecret' } } });
  assert.match(garbage[0]?.message ?? '', /^not a valid URL/);
  assert.doesNotMatch(JSON.stringify([redis, postgres, garbage]), /topsecret/);
});

test('a SQLite file must stay inside data_dir', () => {
  for (const file of ['../outside.db', 'sub/../../outside.db', '/etc/plugboard.db', '.', 'sub/']) {
    const found = issues({ data_dir: '/srv/plugboard/data', sqlite: { local: { file } } });
    assert.deepEqual(found[0]?.path, ['sqlite', 'local', 'file'], file);
  }
  const escaping = issues({ sqlite: { local: { file: '../outside.db' } } });
  assert.match(escaping[0]?.message ?? '', /path \.\.\/outside\.db leaves data_dir \(\.\/data\)/);
  // Inside: relative, nested, absolute under an absolute data_dir, and the in-memory database.
  for (const file of ['a.db', 'sub/dir/a.db', 'sub/../a.db', '/srv/plugboard/data/a.db', ':memory:']) {
    assert.equal(
      connectionsSchema.safeParse({ data_dir: '/srv/plugboard/data', sqlite: { local: { file } } }).success,
      true,
      file,
    );
  }
});

test('values are checked: positive timeouts, whole pool sizes, known synchronous modes', () => {
  assert.deepEqual(issues({ redis: { c: { url: 'redis://h', connect_timeout: 0 } } })[0]?.path, [
    'redis',
    'c',
    'connect_timeout',
  ]);
  assert.deepEqual(issues({ postgres: { p: { url: 'postgres://h/d', pool_size: 2.5 } } })[0]?.path, [
    'postgres',
    'p',
    'pool_size',
  ]);
  assert.deepEqual(issues({ sqlite: { s: { file: 'a.db', synchronous: 'off' } } })[0]?.path, [
    'sqlite',
    's',
    'synchronous',
  ]);
  assert.deepEqual(issues({ sqlite: { s: {} } })[0]?.path, ['sqlite', 's', 'file']);
});
