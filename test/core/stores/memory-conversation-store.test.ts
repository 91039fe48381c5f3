/**
 * The in-memory ConversationStore: the shared contract, plus what only it promises (frozen
 * results with their own Dates, keyset paging, normalised messages, its service ref).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Message } from '../../../src/core/model/message.ts';
import { conversationStoreRef } from '../../../src/core/stores/conversation-store.ts';
import { MemoryConversationStore } from '../../../src/core/stores/memory/memory-conversation-store.ts';
import { testConversationStoreContract } from '../../../src/testing/contracts/conversation-store-contract.ts';

testConversationStoreContract({ name: 'memory', create: () => new MemoryConversationStore() });

const tick = () => new Promise((resolve) => setTimeout(resolve, 3));

describe('MemoryConversationStore', () => {
  test('results are frozen and their Dates are copies', async () => {
    const store = new MemoryConversationStore();
    const created = await store.create('p', { metadata: { nested: { a: 1 } } });
    assert.ok(Object.isFrozen(created) && Object.isFrozen(created.metadata));
    created.createdAt.setTime(0);
    assert.notEqual((await store.get('p', created.id))?.createdAt.getTime(), 0);
  });

  test('paging by key: a conversation bumped meanwhile neither repeats nor hides another', async () => {
    const store = new MemoryConversationStore();
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) {
      ids.push((await store.create('p', { title: `c${n}` })).id);
      await tick();
    }
    const first = await store.list('p', { limit: 2 });
    assert.deepEqual(
      first.items.map((item) => item.title),
      ['c4', 'c3'],
    );
    await store.rename('p', ids[0]!, 'c0 bumped'); // moves to the top, behind the cursor
    const second = await store.list('p', { limit: 2, cursor: first.nextCursor });
    assert.deepEqual(
      second.items.map((item) => item.title),
      ['c2', 'c1'],
    );
    assert.equal(second.nextCursor, undefined);
  });

  test('messages are stored without undefined fields, as a database would', async () => {
    const store = new MemoryConversationStore();
    const { id } = await store.create('p');
    const [stored] = await store.append('p', id, [{ role: 'user', content: 'x', name: undefined } as Message]);
    assert.deepStrictEqual(stored?.message, { role: 'user', content: 'x' });
  });

  test('close() drops every conversation', async () => {
    const store = new MemoryConversationStore();
    const { id } = await store.create('p');
    await store.close();
    assert.equal(await store.get('p', id), undefined);
  });

  test('conversationStoreRef names every method and defaults to a fresh memory store', () => {
    assert.equal(conversationStoreRef.id, 'plugboard.conversation-store');
    assert.deepEqual([...conversationStoreRef.members].sort(), [
      'append',
      'create',
      'delete',
      'get',
      'list',
      'messages',
      'rename',
      'setSummary',
    ]);
    assert.ok(conversationStoreRef.defaultFactory?.() instanceof MemoryConversationStore);
  });
});
