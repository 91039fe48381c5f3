/**
 * Loaded by name from a YAML configuration (`middleware: { sql_store: … }`, no plugin_file),
 * with a consumer plugin that uses both services: the default SQLite file (created under the
 * working directory's data/), a shared SQLite connection, and the real PostgreSQL at
 * 127.0.0.1:5432 (a database of this file's own, dropped after) shared by two runtimes;
 * `provide` taking only one service; the health check; and the documented refusals.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigRuntime } from '../../src/config/config-runtime.ts';
import { createSilentLogger } from '../../src/index.ts';
import { chatRequest } from '../../src/testing/index.ts';
import { PLUGBOARD_SRC } from '../../test/support/plugin-sources.ts';
import { RuntimeFixture } from '../../test/support/runtime-fixture.ts';
import { createScratchDatabase } from './test-databases.ts';

/**
 * A middleware that consumes both stores and answers every request itself with what it saw:
 * the stores' classes, the conversation it continued (the request's text names it, or "new"),
 * its messages, and a search of the index — or the error it got.
 */
const PROBE_SOURCE = `
import { conversationStoreRef, createMessage, defineMiddleware, lastUserMessage, respond, searchIndexRef } from ${JSON.stringify(PLUGBOARD_SRC)};
export default defineMiddleware({
  metadata: { name: 'store_probe', version: '1.0.0', consumes: [conversationStoreRef, searchIndexRef] },
  async processRequest(context, call) {
    const conversations = call.services.get(conversationStoreRef);
    const index = call.services.get(searchIndexRef);
    let seen;
    try {
      const asked = lastUserMessage(context)?.content ?? 'new';
      const id = asked === 'new' ? (await conversations.create('probe', { title: 'Probe' })).id : asked;
      await conversations.append('probe', id, [{ role: 'user', content: 'hello from ' + asked }]);
      await index.upsert('probe', [{ id: 'doc-' + asked, text: 'probe document ' + asked, vector: [1, 0] }]);
      const hits = await index.search('probe', { text: 'probe', vector: [1, 0], topK: 10 });
      seen = {
        conversations: conversations.constructor.name,
        index: index.constructor.name,
        id,
        messages: (await conversations.messages('probe', id)).map((stored) => stored.message.content),
        hits: hits.map((hit) => hit.id).sort(),
      };
    } catch (error) {
      seen = { code: error.code, message: error.message };
    }
    return respond(createMessage({ role: 'assistant', content: JSON.stringify(seen) }));
  },
  processResponse: (response) => response,
});
`;

interface Seen {
  readonly conversations?: string;
  readonly index?: string;
  readonly id?: string;
  readonly messages?: readonly string[];
  readonly hits?: readonly string[];
  readonly code?: string;
  readonly message?: string;
}

async function fixture(lines: readonly string[]): Promise<RuntimeFixture> {
  const made = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-sql-store-config-'));
  const testing = new URL('../../src/testing/index.ts', import.meta.url).pathname;
  await made.write(
    'scripted.plugin.ts',
    `import { createScriptedBackend } from ${JSON.stringify(testing)};\nexport default createScriptedBackend();\n`,
  );
  await made.write('probe.plugin.ts', PROBE_SOURCE);
  await made.write(
    'config.yaml',
    [
      'mode: staging',
      'backends:',
      '  scripted: { plugin_file: scripted.plugin.ts }',
      'middleware:',
      '  store_probe: { plugin_file: probe.plugin.ts }',
      ...lines,
    ].join('\n'),
  );
  return made;
}

async function ask(runtime: ConfigRuntime, text: string): Promise<Seen> {
  const response = await runtime.manager.chat(chatRequest(text));
  return JSON.parse(response.message.content) as Seen;
}

function assertActive(runtime: ConfigRuntime, ...names: string[]): void {
  const status = runtime.manager.getPluginStatus().plugins;
  for (const name of names) {
    assert.equal(status[name]?.state, 'ACTIVE', `${name}: ${JSON.stringify(status[name]?.lastError)}`);
  }
}

describe('sql_store on SQLite', () => {
  test('with no config it opens ./data/plugboard.db under the working directory, and keeps it', async () => {
    const made = await fixture(['  sql_store: {}']);
    const cwd = process.cwd();
    process.chdir(made.dir); // this file runs in a process of its own
    try {
      const first = await made.start();
      assertActive(first, 'sql_store', 'store_probe');
      const seen = await ask(first, 'new');
      assert.equal(seen.conversations, 'SqlConversationStore', JSON.stringify(seen));
      assert.equal(seen.index, 'SqlSearchIndex');
      assert.deepEqual(seen.messages, ['hello from new']);
      assert.deepEqual(seen.hits, ['doc-new']);
      assert.ok(existsSync(path.join(made.dir, 'data', 'plugboard.db')), 'the default file is in ./data');
      const health = (await first.manager.getHealth()).plugins.sql_store?.health;
      assert.equal(health?.status, 'healthy', JSON.stringify(health));
      assert.equal(health?.details?.driver, 'sqlite');
      assert.match(String(health?.details?.database), /^SQLite file .*data\/plugboard\.db$/);
      await first.close();

      // A new process would see the same: a second runtime on the same file continues it.
      const second = await made.start();
      const again = await ask(second, seen.id!);
      assert.deepEqual(again.messages, ['hello from new', `hello from ${seen.id}`]);
      assert.deepEqual(again.hits, [`doc-${seen.id}`, 'doc-new']);
    } finally {
      process.chdir(cwd);
      await made.dispose();
    }
  });

  test('through a connections.sqlite entry, with its own table prefix', async () => {
    const made = await fixture([]);
    await made.write(
      'config.yaml',
      (await readFile(made.file, 'utf8')).concat(
        [
          '',
          '  sql_store: { config: { connection: local, table_prefix: app_ } }',
          'connections:',
          `  data_dir: ${JSON.stringify(path.join(made.dir, 'data'))}`,
          '  sqlite:',
          '    local: { file: shared.db }',
        ].join('\n'),
      ),
    );
    try {
      const runtime = await made.start();
      assertActive(runtime, 'sql_store', 'store_probe');
      const seen = await ask(runtime, 'new');
      assert.deepEqual(seen.messages, ['hello from new'], JSON.stringify(seen));
      const health = (await runtime.manager.getHealth()).plugins.sql_store?.health;
      assert.equal(health?.details?.database, 'SQLite connection "local"');
      assert.equal(health?.details?.table_prefix, 'app_');
      assert.ok(existsSync(path.join(made.dir, 'data', 'shared.db')), 'the file is in the connections data_dir');
    } finally {
      await made.dispose();
    }
  });

  test('provide: [conversations] leaves the search index in memory', async () => {
    const made = await fixture([]);
    const file = JSON.stringify(path.join(made.dir, 'only-conversations.db'));
    await made.write(
      'config.yaml',
      `${await readFile(made.file, 'utf8')}\n  sql_store: { config: { provide: [conversations], file: ${file} } }`,
    );
    try {
      const runtime = await made.start();
      assertActive(runtime, 'sql_store', 'store_probe');
      const seen = await ask(runtime, 'new');
      assert.equal(seen.conversations, 'SqlConversationStore', JSON.stringify(seen));
      assert.equal(seen.index, 'MemorySearchIndex');
    } finally {
      await made.dispose();
    }
  });
});

describe('sql_store on PostgreSQL', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  before(async () => {
    scratch = await createScratchDatabase();
  });
  after(() => scratch.drop());

  const withPostgres = (connection = 'shared') => [
    `  sql_store: { config: { driver: postgres, connection: ${connection} } }`,
    'connections:',
    '  postgres:',
    `    shared: { url: ${JSON.stringify(scratch.url)}, pool_size: 4 }`,
  ];

  test('two runtimes on one database share conversations and documents; health says the pool answers', async () => {
    const made = await fixture(withPostgres());
    let second: ConfigRuntime | undefined;
    try {
      const first = await made.start();
      second = await ConfigRuntime.start({ file: made.file, env: {}, logger: createSilentLogger() });
      assertActive(first, 'sql_store', 'store_probe');
      assertActive(second, 'sql_store', 'store_probe');
      const started = await ask(first, 'new');
      assert.equal(started.conversations, 'SqlConversationStore', JSON.stringify(started));
      const continued = await ask(second, started.id!);
      assert.deepEqual(continued.messages, ['hello from new', `hello from ${started.id}`]);
      assert.deepEqual(continued.hits, [`doc-${started.id}`, 'doc-new']);

      const health = (await first.manager.getHealth()).plugins.sql_store?.health;
      assert.equal(health?.status, 'healthy', JSON.stringify(health));
      assert.equal(health?.details?.driver, 'postgres');
      assert.equal(health?.details?.pgvector, false, 'no pgvector on this machine');
      assert.equal(typeof health?.details?.latency_ms, 'number');
    } finally {
      await second?.close();
      await made.dispose();
    }
  });

  test('an unknown connection name keeps it out, with a did-you-mean', async () => {
    const made = await fixture(withPostgres('shard'));
    try {
      const runtime = await made.start();
      const status = runtime.manager.getPluginStatus().plugins.sql_store;
      assert.equal(status?.state, 'ERROR');
      assert.match(
        status?.lastError?.message ?? '',
        /no postgres connection named "shard" \(did you mean "shared"\?\)/,
      );
    } finally {
      await made.dispose();
    }
  });

  test('without a connections: section it does not start, and says what is missing', async () => {
    const made = await fixture(['  sql_store: { config: { driver: postgres, connection: shared } }']);
    try {
      const runtime = await made.start();
      const status = runtime.manager.getPluginStatus().plugins.sql_store;
      assert.equal(status?.state, 'ERROR');
      assert.match(status?.lastError?.message ?? '', /connections: section.*plugboard\.connections/);
    } finally {
      await made.dispose();
    }
  });

  test('a PostgreSQL that is down: it does not start, naming the connection', async () => {
    const made = await fixture([
      '  sql_store: { config: { driver: postgres, connection: shared } }',
      'connections:',
      '  postgres:',
      '    shared: { url: "postgres://postgres@127.0.0.1:1/none", connect_timeout: 1 }',
    ]);
    try {
      const runtime = await made.start();
      const status = runtime.manager.getPluginStatus().plugins.sql_store;
      assert.equal(status?.state, 'ERROR');
      assert.match(status?.lastError?.message ?? '', /ECONNREFUSED/);
    } finally {
      await made.dispose();
    }
  });
});
