/**
 * The child process of durability.test.ts: opens the store as the plugin does, creates a
 * conversation, then appends messages one at a time and prints `acked <sequence>` to stdout
 * only once each append has returned (the moment a client would be told it is saved). The
 * parent SIGKILLs it in the middle. Bounded: it stops by itself after MAX_MESSAGES or
 * MAX_SECONDS, should nobody kill it.
 *
 * Usage: node --import tsx durability-writer.ts sqlite <file> | postgres <url>
 */
import pg from 'pg';
import { migrate } from './migrations.ts';
import { SqlConversationStore } from './sql-conversation-store.ts';
import { openOwnSqlite, type SqlDatabase, usePostgres } from './sql-database.ts';

const MAX_MESSAGES = 20_000;
const MAX_SECONDS = 60;

const [driver, location] = process.argv.slice(2);
if ((driver !== 'sqlite' && driver !== 'postgres') || location === undefined) {
  throw new Error('usage: durability-writer.ts sqlite <file> | postgres <url>');
}
const database: SqlDatabase =
  driver === 'sqlite'
    ? openOwnSqlite(location, 'plugboard_')
    : usePostgres(new pg.Pool({ connectionString: location, max: 2 }), 'PostgreSQL', 'plugboard_', true);
await migrate(database);
const store = new SqlConversationStore(database);
const { id } = await store.create('durability', { title: 'Killed mid-stream' });
// process.stdout on a pipe is synchronous on Linux: a line printed is with the parent.
process.stdout.write(`conversation ${id}\n`);
const deadline = Date.now() + MAX_SECONDS * 1_000;
for (let n = 1; n <= MAX_MESSAGES && Date.now() < deadline; n++) {
  const [stored] = await store.append('durability', id, [{ role: 'user', content: `message ${n}` }]);
  process.stdout.write(`acked ${stored?.sequence}\n`);
}
await database.close();
