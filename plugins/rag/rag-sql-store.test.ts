/**
 * The rag plugin on the sql_store plugin's search index — SQLite (FTS5 + sqlite-vec, a
 * temporary file) and PostgreSQL (tsvector + real[], in a database of this file's own, dropped
 * at the end) — and not only the in-memory one: its document list is kept in the index and
 * listed by a keyword search for a marker word, which each implementation must answer alike.
 * Embeddings come from the hashed embedder (there is no embedding model here).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { SearchIndex } from '../../src/index.ts';
import { chatRequest } from '../../src/testing/index.ts';
import { migrate } from '../sql-store/migrations.ts';
import { openOwnSqlite, type SqlDatabase, usePostgres } from '../sql-store/sql-database.ts';
import { SqlSearchIndex } from '../sql-store/sql-search-index.ts';
import { createScratchDatabase, scratchFolder } from '../sql-store/test-databases.ts';
import { hashedModelAccess } from './testing/hashed-embedder.ts';
import { minimalPdf } from './testing/minimal-pdf.ts';
import { startRag } from './testing/rag-harness.ts';
import { bodyOf, upload } from './testing/upload.ts';

function lifecycle(name: string, open: () => Promise<{ index: SearchIndex; close(): Promise<void> }>) {
  describe(name, () => {
    let index: SearchIndex;
    let close: () => Promise<void>;
    before(async () => {
      ({ index, close } = await open());
    });
    after(() => close());

    test('add, replace, skip unchanged, list, retrieve with citations, delete', async () => {
      const rag = await startRag({ chunk_tokens: 32, chunk_overlap: 0 }, { index, access: hashedModelAccess() });
      const first = bodyOf(
        await upload(
          rag,
          'default',
          'guide.md',
          '# Returns\n\nReturns are free within thirty days.\n\n# Delivery\n\nParcels to Norway take six days.',
        ),
      );
      assert.equal(first.chunks, 2);
      await upload(
        rag,
        'default',
        'care.pdf',
        minimalPdf([['Wash wool by hand.'], ['Dry it flat on a towel.']]),
        'application/pdf',
      );
      assert.equal(
        bodyOf(
          await upload(
            rag,
            'default',
            'guide.md',
            '# Returns\n\nReturns are free within thirty days.\n\n# Delivery\n\nParcels to Norway take six days.',
          ),
        ).status,
        'unchanged',
      );
      assert.equal(
        bodyOf(await upload(rag, 'default', 'guide.md', 'Returns now cost five euros.', 'text/plain')).status,
        'replaced',
      );

      const listed = bodyOf(
        await rag.request('GET', '/v1/rag/collections/:collection/documents', { params: { collection: 'default' } }),
      );
      assert.deepEqual(
        (listed.documents as { name: string; chunks: number }[]).map((document) => [document.name, document.chunks]),
        [
          ['care.pdf', 1],
          ['guide.md', 1],
        ],
      );
      assert.deepEqual(bodyOf(await rag.request('GET', '/v1/rag/collections')).collections, [
        { name: 'default', documents: 2, chunks: 2 },
      ]);

      const context = await rag.extend(chatRequest('How much do returns cost?'));
      assert.match(context.messages[0]!.content, /\[1\] guide\.md: Returns now cost five euros\./);
      assert.equal((rag.responseData.get('citations') as { name: string }[])[0]?.name, 'guide.md');

      const deleted = await rag.request('DELETE', '/v1/rag/collections/:collection/documents/:document', {
        params: { collection: 'default', document: String(first.document) },
      });
      assert.equal('status' in deleted && deleted.status, 204);
      assert.equal(await index.count('rag:default'), 2, 'care.pdf: its entry and its one chunk');
    });
  });
}

lifecycle('SQLite', async () => {
  const folder = scratchFolder('plugboard-rag-sqlite-');
  const database: SqlDatabase = openOwnSqlite(path.join(folder.path, 'store.db'), 'plugboard_');
  await migrate(database);
  return {
    index: new SqlSearchIndex(database),
    async close() {
      await database.close();
      folder.remove();
    },
  };
});

lifecycle('PostgreSQL', async () => {
  const scratch = await createScratchDatabase();
  const database = usePostgres(new pg.Pool({ connectionString: scratch.url, max: 3 }), 'rag test', 'plugboard_', true);
  await migrate(database);
  return {
    index: new SqlSearchIndex(database),
    async close() {
      await database.close();
      await scratch.drop();
    },
  };
});
