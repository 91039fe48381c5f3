/**
 * The in-memory SearchIndex: the shared contract, plus what only it promises (BM25 term
 * weighting, the exact RRF score, frozen hits, a dimension kept until drop, its service ref).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isPlugboardError } from '../../../src/core/errors/plugboard-error.ts';
import { MemorySearchIndex, RRF_K } from '../../../src/core/stores/memory/memory-search-index.ts';
import { searchIndexRef } from '../../../src/core/stores/search-index.ts';
import { testSearchIndexContract } from '../../../src/testing/contracts/search-index-contract.ts';

testSearchIndexContract({ name: 'memory', create: () => new MemorySearchIndex() });

describe('MemorySearchIndex', () => {
  test('keyword ranking weighs how often a term appears (BM25)', async () => {
    const index = new MemorySearchIndex();
    await index.upsert('c', [
      { id: 'once', text: 'A long note about travel that mentions lisbon once among many other words here' },
      { id: 'often', text: 'Lisbon, lisbon, Lisbon!' },
    ]);
    const hits = await index.search('c', { text: 'lisbon' });
    assert.deepEqual(
      hits.map((hit) => hit.id),
      ['often', 'once'],
    );
  });

  test('hybrid scores are reciprocal rank fusion with k = 60', async () => {
    const index = new MemorySearchIndex();
    await index.upsert('c', [
      { id: 'top', text: 'refund refund', vector: [1, 0] },
      { id: 'second', text: 'refund and more words', vector: [0.5, 1] },
    ]);
    const [first, second] = await index.search('c', { text: 'refund', vector: [1, 0] });
    assert.equal(RRF_K, 60);
    assert.equal(first?.score, 2 / (RRF_K + 1));
    assert.equal(second?.score, 2 / (RRF_K + 2));
  });

  test('hits are frozen', async () => {
    const index = new MemorySearchIndex();
    await index.upsert('c', [{ id: 'a', text: 'word', metadata: { k: 'v' } }]);
    const [hit] = await index.search('c', { text: 'word' });
    assert.ok(Object.isFrozen(hit) && Object.isFrozen(hit?.metadata) && Object.isFrozen(hit?.matchedBy));
  });

  test('a collection keeps its dimension when emptied, until it is dropped', async () => {
    const index = new MemorySearchIndex();
    await index.upsert('c', [{ id: 'a', text: 'x', vector: [1, 2, 3] }]);
    await index.delete('c', ['a']);
    await assert.rejects(index.upsert('c', [{ id: 'b', text: 'x', vector: [1, 2] }]), (error) =>
      isPlugboardError(error, 'STORE_INVALID_ARGUMENT'),
    );
    await index.dropCollection('c');
    await index.upsert('c', [{ id: 'b', text: 'x', vector: [1, 2] }]);
    assert.equal(await index.count('c'), 1);
    await index.close();
    assert.deepEqual(await index.collections(), []);
  });

  test('searchIndexRef names every method and defaults to a fresh memory index', () => {
    assert.equal(searchIndexRef.id, 'plugboard.search-index');
    assert.deepEqual([...searchIndexRef.members].sort(), [
      'collections',
      'count',
      'delete',
      'deleteWhere',
      'dropCollection',
      'search',
      'upsert',
    ]);
    assert.ok(searchIndexRef.defaultFactory?.() instanceof MemorySearchIndex);
  });
});
