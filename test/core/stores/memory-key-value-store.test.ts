/**
 * The in-memory KeyValueStore: the shared contract, plus what only it promises (LRU bound,
 * frozen values, shared views, its service ref).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isPlugboardError } from '../../../src/core/errors/plugboard-error.ts';
import { keyValueStoreRef } from '../../../src/core/stores/key-value-store.ts';
import { MemoryKeyValueStore } from '../../../src/core/stores/memory/memory-key-value-store.ts';
import { testKeyValueStoreContract } from '../../../src/testing/contracts/key-value-store-contract.ts';

testKeyValueStoreContract({
  name: 'memory',
  create: () => new MemoryKeyValueStore(),
  dispose: (store) => (store as MemoryKeyValueStore).close(),
});

describe('MemoryKeyValueStore', () => {
  test('evicts the least recently used entry beyond maxEntries', async () => {
    const store = new MemoryKeyValueStore({ maxEntries: 3 });
    for (const key of ['a', 'b', 'c']) await store.set(key, key);
    await store.get('a'); // now b is the least recently used
    await store.set('d', 'd');
    assert.equal(await store.get('b'), undefined);
    assert.deepEqual([await store.get('a'), await store.get('c'), await store.get('d')], ['a', 'c', 'd']);
    assert.equal(store.size, 3);
  });

  test('refuses a maxEntries that is not a positive whole number', () => {
    for (const maxEntries of [0, -1, 1.5]) {
      assert.throws(
        () => new MemoryKeyValueStore({ maxEntries }),
        (error) => isPlugboardError(error, 'STORE_INVALID_ARGUMENT'),
      );
    }
  });

  test('hands out frozen values, and counters past the safe integer range are refused', async () => {
    const store = new MemoryKeyValueStore();
    await store.set('doc', { list: [1, { deep: true }] });
    const doc = (await store.get('doc')) as { list: [number, { deep: boolean }] };
    assert.ok(Object.isFrozen(doc) && Object.isFrozen(doc.list) && Object.isFrozen(doc.list[1]));
    await store.set('big', Number.MAX_SAFE_INTEGER);
    await assert.rejects(
      store.increment('big'),
      (error) => isPlugboardError(error, 'STORE_INVALID_ARGUMENT') && /safe integer/.test(error.message),
    );
    assert.equal(await store.get('big'), Number.MAX_SAFE_INTEGER);
  });

  test('prefixed views share the entries of their store, and close() clears them all', async () => {
    const store = new MemoryKeyValueStore();
    const view = store.withPrefix('tenant:');
    await view.set('k', 1);
    assert.equal(store.size, 1);
    await store.close();
    assert.equal(await view.get('k'), undefined);
  });

  test('a key over 1024 characters is refused with its length in the message', async () => {
    const store = new MemoryKeyValueStore();
    await assert.rejects(
      store.get('k'.repeat(1025)),
      (error) => isPlugboardError(error, 'STORE_INVALID_ARGUMENT') && /1025/.test(error.message),
    );
  });

  test('keyValueStoreRef names every method and defaults to a fresh memory store', () => {
    assert.equal(keyValueStoreRef.id, 'plugboard.kv-store');
    assert.deepEqual([...keyValueStoreRef.members].sort(), [
      'delete',
      'get',
      'increment',
      'set',
      'setIfAbsent',
      'ttl',
      'withPrefix',
    ]);
    const first = keyValueStoreRef.defaultFactory?.();
    assert.ok(first instanceof MemoryKeyValueStore);
    assert.notEqual(keyValueStoreRef.defaultFactory?.(), first);
  });
});
