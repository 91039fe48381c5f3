import assert from 'node:assert/strict';
import { test } from 'node:test';
import { takeTokenFromHash } from './token-in-hash.ts';

test('no token: nothing to take', () => {
  assert.equal(takeTokenFromHash(''), undefined);
  assert.equal(takeTokenFromHash('#/dashboard'), undefined);
  assert.equal(takeTokenFromHash('#/c/tokens'), undefined);
});

test('the token alone leads to the chat', () => {
  assert.deepEqual(takeTokenFromHash('#token=abc'), { token: 'abc', hash: '#/' });
  assert.deepEqual(takeTokenFromHash('#token=a%2Bb'), { token: 'a+b', hash: '#/' });
});

test('the route beside the token is kept', () => {
  assert.deepEqual(takeTokenFromHash('#/dashboard&token=abc'), { token: 'abc', hash: '#/dashboard' });
  assert.deepEqual(takeTokenFromHash('#/c/x1&token=abc&other=1'), { token: 'abc', hash: '#/c/x1&other=1' });
  assert.deepEqual(takeTokenFromHash('#token=abc&/dashboard'), { token: 'abc', hash: '#/dashboard' });
});

test('a malformed or empty token is not adopted, and still leaves the address', () => {
  assert.deepEqual(takeTokenFromHash('#token=%E0%A4%A'), { token: undefined, hash: '#/' });
  assert.deepEqual(takeTokenFromHash('#/dashboard&token=%'), { token: undefined, hash: '#/dashboard' });
  assert.deepEqual(takeTokenFromHash('#token='), { token: undefined, hash: '#/' });
});
