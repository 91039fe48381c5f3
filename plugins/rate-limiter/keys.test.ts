/**
 * Key derivation: each kind keys on what it says, a missing principal falls back to the
 * client's address (never one shared anonymous bucket), `ip_header` takes the nearest proxy's
 * value, and messages describe the kind, never the key.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createChatContext } from '../../src/index.ts';
import { clientAddress, subjectOf } from './keys.ts';

const alice = createChatContext({
  messages: [{ role: 'user', content: 'hi' }],
  model: 'llama3.2',
  principal: { id: 'alice' },
  client: { address: '10.0.0.7', headers: { 'x-forwarded-for': '1.1.1.1, 203.0.113.9' } },
});
const anonymous = createChatContext({
  messages: [{ role: 'user', content: 'hi' }],
  model: 'qwen',
  client: { address: '10.0.0.8' },
});

test('each kind keys on its own part of the request', () => {
  assert.deepEqual(subjectOf('principal', alice, undefined), { id: 'principal:alice', described: 'principal' });
  assert.deepEqual(subjectOf('ip', alice, undefined), { id: 'ip:10.0.0.7', described: 'ip' });
  assert.deepEqual(subjectOf('model', alice, undefined), { id: 'model:llama3.2', described: 'model' });
  assert.deepEqual(subjectOf('principal_model', alice, undefined), {
    id: 'principal:alice|model:llama3.2',
    described: 'principal and model',
  });
  assert.deepEqual(subjectOf('global', alice, undefined), { id: 'global', described: 'global' });
});

test('a missing principal falls back to the client address, and says so', () => {
  assert.deepEqual(subjectOf('principal', anonymous, undefined), {
    id: 'ip:10.0.0.8',
    described: 'ip (no principal)',
  });
  assert.deepEqual(subjectOf('principal_model', anonymous, undefined), {
    id: 'ip:10.0.0.8|model:qwen',
    described: 'ip and model (no principal)',
  });
});

test('a principal named like an address never shares the address’s counter', () => {
  const named = createChatContext({ messages: [], principal: { id: '10.0.0.8' } });
  assert.notEqual(subjectOf('principal', named, undefined).id, subjectOf('principal', anonymous, undefined).id);
});

test('ip_header: the last value (the nearest proxy’s), else the socket address', () => {
  assert.equal(clientAddress(alice, 'x-forwarded-for'), '203.0.113.9');
  assert.equal(clientAddress(anonymous, 'x-forwarded-for'), '10.0.0.8');
  assert.equal(clientAddress(createChatContext({ messages: [] }), undefined), 'unknown');
});

test('no model (a model list) and very long names still give small keys', () => {
  const list = createChatContext({ messages: [], operation: 'models.list', principal: { id: 'alice' } });
  assert.equal(subjectOf('principal_model', list, undefined).id, 'principal:alice|model:-');
  const long = createChatContext({ messages: [], model: 'm'.repeat(10_000) });
  assert.match(subjectOf('model', long, undefined).id, /^model:sha256:[0-9a-f]{64}$/);
});
