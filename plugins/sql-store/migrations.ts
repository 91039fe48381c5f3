/**
 * The schema, as kysely migrations held in code (no files read from disk), one list for both
 * dialects: the tables are the same, only column types and the keyword index differ (FTS5 on
 * SQLite, a generated tsvector with a GIN index on PostgreSQL). Run at every start: kysely's
 * Migrator applies what is missing, under a lock (on PostgreSQL a session advisory lock, so two
 * instances starting at once apply each migration once; on SQLite the migration transaction
 * holds the write lock).
 */
import { type Kysely, type Migration, type MigrationProvider, type MigrationResult, Migrator, sql } from 'kysely';
import type { SqlDatabase, Tables } from './sql-database.ts';

/**
 * The migrations for `database`'s dialect and table prefix, by name (applied in name order).
 *
 * @example
 * ```ts
 * new Migrator({ db, provider: new SqlStoreMigrations(database) });
 * ```
 */
export class SqlStoreMigrations implements MigrationProvider {
  readonly #database: SqlDatabase;

  constructor(database: SqlDatabase) {
    this.#database = database;
  }

  async getMigrations(): Promise<Record<string, Migration>> {
    const database = this.#database;
    return {
      '0001_conversations': { up: (db) => createConversationTables(db, database) },
      '0002_search_index': { up: (db) => createSearchTables(db, database) },
    };
  }
}

/**
 * Applies every missing migration; safe to run again and from several processes at once.
 *
 * @example
 * ```ts
 * await migrate(database); // at initialize
 * ```
 * @throws Error naming the migration that failed (its transaction is rolled back).
 */
export async function migrate(database: SqlDatabase): Promise<readonly MigrationResult[]> {
  const migrator = new Migrator({
    db: database.db,
    provider: new SqlStoreMigrations(database),
    migrationTableName: `${database.prefix}migrations`,
    migrationLockTableName: `${database.prefix}migrations_lock`,
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((result) => result.status === 'Error')?.migrationName ?? 'the migrations';
    throw new Error(`${failed} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return results;
}

type Db = Kysely<Tables>;

/** Column types that differ: times (ISO text on SQLite, timestamptz on PostgreSQL), byte-order ids. */
function types(database: SqlDatabase) {
  const postgres = database.dialect === 'postgres';
  return {
    time: postgres ? sql`timestamptz` : sql`text`,
    // Ids sort as JavaScript compares strings (code units), as the in-memory stores do, whatever
    // the database's locale: list order and its ties (greater id first) depend on it.
    key: postgres ? sql`text collate "C"` : sql`text`,
  };
}

async function createConversationTables(db: Db, database: SqlDatabase): Promise<void> {
  const { time, key } = types(database);
  const conversations = `${database.prefix}conversations`;
  const messages = `${database.prefix}messages`;
  await db.schema
    .createTable(conversations)
    .addColumn('id', key, (column) => column.primaryKey())
    .addColumn('principal', key, (column) => column.notNull())
    .addColumn('title', 'text')
    .addColumn('created_at', time, (column) => column.notNull())
    .addColumn('updated_at', time, (column) => column.notNull())
    .addColumn('message_count', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('metadata', 'text', (column) => column.notNull())
    .addColumn('summary_text', 'text')
    .addColumn('summary_through', 'integer')
    .addColumn('summary_updated_at', time)
    .execute();
  // list(): a principal's conversations, most recently updated first, ties by id.
  await db.schema
    .createIndex(`${conversations}_by_principal`)
    .on(conversations)
    .columns(['principal', 'updated_at desc', 'id desc'])
    .execute();
  await db.schema
    .createTable(messages)
    .addColumn('conversation_id', key, (column) =>
      column.notNull().references(`${conversations}.id`).onDelete('cascade'),
    )
    .addColumn('sequence', 'integer', (column) => column.notNull())
    .addColumn('created_at', time, (column) => column.notNull())
    // The content again, apart from the message's JSON, for list's search.
    .addColumn('content', 'text', (column) => column.notNull())
    .addColumn('message', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint(`${messages}_pk`, ['conversation_id', 'sequence'])
    .execute();
}

async function createSearchTables(db: Db, database: SqlDatabase): Promise<void> {
  const { time, key } = types(database);
  const collections = `${database.prefix}search_collections`;
  const documents = `${database.prefix}search_documents`;
  await db.schema
    .createTable(collections)
    .addColumn('name', key, (column) => column.primaryKey())
    // Fixed by the first vector stored, until the collection is dropped.
    .addColumn('dimension', 'integer')
    .addColumn('created_at', time, (column) => column.notNull())
    .execute();
  if (database.dialect === 'postgres') {
    await db.schema
      .createTable(documents)
      .addColumn('collection', key, (column) => column.notNull().references(`${collections}.name`).onDelete('cascade'))
      .addColumn('id', key, (column) => column.notNull())
      .addColumn('text', 'text', (column) => column.notNull())
      .addColumn('metadata', 'jsonb', (column) => column.notNull())
      .addColumn('vector', sql`real[]`)
      // The stored vector's length, so that cosine similarity needs one pass over the query.
      .addColumn('norm', 'float8')
      // 'simple': lower-cased words, no stemming and no stop words, as SQLite's unicode61 and
      // the in-memory index match, so a query finds the same documents on every store.
      .addColumn('tsv', sql`tsvector`, (column) => column.generatedAlwaysAs(sql`to_tsvector('simple', text)`).stored())
      .addPrimaryKeyConstraint(`${documents}_pk`, ['collection', 'id'])
      .execute();
    await db.schema.createIndex(`${documents}_tsv`).on(documents).using('gin').column('tsv').execute();
    return;
  }
  await db.schema
    .createTable(documents)
    // The rowid alias the FTS5 table points at.
    .addColumn('doc_rowid', 'integer', (column) => column.primaryKey())
    .addColumn('collection', 'text', (column) => column.notNull().references(`${collections}.name`).onDelete('cascade'))
    .addColumn('id', 'text', (column) => column.notNull())
    .addColumn('text', 'text', (column) => column.notNull())
    .addColumn('metadata', 'text', (column) => column.notNull())
    // float32 little-endian, as sqlite-vec's vec_distance_cosine reads it.
    .addColumn('vector', 'blob')
    .addUniqueConstraint(`${documents}_id`, ['collection', 'id'])
    .execute();
  const fts = `${database.prefix}search_fts`;
  // An external-content FTS5 index over the documents' text, kept in step by triggers.
  // Tokenizer unicode61 (with diacritics removed), not porter: porter stems English only and
  // would mangle other languages, and unicode61 matches what PostgreSQL's 'simple'
  // configuration and the in-memory index match (lower-cased words), so every store finds alike.
  await sql`create virtual table ${sql.table(fts)} using fts5(text, content=${sql.lit(documents)}, content_rowid='doc_rowid', tokenize='unicode61 remove_diacritics 2')`.execute(
    db,
  );
  const [t, f] = [sql.table(documents), sql.table(fts)];
  const trigger = (suffix: string) => sql.table(`${documents}_fts_${suffix}`);
  await sql`create trigger ${trigger('insert')} after insert on ${t} begin
    insert into ${f}(rowid, text) values (new.doc_rowid, new.text);
  end`.execute(db);
  await sql`create trigger ${trigger('delete')} after delete on ${t} begin
    insert into ${f}(${f}, rowid, text) values ('delete', old.doc_rowid, old.text);
  end`.execute(db);
  await sql`create trigger ${trigger('update')} after update on ${t} begin
    insert into ${f}(${f}, rowid, text) values ('delete', old.doc_rowid, old.text);
    insert into ${f}(rowid, text) values (new.doc_rowid, new.text);
  end`.execute(db);
}
