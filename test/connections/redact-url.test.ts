import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactCredentials, redactUrl, urlSecrets } from '../../src/connections/redact-url.ts';

test('redactUrl replaces the password of Redis and PostgreSQL URLs with ***', () => {
  assert.equal(redactUrl('redis://:secret@host'), 'redis://:***@host');
  assert.equal(redactUrl('redis://:secret@127.0.0.1:6379/0'), 'redis://:***@127.0.0.1:6379/0');
  assert.equal(redactUrl('rediss://default:secret@cache.internal:6380'), 'rediss://default:***@cache.internal:6380');
  assert.equal(redactUrl('postgres://user:secret@host/db'), 'postgres://user:***@host/db');
  assert.equal(
    redactUrl('postgresql://app:p%40ss%2Fw0rd@db:5432/app?sslmode=require'),
    'postgresql://app:***@db:5432/app?sslmode=require',
  );
});

test('redactUrl keeps URLs without a secret exactly as given', () => {
  for (const url of [
    'redis://127.0.0.1:6379/0',
    'postgres://postgres@127.0.0.1:5432/test',
    'postgres://user@host/db?sslmode=verify-full',
  ]) {
    assert.equal(redactUrl(url), url);
  }
});

test('redactUrl redacts secrets given as query parameters', () => {
  assert.equal(
    redactUrl('postgres://user@host/db?password=secret&sslmode=require'),
    'postgres://user@host/db?password=***&sslmode=require',
  );
});

test('redactUrl never lets a password through, even from a URL the parser rejects', () => {
  const redacted = redactUrl('redis://:se cret@ho st:99999');
  assert.doesNotMatch(redacted, /se cret/);
  assert.match(redacted, /^redis:\/\/:\*\*\*@/);
});

test('redactCredentials scrubs URLs and known secrets out of free text', () => {
  assert.equal(
    redactCredentials('connect to postgres://bob:hunter22@db:5432/app failed'),
    'connect to postgres://bob:***@db:5432/app failed',
  );
  assert.equal(redactCredentials('password hunter22 was refused', ['hunter22']), 'password *** was refused');
  assert.equal(redactCredentials('p%40ss!word leaked', ['p@ss!word']), '*** leaked');
  // Short secrets would mangle the text: left alone.
  assert.equal(redactCredentials('a b c', ['a']), 'a b c');
});

test('urlSecrets lists the decoded password and secret parameters', () => {
  assert.deepEqual(urlSecrets('postgres://u:p%40ss@h/d?password=q1234'), ['p@ss', 'q1234']);
  assert.deepEqual(urlSecrets('redis://127.0.0.1:6379'), []);
  assert.deepEqual(urlSecrets('not a url'), []);
});
