/**
 * The cache key: canonical JSON (sorted keys) of what the backend will get, so the same
 * request written with its keys in another order gives the same key; everything that changes
 * the reply changes it (messages, model, backend, options, the principal with per_principal,
 * the key_metadata keys); what does not (stream, keepAlive, other metadata, message metadata,
 * the request id) leaves it alone; JSON schemas keep their key order. And which options make a
 * request deterministic.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ChatContextInput, createChatContext } from '../../src/index.ts';
import { cacheKey, canonicalJson, isDeterministic, KEY_VERSION, keyText } from './cache-key.ts';

const SETTINGS = { perPrincipal: true, keyMetadata: ['thinkLevel'] };
const base: ChatContextInput = {
  backend: 'ollama',
  model: 'llama3.2',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'What is a GGUF file?' },
  ],
  options: { temperature: 0, maxTokens: 64, stop: ['\n\n'], extra: { num_ctx: 4096, repeat_penalty: 1.1 } },
  principal: { id: 'alice' },
};
const keyOf = (patch: Partial<ChatContextInput> = {}, settings = SETTINGS) =>
  cacheKey(createChatContext({ ...base, ...patch }), settings);

test('canonical JSON: sorted keys at every depth, undefined left out, arrays in order', () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [2, undefined, 'x'], c: null } }),
    '{"a":{"c":null,"d":[2,null,"x"]},"b":1}',
  );
  assert.equal(canonicalJson({ a: undefined, n: Number.NaN }), '{"n":null}');
  assert.equal(canonicalJson('quote "me"'), '"quote \\"me\\""');
});

test('a key is 64 hex digits, and the version is part of what it hashes', () => {
  assert.match(keyOf(), /^[0-9a-f]{64}$/);
  assert.ok(keyText(createChatContext(base), SETTINGS).startsWith(`["${KEY_VERSION}",`));
});

test('the same request with its option keys in another order gives the same key', () => {
  const reordered = keyOf({
    options: { extra: { repeat_penalty: 1.1, num_ctx: 4096 }, stop: ['\n\n'], maxTokens: 64, temperature: 0 },
  });
  assert.equal(reordered, keyOf());
  const messageKeys = keyOf({
    messages: [
      { content: 'Be brief.', role: 'system' },
      { content: 'What is a GGUF file?', role: 'user' },
    ],
  });
  assert.equal(messageKeys, keyOf());
});

test('what does not change the reply does not change the key', () => {
  const same = keyOf();
  assert.equal(keyOf({ stream: true }), same);
  assert.equal(keyOf({ options: { ...base.options, keepAlive: '10m' } }), same);
  assert.equal(keyOf({ requestId: 'another', conversationId: 'c-1' }), same);
  assert.equal(keyOf({ metadata: { api: 'openai', user: 'u-1' } }), same);
  assert.equal(keyOf({ client: { address: '10.0.0.1', headers: { 'user-agent': 'x' } } }), same);
  assert.equal(keyOf({ principal: { id: 'alice', roles: ['admin'] } }), same, 'the principal by its id only');
  const noted = base.messages.map((message) => ({ ...message, metadata: { retrievedAt: Date.now() } }));
  assert.equal(keyOf({ messages: noted }), same, 'message metadata is not sent to models');
});

test('what changes the reply changes the key', () => {
  const same = keyOf();
  const variants = [
    keyOf({ messages: [...base.messages, { role: 'assistant', content: 'A file.' }] }),
    keyOf({ messages: [{ role: 'user', content: 'What is a GGUF file?' }] }),
    keyOf({ messages: [base.messages[0]!, { role: 'user', content: 'What is a GGUF file?', images: ['aGk='] }] }),
    keyOf({ model: 'qwen3' }),
    keyOf({ backend: 'llamacpp' }),
    keyOf({ operation: 'generate' }),
    keyOf({ options: { ...base.options, maxTokens: 65 } }),
    keyOf({ options: { ...base.options, seed: 1 } }),
    keyOf({ options: { ...base.options, extra: { num_ctx: 8192, repeat_penalty: 1.1 } } }),
    keyOf({ options: { ...base.options, tools: [{ name: 'weather' }] } }),
    keyOf({ options: { ...base.options, responseFormat: { type: 'json' } } }),
    keyOf({ metadata: { thinkLevel: 'high' } }),
    keyOf({ principal: { id: 'bob' } }),
    keyOf({ principal: undefined }),
  ];
  assert.equal(new Set([same, ...variants]).size, variants.length + 1);
});

test('per_principal: another principal gives another key; off, principals share keys', () => {
  assert.notEqual(keyOf({ principal: { id: 'bob' } }), keyOf());
  const shared = { perPrincipal: false, keyMetadata: [] };
  assert.equal(keyOf({ principal: { id: 'bob' } }, shared), keyOf({}, shared));
  assert.equal(keyOf({ principal: undefined }, shared), keyOf({}, shared));
});

test('key_metadata: only the metadata keys named change the key', () => {
  const settings = { perPrincipal: true, keyMetadata: ['tenant'] };
  assert.notEqual(keyOf({ metadata: { tenant: 'a' } }, settings), keyOf({ metadata: { tenant: 'b' } }, settings));
  assert.equal(keyOf({ metadata: { thinkLevel: 'high' } }, settings), keyOf({}, settings));
});

test('JSON schemas keep their key order: a model sees, and writes, them in that order', () => {
  const schema = (first: string, second: string) => ({
    type: 'object',
    properties: { [first]: { type: 'string' }, [second]: { type: 'number' } },
  });
  const withFormat = (first: string, second: string) =>
    keyOf({ options: { temperature: 0, responseFormat: { type: 'json_schema', schema: schema(first, second) } } });
  assert.notEqual(withFormat('name', 'age'), withFormat('age', 'name'));
  const withTool = (first: string, second: string) =>
    keyOf({ options: { temperature: 0, tools: [{ name: 'lookup', parameters: schema(first, second) }] } });
  assert.notEqual(withTool('name', 'age'), withTool('age', 'name'));
  const toolKeys = keyOf({ options: { temperature: 0, tools: [{ parameters: schema('a', 'b'), name: 'lookup' }] } });
  assert.equal(toolKeys, withTool('a', 'b'), 'the tool object itself is still canonical');
});

test('deterministic: temperature 0 or a seed; a missing temperature is the backend’s default, a sample', () => {
  assert.equal(isDeterministic({ temperature: 0 }), true);
  assert.equal(isDeterministic({ temperature: 1.2, seed: 42 }), true);
  assert.equal(isDeterministic({ temperature: 0.7 }), false);
  assert.equal(isDeterministic({}), false);
  assert.equal(isDeterministic({ topK: 1 }), false);
});
