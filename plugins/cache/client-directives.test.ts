/**
 * The client's directives: Cache-Control's no-store and no-cache (case-insensitive, among other
 * directives, with arguments), the plugin's header (`bypass`, `refresh`), the stronger winning,
 * and Cache-Control ignored when not honoured.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientDirective } from './client-directives.ts';

const HEADER = 'x-plugboard-cache';
const of = (headers: Record<string, string> | undefined, honor = true) => clientDirective(headers, HEADER, honor);

test('no headers, or nothing for the cache: use it', () => {
  assert.equal(of(undefined), 'use');
  assert.equal(of({ accept: 'text/event-stream' }), 'use');
  assert.equal(of({ 'cache-control': 'max-age=60, private' }), 'use');
  assert.equal(of({ [HEADER]: 'please' }), 'use', 'an unknown value is ignored');
});

test('Cache-Control: no-store bypasses, no-cache refreshes; case and spacing do not matter', () => {
  assert.equal(of({ 'cache-control': 'no-store' }), 'bypass');
  assert.equal(of({ 'cache-control': 'max-age=0, No-Store' }), 'bypass');
  assert.equal(of({ 'cache-control': 'no-cache' }), 'refresh');
  assert.equal(of({ 'cache-control': ' NO-CACHE="set-cookie" ' }), 'refresh');
  assert.equal(of({ 'cache-control': 'no-cache, no-store' }), 'bypass', 'the stronger wins');
});

test('the plugin’s header: bypass or refresh, whatever the case', () => {
  assert.equal(of({ [HEADER]: 'Bypass' }), 'bypass');
  assert.equal(of({ [HEADER]: ' refresh ' }), 'refresh');
  assert.equal(of({ [HEADER]: 'refresh', 'cache-control': 'no-store' }), 'bypass');
  assert.equal(of({ [HEADER]: 'bypass', 'cache-control': 'no-cache' }), 'bypass');
});

test('honor_cache_control: false reads the plugin’s header only', () => {
  assert.equal(of({ 'cache-control': 'no-store' }, false), 'use');
  assert.equal(of({ 'cache-control': 'no-cache' }, false), 'use');
  assert.equal(of({ [HEADER]: 'bypass', 'cache-control': 'no-cache' }, false), 'bypass');
});
