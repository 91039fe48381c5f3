/**
 * The config schema: SQLite with its own file by default, PostgreSQL needs a connection, `file`
 * only where the plugin opens the file itself, a safe table prefix, at least one service to
 * provide; unknown keys are refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sqlStoreConfigSchema } from './config.ts';

const messages = (value: unknown) => {
  const result = sqlStoreConfigSchema.safeParse(value);
  assert.equal(result.success, false, 'expected the config to be refused');
  return result.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n');
};

test('defaults: SQLite, the plugboard_ prefix, both services', () => {
  assert.deepEqual(sqlStoreConfigSchema.parse({}), {
    driver: 'sqlite',
    table_prefix: 'plugboard_',
    provide: ['conversations', 'search'],
  });
  assert.deepEqual(
    sqlStoreConfigSchema.parse({ driver: 'postgres', connection: 'shared', table_prefix: '', provide: ['search'] }),
    { driver: 'postgres', connection: 'shared', table_prefix: '', provide: ['search'] },
  );
  assert.equal(sqlStoreConfigSchema.parse({ file: 'var/chat.db' }).file, 'var/chat.db');
});

test('postgres needs a connection; file is only for the plugin’s own SQLite file', () => {
  assert.match(messages({ driver: 'postgres' }), /^connection: the postgres driver needs/);
  assert.match(messages({ driver: 'postgres', connection: 'pg', file: 'x.db' }), /^file: file is only for/);
  assert.match(messages({ connection: 'local', file: 'x.db' }), /^file: /);
  assert.match(messages({ driver: 'mysql' }), /^driver: /);
  assert.match(messages({ connection: '' }), /connection: give the name of a connections entry/);
});

test('the table prefix is a safe identifier start, or empty', () => {
  for (const prefix of ['Plugboard_', '1x_', 'has space', 'x"; drop table y; --', 'p'.repeat(31)]) {
    assert.match(messages({ table_prefix: prefix }), /^table_prefix: use at most 30/, prefix);
  }
});

test('provide names at least one known service', () => {
  assert.match(messages({ provide: [] }), /^provide: provide at least one/);
  assert.match(messages({ provide: ['memory'] }), /^provide\.0: /);
});

test('unknown keys are refused, naming them', () => {
  assert.match(messages({ conection: 'x' }), /conection/);
  assert.match(messages({ url: 'postgres://localhost/db' }), /url/);
});
