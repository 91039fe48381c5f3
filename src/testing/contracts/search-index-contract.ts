import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  type IndexedDocument,
  MAX_TOP_K,
  type MetadataFilter,
  type SearchHit,
  type SearchIndex,
  type SearchQuery,
} from '../../core/stores/search-index.ts';
import { expectInvalid } from './expect-store-error.ts';

/**
 * What {@link testSearchIndexContract} needs: how to make an index and how to let it go.
 *
 * @example
 * ```ts
 * testSearchIndexContract({ name: 'pgvector', create: () => new PgSearchIndex(pool), dispose: (i) => i.close() });
 * ```
 */
export interface SearchIndexContractOptions {
  /** Shown in the suite's name. */
  readonly name: string;
  /** An index for one test. It may share a database with other runs: tests use random collections. */
  readonly create: () => SearchIndex | Promise<SearchIndex>;
  /** Called after each test, e.g. to close a connection. */
  readonly dispose?: (index: SearchIndex) => void | Promise<void>;
}

/** One test's world: an index and two random collections, dropped after. */
type World = { readonly index: SearchIndex; readonly collection: string; readonly other: string };

const SOLAR_DOCUMENTS: IndexedDocument[] = [
  { id: 'solar', text: 'Solar panels turn sunlight into electricity for the home', metadata: { lang: 'en' } },
  { id: 'eclipse', text: 'Watching a solar eclipse safely needs special glasses', metadata: { lang: 'en' } },
  { id: 'wind', text: 'Wind turbines generate power on windy hills', metadata: { lang: 'en' } },
  { id: 'dinner', text: 'Recipes for a quick dinner after work', metadata: { lang: 'en' } },
];

/**
 * Registers the contract every {@link SearchIndex} must pass, as `node:test` tests: upsert
 * and delete, keyword ranking, cosine ranking, hybrid fusion, metadata filters (before
 * `topK`), collections, dimension checks and argument checks. Safe against a shared
 * database: each test works in random collections and drops them.
 *
 * @example
 * ```ts
 * import { testSearchIndexContract } from 'plugboard/testing';
 * testSearchIndexContract({ name: 'sqlite', create: () => new SqliteSearchIndex(':memory:') });
 * ```
 */
export function testSearchIndexContract(options: SearchIndexContractOptions): void {
  const indexTest = (title: string, body: (world: World) => Promise<void>) => it(title, () => inWorld(options, body));

  describe(`SearchIndex contract: ${options.name}`, () => {
    describe('documents', () => {
      indexTest('an unknown collection is empty', async ({ index, collection }) => {
        assert.equal(await index.count(collection), 0);
        assert.deepEqual(await index.search(collection, { text: 'anything', vector: [1, 0] }), []);
        assert.equal(await index.delete(collection, ['x']), 0);
        assert.equal(await index.deleteWhere(collection, { lang: 'en' }), 0);
        assert.equal(await index.dropCollection(collection), false);
      });

      indexTest(
        'hits carry id, text, metadata ({} when none), a score and matchedBy',
        async ({ index, collection }) => {
          await index.upsert(collection, [
            { id: 'with', text: 'alpha beta', metadata: { lang: 'en', page: 3, draft: false, reviewer: null } },
            { id: 'without', text: 'alpha gamma' },
          ]);
          assert.equal(await index.count(collection), 2);
          const hits = await index.search(collection, { text: 'alpha' });
          assert.deepEqual(hits.map((hit) => hit.id).sort(), ['with', 'without']);
          const byId = new Map(hits.map((hit) => [hit.id, hit]));
          assert.equal(byId.get('with')?.text, 'alpha beta');
          assert.deepEqual(byId.get('with')?.metadata, { lang: 'en', page: 3, draft: false, reviewer: null });
          assert.deepEqual(byId.get('without')?.metadata, {});
          for (const hit of hits) {
            assert.ok(typeof hit.score === 'number' && Number.isFinite(hit.score), `score of ${hit.id}`);
            assert.deepEqual(hit.matchedBy, ['keyword']);
          }
        },
      );

      indexTest('upsert with the same id replaces the document', async ({ index, collection }) => {
        await index.upsert(collection, [{ id: 'a', text: 'alpha words', vector: [1, 0], metadata: { v: 1 } }]);
        await index.upsert(collection, [{ id: 'a', text: 'beta words' }]);
        assert.equal(await index.count(collection), 1);
        assert.deepEqual(await index.search(collection, { text: 'alpha' }), []);
        const [hit] = await index.search(collection, { text: 'beta' });
        assert.deepEqual([hit?.id, hit?.text, hit?.metadata], ['a', 'beta words', {}]);
        assert.deepEqual(await index.search(collection, { vector: [1, 0] }), [], 'the old vector is gone too');
      });

      indexTest('delete removes by id and counts only what existed', async ({ index, collection }) => {
        await index.upsert(collection, SOLAR_DOCUMENTS);
        assert.equal(await index.delete(collection, ['solar', 'wind', 'no-such-id']), 2);
        assert.equal(await index.count(collection), 2);
        assert.equal(await index.delete(collection, ['solar']), 0);
        assert.deepEqual(ids(await index.search(collection, { text: 'solar panels' })), ['eclipse']);
      });

      indexTest('upsert is atomic: an invalid document in a batch stores none', async ({ index, collection }) => {
        await index.upsert(collection, [{ id: 'kept', text: 'kept', vector: [1, 0, 0] }]);
        const batches: unknown[][] = [
          [
            { id: 'new', text: 'fine' },
            { id: 'bad', text: 42 },
          ],
          [
            { id: 'new', text: 'fine', vector: [0, 1, 0] },
            { id: 'bad', text: 'x', vector: [0, 1] },
          ],
          [
            { id: 'new', text: 'fine' },
            { id: 'new', text: 'twice' },
          ],
        ];
        for (const batch of batches) {
          await expectInvalid(() => index.upsert(collection, batch as IndexedDocument[]), /documents\[1\]/);
        }
        assert.equal(await index.count(collection), 1);
      });
    });

    describe('ranking', () => {
      indexTest('keyword: a document with the query terms ranks above one without', async ({ index, collection }) => {
        await index.upsert(collection, SOLAR_DOCUMENTS);
        for (const text of ['solar panels electricity', 'SOLAR Panels']) {
          const hits = await index.search(collection, { text, topK: 10 });
          assert.deepEqual(ids(hits).slice(0, 2), ['solar', 'eclipse'], `"${text}": all terms, then one`);
          assert.ok(!ids(hits).includes('dinner') && !ids(hits).includes('wind'), 'no unrelated document');
          assertBestFirst(hits);
        }
      });

      indexTest('vector: nearest by cosine similarity first, whatever the length', async ({ index, collection }) => {
        await index.upsert(collection, [
          { id: 'long-but-askew', text: 'c', vector: [10, 10, 0] },
          { id: 'same-direction', text: 'a', vector: [2, 0, 0] },
          { id: 'orthogonal', text: 'd', vector: [0, 1, 0] },
          { id: 'close', text: 'b', vector: [1, 0.2, 0] },
          { id: 'opposite', text: 'e', vector: [-1, 0, 0] },
          { id: 'no-vector', text: 'f' },
        ]);
        const hits = await index.search(collection, { vector: [1, 0, 0], topK: 10 });
        assert.deepEqual(ids(hits), ['same-direction', 'close', 'long-but-askew', 'orthogonal', 'opposite']);
        assert.ok(Math.abs((hits[0]?.score ?? 0) - 1) < 1e-6, `identical direction scores 1, got ${hits[0]?.score}`);
        assert.ok(Math.abs((hits[2]?.score ?? 0) - Math.SQRT1_2) < 1e-6, `45° scores 0.707, got ${hits[2]?.score}`);
        assert.ok(hits.every((hit) => hit.matchedBy.length === 1 && hit.matchedBy[0] === 'vector'));
      });

      indexTest('topK limits the hits, 5 by default', async ({ index, collection }) => {
        await index.upsert(
          collection,
          Array.from({ length: 8 }, (_, n) => ({ id: `d${n}`, text: `common word ${n}`, vector: [1, n + 1] })),
        );
        assert.equal((await index.search(collection, { text: 'common' })).length, 5);
        assert.equal((await index.search(collection, { vector: [1, 1] })).length, 5);
        assert.equal((await index.search(collection, { text: 'common', topK: 2 })).length, 2);
        assert.equal((await index.search(collection, { vector: [1, 1], topK: MAX_TOP_K })).length, 8);
      });

      indexTest('hybrid: a document found by both rankings comes first', async ({ index, collection }) => {
        await index.upsert(collection, [
          { id: 'keyword-only', text: 'refund of the deposit' },
          { id: 'both', text: 'refund policy for orders', vector: [1, 0] },
          { id: 'vector-only', text: 'shipping times', vector: [0.9, 0.2] },
        ]);
        const hits = await index.search(collection, { text: 'refund', vector: [1, 0], topK: 10 });
        assert.equal(hits[0]?.id, 'both');
        const matchedBy = Object.fromEntries(hits.map((hit) => [hit.id, hit.matchedBy]));
        assert.deepEqual(matchedBy, {
          both: ['keyword', 'vector'],
          'keyword-only': ['keyword'],
          'vector-only': ['vector'],
        });
        assertBestFirst(hits);
      });
    });

    describe('filters', () => {
      const library: IndexedDocument[] = [
        { id: 'en-2023', text: 'guide', vector: [1, 0], metadata: { lang: 'en', year: 2023, draft: false } },
        { id: 'en-2024', text: 'guide', vector: [1, 0.1], metadata: { lang: 'en', year: 2024, draft: true } },
        { id: 'fr-2024', text: 'guide', vector: [0.5, 1], metadata: { lang: 'fr', year: 2024, reviewer: null } },
        { id: 'de-2024', text: 'guide', vector: [0, 1], metadata: { lang: 'de', year: 2024, draft: false } },
      ];
      const found = async (index: SearchIndex, collection: string, filter: MetadataFilter) => {
        const byText = ids(await index.search(collection, { text: 'guide', topK: 10, filter })).sort();
        const byVector = ids(await index.search(collection, { vector: [1, 0], topK: 10, filter })).sort();
        assert.deepEqual(byText, byVector, `keyword and vector search filter alike (${JSON.stringify(filter)})`);
        return byText;
      };

      indexTest('equality, any-of and several keys filter keyword and vector search', async ({ index, collection }) => {
        await index.upsert(collection, library);
        assert.deepEqual(await found(index, collection, { lang: 'fr' }), ['fr-2024']);
        assert.deepEqual(await found(index, collection, { lang: ['fr', 'de'] }), ['de-2024', 'fr-2024']);
        assert.deepEqual(await found(index, collection, { lang: 'en', year: 2024 }), ['en-2024']);
        assert.deepEqual(await found(index, collection, { lang: ['en', 'de'], year: [2024] }), ['de-2024', 'en-2024']);
        assert.deepEqual(await found(index, collection, { lang: [] }), []);
        assert.deepEqual(await found(index, collection, { missing: 'x' }), []);
      });

      indexTest('filter values match by type: numbers, booleans and null', async ({ index, collection }) => {
        await index.upsert(collection, library);
        assert.deepEqual(await found(index, collection, { year: '2024' }), [], 'the string "2024" is not 2024');
        assert.deepEqual(await found(index, collection, { draft: false }), ['de-2024', 'en-2023']);
        assert.deepEqual(await found(index, collection, { draft: 'false' }), []);
        assert.deepEqual(await found(index, collection, { reviewer: null }), ['fr-2024'], 'null matches only null');
      });

      indexTest('filters apply before topK', async ({ index, collection }) => {
        const near = Array.from({ length: 8 }, (_, n) => ({
          id: `en-${n}`,
          text: 'travel travel travel guide',
          vector: [1, n / 100],
          metadata: { lang: 'en' },
        }));
        const far = ['fr-1', 'fr-2'].map((id) => ({
          id,
          text: 'travel notes',
          vector: [-1, 1],
          metadata: { lang: 'fr' },
        }));
        await index.upsert(collection, [...near, ...far]);
        for (const query of [
          { text: 'travel' },
          { vector: [1, 0] },
          { text: 'travel', vector: [1, 0] },
        ] as SearchQuery[]) {
          const hits = await index.search(collection, { ...query, topK: 2, filter: { lang: 'fr' } });
          assert.deepEqual(ids(hits).sort(), ['fr-1', 'fr-2'], `${JSON.stringify(query)} finds both French documents`);
        }
      });

      indexTest('count and deleteWhere honour filters', async ({ index, collection }) => {
        await index.upsert(collection, library);
        assert.equal(await index.count(collection, { year: 2024 }), 3);
        assert.equal(await index.count(collection, { lang: ['fr', 'de'], year: 2024 }), 2);
        assert.equal(await index.deleteWhere(collection, { year: 2024, lang: ['en', 'fr'] }), 2);
        assert.equal(await index.count(collection), 2);
        assert.equal(await index.deleteWhere(collection, { year: 2024, lang: ['en', 'fr'] }), 0);
        assert.deepEqual(await found(index, collection, { year: 2024 }), ['de-2024']);
      });
    });

    describe('collections', () => {
      indexTest(
        'collections lists the ones with documents; dropCollection removes one',
        async ({ index, collection, other }) => {
          await index.upsert(collection, [{ id: 'a', text: 'in the first' }]);
          await index.upsert(other, [{ id: 'a', text: 'in the second' }]);
          const listed = await index.collections();
          assert.ok(listed.includes(collection) && listed.includes(other), 'both are listed');
          assert.deepEqual([...listed].sort(), listed, 'sorted');
          assert.equal((await index.search(collection, { text: 'second' })).length, 0, 'collections are isolated');
          assert.equal(await index.dropCollection(collection), true);
          assert.ok(!(await index.collections()).includes(collection));
          assert.equal(await index.count(collection), 0);
          assert.equal(await index.dropCollection(collection), false);
          assert.equal(await index.count(other), 1);
        },
      );
    });

    describe('argument validation', () => {
      indexTest('a vector of another dimension is refused, naming both sizes', async ({ index, collection }) => {
        await index.upsert(collection, [{ id: 'three', text: 'x', vector: [1, 2, 3] }]);
        await expectInvalid(
          () => index.upsert(collection, [{ id: 'four', text: 'x', vector: [1, 2, 3, 4] }]),
          /4.*3|3.*4/,
        );
        await expectInvalid(() => index.search(collection, { vector: [1, 2] }), /2.*3|3.*2/);
        assert.equal(await index.count(collection), 1);
      });

      indexTest('zero, empty and non-finite vectors are refused', async ({ index, collection }) => {
        for (const vector of [[0, 0, 0], [], [1, Number.NaN], [Number.POSITIVE_INFINITY, 1], [1, '2']] as number[][]) {
          await expectInvalid(() => index.upsert(collection, [{ id: 'v', text: 'x', vector }]), /vector/);
          await expectInvalid(() => index.search(collection, { vector }), /vector/);
        }
        assert.equal(await index.count(collection), 0);
      });

      indexTest('a query needs text or a vector, and topK from 1 to 1000', async ({ index, collection }) => {
        await index.upsert(collection, SOLAR_DOCUMENTS);
        await expectInvalid(() => index.search(collection, {}), /text|vector/);
        await expectInvalid(() => index.search(collection, { text: '   ' }), /text/);
        for (const topK of [0, MAX_TOP_K + 1, 1.5, '3'] as number[]) {
          await expectInvalid(() => index.search(collection, { text: 'solar', topK }), /topK/);
        }
      });

      indexTest('bad collection names, ids, metadata and filters are refused', async ({ index, collection }) => {
        for (const name of ['', 'has space', 'x'.repeat(129), '../escape', 42] as string[]) {
          for (const call of [
            () => index.upsert(name, [{ id: 'a', text: 'x' }]),
            () => index.search(name, { text: 'x' }),
            () => index.count(name),
            () => index.delete(name, ['a']),
            () => index.deleteWhere(name, { a: 1 }),
            () => index.dropCollection(name),
          ]) {
            await expectInvalid(call, /collection/, `collection ${String(name).slice(0, 12)}`);
          }
        }
        const upsert = (document: unknown) => index.upsert(collection, [document as IndexedDocument]);
        await expectInvalid(() => upsert({ id: '', text: 'x' }), /id/);
        await expectInvalid(() => upsert({ id: 'a' }), /text/);
        await expectInvalid(() => upsert({ id: 'a', text: 'x', metadata: { nested: { b: 1 } } }), /metadata/);
        await expectInvalid(() => index.delete(collection, [42 as unknown as string]), /ids/);
        for (const filter of [
          { a: { b: 1 } },
          { a: [{ b: 1 }] },
          { a: Number.NaN },
          'lang',
        ] as unknown as MetadataFilter[]) {
          await expectInvalid(() => index.count(collection, filter), /filter/);
          await expectInvalid(() => index.search(collection, { text: 'x', filter }), /filter/);
        }
        await expectInvalid(() => index.deleteWhere(collection, {}), /filter/);
      });
    });
  });
}

const ids = (hits: readonly SearchHit[]) => hits.map((hit) => hit.id);

function assertBestFirst(hits: readonly SearchHit[]): void {
  for (let n = 1; n < hits.length; n++) {
    assert.ok(hits[n - 1]!.score >= hits[n]!.score, `hit ${n - 1} scores at least as much as hit ${n}`);
  }
}

/** Runs `body` with fresh collection names and drops them, whatever happened. */
async function inWorld(options: SearchIndexContractOptions, body: (world: World) => Promise<void>): Promise<void> {
  const index = await options.create();
  const name = () => `contract_${randomUUID().replaceAll('-', '')}`;
  const world = { index, collection: name(), other: name() };
  try {
    await body(world);
  } finally {
    try {
      for (const collection of [world.collection, world.other]) await index.dropCollection(collection);
    } finally {
      await options.dispose?.(index);
    }
  }
}
