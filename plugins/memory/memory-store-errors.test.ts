/**
 * A conversation store that fails, through a real PluginManager: with `on_store_error: fail`
 * (the default) the request is refused with a 503 that names memory/STORE_UNAVAILABLE and the
 * store's error text never reaches the client; with `stateless` it is answered without memory.
 * The failing store is a stand-in: a real store's outage cannot be switched on and off on cue.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ConversationStore, isPlugboardError, MemoryConversationStore } from '../../src/index.ts';
import { say, sent, startMemory } from './testing/harness.ts';

/** A memory store whose methods named in `failing` throw. */
function breakableStore(): { store: ConversationStore; failing: Set<string> } {
  const inner = new MemoryConversationStore();
  const failing = new Set<string>();
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (failing.has(String(property))) return Promise.reject(new Error('disk on fire: /secret/path'));
        return value.apply(target, args);
      };
    },
  });
  return { store, failing };
}

test('on_store_error: fail refuses the request with 503 when the turn cannot be stored; the backend is not asked', async () => {
  const { store, failing } = breakableStore();
  const harness = await startMemory({ store });
  try {
    const id = (await say(harness, 'hello', { conversationId: 'new' })).headers.get('x-conversation-id')!;
    failing.add('append');
    const error = await say(harness, 'are you there?', { conversationId: id }).catch((thrown: unknown) => thrown);
    assert.ok(isPlugboardError(error), String(error));
    assert.equal(error.status, 503);
    assert.match(error.publicMessage, /memory\/STORE_UNAVAILABLE/);
    assert.doesNotMatch(error.publicMessage, /disk on fire/, 'the store’s own text stays in the log');
    assert.equal(harness.calls('chat').length, 1);
    assert.equal(harness.metrics.value('memory_store_errors_total', { operation: 'append_turn', policy: 'fail' }), 1);
  } finally {
    await harness.shutdown();
  }
});

test('on_store_error: fail refuses the request when the reply cannot be stored (a reply the client sees unsaved is not acknowledged)', async () => {
  const { store, failing } = breakableStore();
  const harness = await startMemory({
    store,
    reply: () => {
      failing.add('append');
      return 'an answer';
    },
  });
  try {
    const error = await say(harness, 'hello', { conversationId: 'new' }).catch((thrown: unknown) => thrown);
    assert.ok(isPlugboardError(error), String(error));
    assert.equal(error.status, 503);
    assert.equal(harness.metrics.value('memory_store_errors_total', { operation: 'append_reply', policy: 'fail' }), 1);
  } finally {
    await harness.shutdown();
  }
});

test('on_store_error: stateless answers without memory when the store fails', async () => {
  const { store, failing } = breakableStore();
  const harness = await startMemory({ store, config: { on_store_error: 'stateless' } });
  try {
    const id = (await say(harness, 'hello', { conversationId: 'new' })).headers.get('x-conversation-id')!;
    failing.add('get');
    const exchange = await say(harness, 'still there?', { conversationId: id });
    assert.equal(exchange.response.message.content, 'Reply 2 to: still there?');
    assert.deepEqual(sent(harness.calls('chat')[1]), ['user: still there?'], 'the request as it came, no history');
    assert.equal(exchange.headers.get('x-conversation-id'), undefined, 'no conversation was used');
    assert.equal(harness.metrics.value('memory_store_errors_total', { operation: 'load', policy: 'stateless' }), 1);
    failing.clear();
    failing.add('append');
    // Stored turn fails → stateless; the reply is then not stored either (nothing pending).
    const again = await say(harness, 'and now?', { conversationId: id });
    assert.equal(again.response.message.content, 'Reply 3 to: and now?');
    failing.clear();
    assert.equal((await harness.store.get('anonymous', id))?.messageCount, 2);
  } finally {
    await harness.shutdown();
  }
});
