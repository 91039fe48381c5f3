/**
 * Automatic titles through a real PluginManager: made by the model after the first reply and
 * cleaned, the first words of the first message when the model fails, never over a title the
 * conversation already has.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { say, startMemory } from './testing/harness.ts';

test('after the first reply the model titles the conversation; the title is cleaned and made once', async () => {
  const harness = await startMemory({
    config: { auto_title: true },
    title: () => '\n**Title: "Weekend trip to Lisbon."**\nThis conversation is about…',
  });
  try {
    const id = (await say(harness, 'Plan a weekend in Lisbon for me', { conversationId: 'new' })).headers.get(
      'x-conversation-id',
    )!;
    assert.equal((await harness.store.get('anonymous', id))?.title, 'Weekend trip to Lisbon');
    const request = harness.calls('title')[0]!;
    assert.match(request.messages[1]!.content, /^User: Plan a weekend in Lisbon for me\nAssistant: Reply 1 to:/);
    assert.equal(request.options.maxTokens, 24, 'bounded');
    await say(harness, 'And in Porto?', { conversationId: id });
    assert.equal(harness.calls('title').length, 1, 'a titled conversation is not titled again');
    assert.equal(harness.metrics.value('memory_titles_total', { result: 'generated' }), 1);
  } finally {
    await harness.shutdown();
  }
});

test('when the model fails, the first words of the first user message are the title', async () => {
  const harness = await startMemory({
    config: { auto_title: true },
    fail: (kind) => (kind === 'title' ? new Error('title backend down') : undefined),
  });
  try {
    const id = (
      await say(harness, '"How do I renew my passport before the trip next month?"', { conversationId: 'new' })
    ).headers.get('x-conversation-id')!;
    assert.equal((await harness.store.get('anonymous', id))?.title, 'How do I renew my passport before the');
    assert.equal(harness.metrics.value('memory_titles_total', { result: 'fallback' }), 1);
  } finally {
    await harness.shutdown();
  }
});

test('a conversation created with a title, or with auto_title off, keeps what it has', async () => {
  const harness = await startMemory({ config: { auto_title: true } });
  try {
    const titled = await harness.store.create('anonymous', { title: 'Mine' });
    await say(harness, 'hello', { conversationId: titled.id });
    assert.equal((await harness.store.get('anonymous', titled.id))?.title, 'Mine');
    assert.equal(harness.calls('title').length, 0);
  } finally {
    await harness.shutdown();
  }
  const off = await startMemory({ config: { auto_title: false } });
  try {
    const id = (await say(off, 'hello', { conversationId: 'new' })).headers.get('x-conversation-id')!;
    assert.equal((await off.store.get('anonymous', id))?.title, undefined);
    assert.equal(off.calls('title').length, 0);
  } finally {
    await off.shutdown();
  }
});
