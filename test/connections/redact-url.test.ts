import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactCredentials, redactUrl, urlSecrets } from '../../src/connections/redact-url.ts';
import { redactText, splitUrlCredentials } from '../../src/core/util/redact.ts';

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

test('one rule for every URL: http backends show user:***@ like the connections', () => {
  assert.equal(redactUrl('http://user:s3cretkey@127.0.0.1:8000/v1'), 'http://user:***@127.0.0.1:8000/v1');
  assert.equal(redactUrl('https://me:secret@ollama.example.com:443'), 'https://me:***@ollama.example.com:443');
  assert.equal(
    redactUrl('https://api.example.com/v1?key=AIza123&alt=json'),
    'https://api.example.com/v1?key=***&alt=json',
  );
  assert.equal(redactUrl('http://127.0.0.1:8000/v1'), 'http://127.0.0.1:8000/v1');
});

test('redactText hides URL passwords, secret query parameters and bearer tokens in free text', () => {
  assert.equal(
    redactText('openai: not reachable at http://user:s3cretkey@127.0.0.1:9/v1 — check base_url'),
    'openai: not reachable at http://user:***@127.0.0.1:9/v1 — check base_url',
  );
  assert.equal(redactText('GET http://h/x?token=abc123 failed'), 'GET http://h/x?token=*** failed');
  assert.equal(redactText('sent Authorization: Bearer sk-12345678'), 'sent Authorization: Bearer [redacted]');
  const plain = 'did you mean "ollama"? the model is not there';
  assert.equal(redactText(plain), plain);
});

test('splitUrlCredentials turns URL credentials into a Basic authorization', () => {
  assert.deepEqual(splitUrlCredentials('http://user:p%40ss@127.0.0.1:8000/v1'), {
    url: 'http://127.0.0.1:8000/v1',
    authorization: `Basic ${Buffer.from('user:p@ss').toString('base64')}`,
  });
  assert.deepEqual(splitUrlCredentials('http://127.0.0.1:8000/v1'), { url: 'http://127.0.0.1:8000/v1' });
});
