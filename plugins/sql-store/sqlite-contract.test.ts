/**
 * The stores on SQLite (a temporary file, opened as the plugin opens its own: WAL,
 * synchronous = FULL, sqlite-vec): the ConversationStore and SearchIndex contracts the
 * in-memory stores pass.
 */
import path from 'node:path';
import { after, before } from 'node:test';
import { testConversationStoreContract, testSearchIndexContract } from '../../src/testing/index.ts';
import { migrate } from './migrations.ts';
import { SqlConversationStore } from './sql-conversation-store.ts';
import { openOwnSqlite, type SqlDatabase } from './sql-database.ts';
import { SqlSearchIndex } from './sql-search-index.ts';
import { scratchFolder } from './test-databases.ts';

const folder = scratchFolder('plugboard-sql-store-contract-');
let database: SqlDatabase;

before(async () => {
  database = openOwnSqlite(path.join(folder.path, 'store.db'), 'plugboard_');
  await migrate(database);
});

after(async () => {
  await database.close();
  folder.remove();
});

testConversationStoreContract({ name: 'sqlite', create: () => new SqlConversationStore(database) });
testSearchIndexContract({ name: 'sqlite', create: () => new SqlSearchIndex(database) });
