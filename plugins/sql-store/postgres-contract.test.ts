/**
 * The stores on the real PostgreSQL at 127.0.0.1:5432, in a database of this file's own
 * (created, then dropped): the ConversationStore and SearchIndex contracts the in-memory
 * stores pass. Vector ranking here is the exact cosine over real[] in SQL: this machine's
 * PostgreSQL has no pgvector extension, so the pgvector path cannot be exercised here.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { testConversationStoreContract, testSearchIndexContract } from '../../src/testing/index.ts';
import { migrate } from './migrations.ts';
import { detectPgvector } from './pgvector.ts';
import { SqlConversationStore } from './sql-conversation-store.ts';
import { type SqlDatabase, usePostgres } from './sql-database.ts';
import { SqlSearchIndex } from './sql-search-index.ts';
import { createScratchDatabase } from './test-databases.ts';

let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
let database: SqlDatabase;

before(async () => {
  scratch = await createScratchDatabase();
  const pool = new pg.Pool({ connectionString: scratch.url, max: 5 });
  // An idle connection the server ends (a DBA's pg_terminate_backend, a restart) is the pool's to
  // replace, as the connections service's pools do (test/connections/registry-postgres.test.ts);
  // without a listener it would be an uncaught exception that fails this file, not a contract test.
  pool.on('error', () => undefined);
  database = usePostgres(pool, 'PostgreSQL test', 'plugboard_', true);
  await migrate(database);
  database.pgvector = await detectPgvector(database);
});

after(async () => {
  await database.close();
  await scratch.drop();
});

testConversationStoreContract({ name: 'postgres', create: () => new SqlConversationStore(database) });
testSearchIndexContract({ name: 'postgres', create: () => new SqlSearchIndex(database) });

test('this server has no pgvector, so vectors are ranked by the SQL cosine over real[]', async () => {
  const { rows } = await sql`select 1 from pg_available_extensions where name = 'vector'`.execute(database.db);
  assert.equal(rows.length, 0, 'pgvector is available here after all: exercise its path in this file');
  assert.equal(database.pgvector, false, 'the store uses the real[] path');
});
