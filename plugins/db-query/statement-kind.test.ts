/** The first read-only layer: the statement's leading keyword, past comments and parentheses. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leadingKeyword, startsLikeQuery } from './statement-kind.ts';

const POSTGRES = { nestedBlockComments: true } as const;
const SQLITE = { nestedBlockComments: false } as const;

test('queries start with SELECT, WITH, VALUES or TABLE, in any case, after comments and parentheses', () => {
  for (const sql of [
    'select 1',
    '  WITH x AS (SELECT 1) SELECT * FROM x',
    'VALUES (1)',
    'TABLE t',
    '-- c\n(SELECT 1)',
    '/* c */select 1',
  ]) {
    assert.equal(startsLikeQuery(sql, POSTGRES), true, sql);
  }
});

test('everything else is refused, and the keyword named', () => {
  assert.equal(leadingKeyword('  insert into t values (1)', SQLITE), 'INSERT');
  assert.equal(leadingKeyword('-- SELECT\nDELETE FROM t', SQLITE), 'DELETE');
  assert.equal(leadingKeyword('PRAGMA user_version = 1', SQLITE), 'PRAGMA');
  assert.equal(leadingKeyword('', SQLITE), undefined);
  assert.equal(leadingKeyword('-- only a comment', SQLITE), undefined);
  assert.equal(leadingKeyword('/* unterminated SELECT', SQLITE), undefined);
  assert.equal(startsLikeQuery('EXPLAIN SELECT 1', SQLITE), false);
});

test('block comments nest on PostgreSQL, not on SQLite, as each database reads them', () => {
  const sql = '/* outer /* inner */ DELETE FROM t */ SELECT 1';
  assert.equal(leadingKeyword(sql, POSTGRES), 'SELECT', 'PostgreSQL skips the whole nested comment');
  assert.equal(leadingKeyword(sql, SQLITE), 'DELETE', 'SQLite ends the comment at the first */');
});
