/**
 * The model access service: plugins that need a model themselves (summaries, titles,
 * embeddings) get one through `modelAccessRef`, routed like a client's request, straight to
 * the backend — no middleware, no processors, no hooks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createMessage,
  defineFeatureExtension,
  defineMiddleware,
  isPlugboardError,
  type ModelAccess,
  modelAccessRef,
} from '../../src/index.ts';
import { createScriptedBackend, startManager } from '../../src/testing/index.ts';

function consumer() {
  const seen: { access?: ModelAccess } = {};
  const plugin = defineFeatureExtension({
    metadata: { name: 'needs-models', version: '1.0.0', consumes: [modelAccessRef] },
    initialize(_config, call) {
      seen.access = call.services.get(modelAccessRef);
    },
    extend: (context) => context,
  });
  return { plugin, seen };
}

test('a consumer of modelAccessRef starts with no provider and completes through the routed backend', async () => {
  const backend = createScriptedBackend({ name: 'scripted', models: ['tiny'], reply: 'A short title' });
  const other = createScriptedBackend({ name: 'other', models: ['big'], reply: 'from other' });
  const { plugin, seen } = consumer();
  const manager = await startManager([backend, other, plugin]);
  try {
    const access = seen.access;
    assert.ok(access, 'the consumer got the service');
    const completion = await access.complete({
      model: 'big',
      messages: [createMessage({ role: 'user', content: 'Title this' })],
      options: { maxTokens: 8 },
    });
    assert.equal(completion.message.content, 'from other');
    assert.equal(completion.backend, 'other');
    assert.equal(other.calls.length, 1);
    assert.equal(other.calls[0]!.options.maxTokens, 8);
    assert.equal(backend.calls.length, 0);
    const prefixed = await access.complete({ model: 'scripted/tiny', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(prefixed.message.content, 'A short title');
  } finally {
    await manager.shutdown();
  }
});

test('model access skips middleware and hooks: a summary is not a client request', async () => {
  const backend = createScriptedBackend({ reply: 'ok' });
  let middlewareCalls = 0;
  let hookCalls = 0;
  const gate = defineMiddleware({
    metadata: { name: 'gate', version: '1.0.0' },
    processRequest: (context) => {
      middlewareCalls++;
      return context;
    },
    onRequestStart: () => {
      hookCalls++;
    },
  });
  const { plugin, seen } = consumer();
  const manager = await startManager([backend, gate, plugin]);
  try {
    await seen.access!.complete({ messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(backend.calls.length, 1, 'the default backend answered');
    assert.equal(middlewareCalls, 0);
    assert.equal(hookCalls, 0);
  } finally {
    await manager.shutdown();
  }
});

test('embed returns one vector per input; invalid messages and unknown models are coded errors', async () => {
  const backend = createScriptedBackend({ models: ['tiny'] });
  const { plugin, seen } = consumer();
  const manager = await startManager([backend, plugin]);
  try {
    const access = seen.access!;
    const result = await access.embed({ model: 'tiny', input: ['one', 'two'] });
    assert.equal(result.embeddings.length, 2);
    assert.equal(result.backend, 'scripted');
    await assert.rejects(
      access.complete({ messages: [{ role: 'robot', content: 'x' } as never] }),
      (error) => isPlugboardError(error) && error.code === 'REQUEST_INVALID',
    );
    await assert.rejects(
      access.complete({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
      (error) => isPlugboardError(error) && error.code === 'MODEL_NOT_FOUND',
    );
    assert.equal(await access.contextLength('tiny'), undefined, 'the scripted backend reports no context length');
  } finally {
    await manager.shutdown();
  }
});
