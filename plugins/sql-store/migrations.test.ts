/**
 * The schema and the database handling around the stores: migrations apply once, again and
 * from two instances at once (PostgreSQL); data survives closing and reopening a SQLite file;
 * two table prefixes in one database do not see each other; appends from two connections to
 * one conversation (two instances) never repeat or skip a sequence; and closing a store over a
 * shared connection leaves that connection open.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import pg from 'pg';
import { migrate } from './migrations.ts';
import { SqlConversationStore } from './sql-conversation-store.ts';
import { openOwnSqlite, type SqlDatabase, usePostgres, useSharedSqlite } from './sql-database.ts';
import { SqlSearchIndex } from './sql-search-index.ts';
import { createScratchDatabase, scratchFolder } from './test-databases.ts';

const folder = scratchFolder('plugboard-sql-store-migrations-');
let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
before(async () => {
  scratch = await createScratchDatabase();
});
after(async () => {
  folder.remove();
  await scratch.drop();
});

const postgres = (prefix = 'plugboard_') =>
  usePostgres(new pg.Pool({ connectionString: scratch.url, max: 4 }), 'PostgreSQL', prefix, true);

/** The migrations recorded in the database. */
async function applied(database: SqlDatabase): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from ${sql.table(`${database.prefix}migrations`)}
    order by name`.execute(database.db);
  return rows.map((row) => row.name);
}

/** Appends from two stores over two connections to one conversation, concurrently. */
async function appendFromTwo(a: SqlDatabase, b: SqlDatabase): Promise<void> {
  const [first, second] = [new SqlConversationStore(a), new SqlConversationStore(b)];
  const { id } = await first.create('two-instances');
  await Promise.all(
    Array.from({ length: 20 }, (_, n) =>
      (n % 2 === 0 ? first : second).append('two-instances', id, [
        { role: 'user', content: `${n}.a` },
        { role: 'user', content: `${n}.b` },
      ]),
    ),
  );
  const stored = await second.messages('two-instances', id);
  assert.deepEqual(
    stored.map((message) => message.sequence),
    Array.from({ length: 40 }, (_, index) => index + 1),
  );
  for (let index = 0; index < 40; index += 2) {
    const [x, y] = [stored[index]!.message.content, stored[index + 1]!.message.content];
    assert.equal(y, x.replace('.a', '.b'), `each batch is consecutive at ${index + 1}`);
  }
}

describe('SQLite', () => {
  const file = path.join(folder.path, 'store.db');

  test('migrations apply once; running them again changes nothing', async () => {
    const database = openOwnSqlite(file, 'plugboard_');
    try {
      const first = await migrate(database);
      assert.deepEqual(
        first.map((result) => [result.migrationName, result.status]),
        [
          ['0001_conversations', 'Success'],
          ['0002_search_index', 'Success'],
        ],
      );
      assert.deepEqual(await migrate(database), [], 'nothing left to apply');
      assert.deepEqual(await applied(database), ['0001_conversations', '0002_search_index']);
    } finally {
      await database.close();
    }
  });

  test('conversations and documents survive closing and reopening the file', async () => {
    const writer = openOwnSqlite(file, 'plugboard_');
    await migrate(writer);
    const created = await new SqlConversationStore(writer).create('keeper', { title: 'Kept', metadata: { n: 1 } });
    await new SqlConversationStore(writer).append('keeper', created.id, [{ role: 'user', content: 'remember me' }]);
    await new SqlSearchIndex(writer).upsert('kept', [{ id: 'doc', text: 'persistent words', vector: [0, 1] }]);
    await writer.close();

    const reader = openOwnSqlite(file, 'plugboard_');
    try {
      await migrate(reader);
      const store = new SqlConversationStore(reader);
      assert.deepEqual(await store.get('keeper', created.id), {
        ...created,
        messageCount: 1,
        updatedAt: (await store.get('keeper', created.id))!.updatedAt,
      });
      assert.deepEqual(
        (await store.messages('keeper', created.id)).map((stored) => stored.message.content),
        ['remember me'],
      );
      const index = new SqlSearchIndex(reader);
      assert.deepEqual(
        (await index.search('kept', { text: 'persistent' })).map((hit) => hit.id),
        ['doc'],
      );
      assert.deepEqual(
        (await index.search('kept', { vector: [0, 2] })).map((hit) => hit.score),
        [1],
      );
    } finally {
      await reader.close();
    }
  });

  test('two table prefixes in one file are two separate stores', async () => {
    const [a, b] = [openOwnSqlite(file, 'app_a_'), openOwnSqlite(file, 'app_b_')];
    try {
      await migrate(a);
      await migrate(b);
      const { id } = await new SqlConversationStore(a).create('shared-principal');
      assert.equal(await new SqlConversationStore(b).get('shared-principal', id), undefined);
      await new SqlSearchIndex(a).upsert('docs', [{ id: 'x', text: 'only in a' }]);
      assert.deepEqual(await new SqlSearchIndex(b).collections(), []);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('two stores opened on one file in one process share its connection; their appends interleave safely', async () => {
    // One handle per file per process (a second one would wait for the first's lock on the very
    // thread that must release it): a config reload's two plugin instances share it.
    const [a, b] = [openOwnSqlite(file, 'plugboard_'), openOwnSqlite(file, 'plugboard_')];
    try {
      assert.equal(a.db, b.db, 'one kysely instance (and handle) for the file');
      await appendFromTwo(a, b);
      await a.close();
      assert.equal((await new SqlConversationStore(b).list('two-instances')).items.length, 1, 'b still works');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('closing a store over a shared connection leaves the connection open', async () => {
    const handle = new Database(path.join(folder.path, 'shared.db'));
    try {
      const database = useSharedSqlite(handle, 'local', 'plugboard_');
      await migrate(database);
      await database.close();
      assert.equal(handle.open, true);
      assert.equal(handle.prepare('select count(*) as n from plugboard_conversations').get()?.constructor, Object);
    } finally {
      handle.close();
    }
  });
});

describe('PostgreSQL', () => {
  test('two instances migrating a new database at once apply each migration once', async () => {
    const [a, b] = [postgres('race_'), postgres('race_')];
    try {
      const results = await Promise.all([migrate(a), migrate(b)]);
      const applications = results.flat().filter((result) => result.status === 'Success');
      assert.deepEqual(applications.map((result) => result.migrationName).sort(), [
        '0001_conversations',
        '0002_search_index',
      ]);
      assert.deepEqual(await migrate(a), [], 'nothing left to apply');
      assert.deepEqual(await applied(b), ['0001_conversations', '0002_search_index']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('appends from two pools to one conversation never repeat or skip a sequence', async () => {
    const [a, b] = [postgres(), postgres()];
    try {
      await migrate(a);
      await appendFromTwo(a, b);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('closing a store over a shared pool leaves the pool usable', async () => {
    const pool = new pg.Pool({ connectionString: scratch.url, max: 2 });
    try {
      const database = usePostgres(pool, 'PostgreSQL connection "shared"', 'plugboard_');
      await migrate(database);
      await database.close();
      const { rows } = await pool.query('select count(*)::int as n from plugboard_conversations');
      assert.equal(typeof rows[0].n, 'number');
    } finally {
      await pool.end();
    }
  });
});
