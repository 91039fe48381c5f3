/**
 * Which scope each operation needs (Ollama's load requests included) and the model allow-list's
 * globs: `*` is the only wildcard, everything else — dots, colons, slashes — is literal.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OPERATIONS } from '../../src/index.ts';
import { isScope, modelMatcher, requiredScope, SCOPES } from './scopes.ts';
import { request } from './testing/fixtures.ts';

test('operation → scope: chat and generate need chat, embeddings embeddings, listings and loads models, admin admin', () => {
  const expected = {
    chat: 'chat',
    generate: 'chat',
    embeddings: 'embeddings',
    'models.list': 'models',
    'models.show': 'models',
    admin: 'admin',
    endpoint: 'chat',
  };
  for (const operation of OPERATIONS) {
    const metadata = operation === 'endpoint' ? { endpoint: { scope: 'chat' } } : {};
    assert.equal(requiredScope(request({ operation, metadata })), expected[operation], operation);
  }
  // An Ollama load request is a chat or generate without messages: it only loads the model.
  assert.equal(requiredScope(request({ operation: 'chat', messages: [] })), 'models');
  assert.equal(requiredScope(request({ operation: 'generate', messages: [] })), 'models');
});

test("a plugin's endpoint needs the scope it declares; one auth does not know is for admins only", () => {
  const endpoint = (scope: unknown) => request({ operation: 'endpoint', metadata: { endpoint: { scope } } });
  assert.equal(requiredScope(endpoint('documents')), 'documents');
  assert.equal(requiredScope(endpoint('models')), 'models');
  assert.equal(requiredScope(endpoint('billing')), 'admin');
  assert.equal(requiredScope(endpoint(undefined)), 'admin');
  assert.equal(requiredScope(request({ operation: 'endpoint' })), 'admin');
});

test('the scopes are chat, embeddings, models, documents and admin', () => {
  assert.deepEqual([...SCOPES], ['chat', 'embeddings', 'models', 'documents', 'admin']);
  assert.equal(isScope('admin'), true);
  assert.equal(isScope('Chat'), false);
});

test('model allow-list: exact names and * globs, regex characters literal', () => {
  const allowed = modelMatcher(['llama*', 'qwen2.5:7b', '*-embed', 'ollama/*']);
  for (const model of ['llama3.2', 'llama', 'qwen2.5:7b', 'nomic-embed', 'ollama/mistral']) {
    assert.equal(allowed(model), true, model);
  }
  for (const model of [
    'qwen2x5:7b',
    'qwen2.5:7b-instruct',
    'my-llama3',
    'mistral',
    'nomic-embed-v2',
    'openai/gpt-4o',
  ]) {
    assert.equal(allowed(model), false, model);
  }
  assert.equal(modelMatcher(['*'])('anything/at:all'), true);
  assert.equal(modelMatcher([])('llama3'), false);
});
