/**
 * Loaded by name from a YAML configuration (`features: { db_query: { config } }`, no
 * plugin_file), with a real SQLite file and the real PostgreSQL in the `connections:` section:
 * the tools are registered and answer; a connection that is missing, of the wrong kind or
 * in-memory keeps the plugin out with a message that says why; a misspelt key too.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { afterEach, test } from 'node:test';
import Database from 'better-sqlite3';
import { toolRegistryRef } from '../../src/index.ts';
import { RuntimeFixture } from '../../test/support/runtime-fixture.ts';

let fixture: RuntimeFixture | undefined;
afterEach(() => fixture?.dispose());

const SCRIPTED = `import { createScriptedBackend } from ${JSON.stringify(new URL('../../src/testing/index.ts', import.meta.url).pathname)};\nexport default createScriptedBackend();\n`;

/**
 * Starts a runtime whose features section is `features`, with the connections below (data_dir:
 * the fixture's folder, where notes.db holds one note).
 */
async function start(features: readonly string[]) {
  fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-db-query-yaml-'));
  const notes = new Database(path.join(fixture.dir, 'notes.db'));
  notes.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('hello')");
  notes.close();
  await fixture.write('scripted.plugin.ts', SCRIPTED);
  await fixture.write(
    'config.yaml',
    [
      'mode: staging',
      'backends:',
      '  scripted: { plugin_file: scripted.plugin.ts }',
      'features:',
      '  db_query:',
      ...features,
      ...connections(fixture.dir),
    ].join('\n'),
  );
  return fixture.start();
}

const connections = (dir: string) => [
  'connections:',
  `  data_dir: ${JSON.stringify(dir)}`,
  '  sqlite:',
  '    notes: { file: notes.db }',
  '    scratch: { file: ":memory:" }',
  '  postgres:',
  '    main: { url: "postgres://postgres@127.0.0.1:5432/postgres" }',
  '  redis:',
  '    cache: { url: "redis://127.0.0.1:6379/0" }',
];

test('`db_query` under features loads by name; its tools query the SQLite file', async () => {
  const runtime = await start([
    '    config:',
    '      databases:',
    '        notes: { connection: notes, tables: [notes], row_limit: 5, description: "Meeting notes" }',
    '        pg: { connection: main, tables: [public.nothing_here], timeout_ms: 1000 }',
  ]);
  const status = runtime.manager.getPluginStatus().plugins.db_query;
  assert.equal(status?.state, 'ACTIVE', JSON.stringify(status?.lastError));
  const tools = runtime.manager.defaultService(toolRegistryRef);
  assert.deepEqual(
    tools?.list().map((tool) => [tool.name, tool.owner]),
    [
      ['db_query', 'db_query'],
      ['db_schema', 'db_query'],
    ],
  );
  const signal = new AbortController().signal;
  const answer = await tools
    ?.get('db_query')
    ?.run({ database: 'notes', sql: 'SELECT body FROM notes' }, { requestId: 'r', signal });
  assert.deepEqual(answer, { columns: ['body'], rows: [['hello']], truncated: false });
  assert.match(
    tools?.get('db_query')?.description ?? '',
    /notes \(SQLite.*at most 5 rows\): Meeting notes Tables: notes\./,
  );
  assert.match(tools?.get('db_query')?.description ?? '', /pg \(PostgreSQL/);
  const schema = (await tools?.get('db_schema')?.run({ database: 'pg' }, { requestId: 'r', signal })) as {
    databases: { tables: { name: string; exists: boolean }[] }[];
  };
  assert.deepEqual(schema.databases[0]?.tables, [{ name: 'public.nothing_here', exists: false, columns: [] }]);
});

const failures: [string, string, RegExp][] = [
  [
    'an unknown connection name',
    'notez',
    /there is no connection named "notez"; the SQLite and PostgreSQL connections are: main, notes, scratch/,
  ],
  ['a Redis connection', 'cache', /connection "cache" is a Redis connection/],
  ['an in-memory SQLite database', 'scratch', /in-memory SQLite database/],
];
for (const [what, connection, message] of failures) {
  test(`${what} keeps it out, and says why`, async () => {
    const runtime = await start([
      `    config: { databases: { notes: { connection: ${connection}, tables: [notes] } } }`,
    ]);
    const status = runtime.manager.getPluginStatus().plugins.db_query;
    assert.equal(status?.state, 'ERROR');
    assert.match(status?.lastError?.message ?? '', message);
    assert.equal(runtime.manager.defaultService(toolRegistryRef)?.get('db_query'), undefined, 'no tool registered');
  });
}

test('a misspelt key keeps it out, naming the key', async () => {
  const runtime = await start([
    '    config: { databases: { notes: { connection: notes, tables: [notes], row_limt: 5 } } }',
  ]);
  const status = runtime.manager.getPluginStatus().plugins.db_query;
  assert.equal(status?.state, 'ERROR');
  assert.equal(status?.lastError?.code, 'PLUGIN_CONFIG_INVALID');
  assert.match(status?.lastError?.message ?? '', /row_limt/);
});
