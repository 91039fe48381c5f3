/**
 * "A message acknowledged to the client is on disk": a child Node process appends messages
 * one at a time and prints each acknowledged sequence; the parent SIGKILLs it mid-stream,
 * reopens the store and finds every acknowledged message — on a SQLite file and on the real
 * PostgreSQL. A SIGKILL loses the process, not the machine: that no power loss can take an
 * acknowledged write from SQLite is the job of `synchronous = FULL` in WAL mode (the WAL is
 * synced at every commit), which the last test checks is what the plugin's own file gets.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import pg from 'pg';
import { migrate } from './migrations.ts';
import { SqlConversationStore } from './sql-conversation-store.ts';
import { openOwnSqlite, type SqlDatabase, usePostgres } from './sql-database.ts';
import { createScratchDatabase, scratchFolder } from './test-databases.ts';

const WRITER = fileURLToPath(new URL('./durability-writer.ts', import.meta.url));
/** Acknowledgements to wait for before the kill: enough to be mid-stream, whatever the speed. */
const KILL_AFTER = 150;

/** Runs the writer until it has acknowledged KILL_AFTER messages, SIGKILLs it, returns what it acknowledged. */
function runAndKill(
  args: readonly string[],
): Promise<{ conversation: string; acked: number[]; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let conversation = '';
    const acked: number[] = [];
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [word, value = ''] = line.split(' ');
        if (word === 'conversation') conversation = value;
        if (word === 'acked') acked.push(Number(value));
      }
      if (acked.length >= KILL_AFTER && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`the writer ended before it was killed: ${stderr}`));
      else resolve({ conversation, acked, signal });
    });
  });
}

async function assertAllAcknowledgedKept(database: SqlDatabase, conversation: string, acked: readonly number[]) {
  const store = new SqlConversationStore(database);
  const stored = await store.messages('durability', conversation);
  const bySequence = new Map(stored.map((message) => [message.sequence, message.message.content]));
  for (const sequence of acked) {
    assert.equal(bySequence.get(sequence), `message ${sequence}`, `acknowledged message ${sequence} is there`);
  }
  assert.deepEqual(
    stored.map((message) => message.sequence),
    Array.from({ length: stored.length }, (_, index) => index + 1),
    'no gap: what is stored is a prefix of what was sent',
  );
  // At most the one append in flight at the kill may be there unacknowledged.
  assert.ok(stored.length >= acked.length && stored.length <= acked.length + 1, `${stored.length} vs ${acked.length}`);
  assert.equal((await store.get('durability', conversation))?.messageCount, stored.length, 'the count agrees');
}

describe('SIGKILL during a stream of appends loses no acknowledged message', () => {
  const folder = scratchFolder('plugboard-sql-store-durability-');
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  before(async () => {
    scratch = await createScratchDatabase();
  });
  after(async () => {
    folder.remove();
    await scratch.drop();
  });

  test('on a SQLite file', async () => {
    const file = path.join(folder.path, 'durable.db');
    const run = await runAndKill(['sqlite', file]);
    assert.equal(run.acked.length >= KILL_AFTER, true, `killed after ${run.acked.length} acknowledgements`);
    const reopened = openOwnSqlite(file, 'plugboard_');
    try {
      await assertAllAcknowledgedKept(reopened, run.conversation, run.acked);
    } finally {
      await reopened.close();
    }
  });

  test('on PostgreSQL', async () => {
    const run = await runAndKill(['postgres', scratch.url]);
    const database = usePostgres(
      new pg.Pool({ connectionString: scratch.url, max: 2 }),
      'PostgreSQL',
      'plugboard_',
      true,
    );
    try {
      await assertAllAcknowledgedKept(database, run.conversation, run.acked);
    } finally {
      await database.close();
    }
  });

  test("the plugin's own SQLite file is in WAL mode with synchronous = FULL", async () => {
    const file = path.join(folder.path, 'settings.db');
    const database = openOwnSqlite(file, 'plugboard_');
    await migrate(database);
    await database.close();
    // Read back from another handle: the journal mode is stored in the file; synchronous is per connection.
    const handle = new Database(file);
    try {
      assert.equal(handle.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      handle.close();
    }
    const own = openOwnSqlite(file, 'plugboard_');
    try {
      const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(own.db);
      assert.equal(rows[0]?.synchronous, 2, 'FULL is 2');
    } finally {
      await own.close();
    }
  });
});
