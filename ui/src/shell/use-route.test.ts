import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRoute } from './use-route.ts';

test('the chat is the default page; its own segments follow', () => {
  assert.deepEqual(parseRoute(''), { page: 'chat', rest: [] });
  assert.deepEqual(parseRoute('#/'), { page: 'chat', rest: [] });
  assert.deepEqual(parseRoute('#/c/abc%20d'), { page: 'chat', rest: ['c', 'abc d'] });
});

test('the dashboard and its segments', () => {
  assert.deepEqual(parseRoute('#/dashboard'), { page: 'dashboard', rest: [] });
  assert.deepEqual(parseRoute('#/dashboard/plugins/cache'), { page: 'dashboard', rest: ['plugins', 'cache'] });
});

test('a malformed escape stays as typed instead of breaking the page', () => {
  assert.deepEqual(parseRoute('#/c/100%'), { page: 'chat', rest: ['c', '100%'] });
});
