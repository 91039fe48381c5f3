/**
 * The feature extensions of issue #13 together, as an operator runs them: one YAML file,
 * `serve()` on 127.0.0.1, the llamacpp backend on the tiny random GGUF model, auth with API
 * keys, `sql_store` — on a SQLite file, then on the real PostgreSQL (127.0.0.1:5432) —,
 * `memory`, `rag`, `tools` (a real MCP server over stdio, and Plugboard's own tools exposed
 * over MCP) and `db_query` on a SQLite connection. Driven with what users have: the
 * `plugboard rag add` command, the official `openai` and `ollama` clients, and the official
 * MCP client.
 *
 * The tiny model's words are gibberish, so the assertions are about what reaches the model
 * and the client (sources, citations, stored turns, tool results), never what it says. It
 * cannot produce tool calls either, so the tool loop's round trip through an MCP server is
 * proven with a scripted model in plugins/tools/tools-http.test.ts; here the llama.cpp model
 * (whose backend lists no `tools` capability) must be answered without tools offered.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import Database from 'better-sqlite3';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { createScratchDatabase } from '../../plugins/sql-store/test-databases.ts';
import { ragCommand } from '../../src/cli/rag-command.ts';
import type { RunningPlugboard } from '../../src/server/serve.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';
import { tinyGgufFile, tinyLlamacppBackendsYaml } from '../support/tiny-gguf.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const MODEL = 'llamacpp/tiny';
const newKey = () => `pb_${randomBytes(24).toString('base64url')}`;
const hashOf = (key: string) => `sha256:${createHash('sha256').update(key).digest('hex')}`;
const WRITER_KEY = newKey(); // chat + documents
const READER_KEY = newKey(); // chat only

const HANDBOOK = `# Returns

Customers may return any unworn item within thirty days for a full refund to the original card.

# Shipping

Parcels to Norway take four to six working days and are tracked from the warehouse in Tromsø.
`;

interface Stack {
  readonly running: RunningPlugboard;
  readonly fixture: RuntimeFixture;
}

async function startStack(store: { driver: 'sqlite' } | { driver: 'postgres'; url: string }): Promise<Stack> {
  const fixture = new RuntimeFixture(await RuntimeFixture.tempDir(`plugboard-features-${store.driver}-`));
  const shop = new Database(join(fixture.dir, 'shop.db'));
  shop.exec(`CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT, total REAL);
    INSERT INTO orders (item, total) VALUES ('boots', 120), ('socks', 9.5);
    CREATE TABLE staff (name TEXT, salary REAL); INSERT INTO staff VALUES ('Ada', 1);`);
  shop.close();
  await fixture.write('handbook.md', HANDBOOK);
  const sqlStore =
    store.driver === 'sqlite'
      ? `sql_store:\n    config:\n      file: ${JSON.stringify(join(fixture.dir, 'data', 'plugboard.db'))}`
      : `sql_store:\n    config:\n      driver: postgres\n      connection: shared`;
  await fixture.write(
    'config.yaml',
    `mode: production
plugin_manager:
  default_backend: llamacpp
connections:
  data_dir: ${JSON.stringify(fixture.dir)}
  sqlite:
    shop:
      file: shop.db
${store.driver === 'postgres' ? `  postgres:\n    shared:\n      url: ${JSON.stringify(store.url)}\n` : ''}
${tinyLlamacppBackendsYaml(await tinyGgufFile())}middleware:
  auth:
    config:
      keys:
        - id: writer
          hash: ${hashOf(WRITER_KEY)}
          scopes: [chat, models, embeddings, documents]
        - id: reader
          hash: ${hashOf(READER_KEY)}
          scopes: [chat]
  ${sqlStore}
features:
  memory:
    config:
      tokenizer: chars
      reserve_tokens: 32
  rag:
    config:
      collections: [handbook]
      # The tiny model counts a token per byte in a 256-token window: chunks and the sources'
      # budget (half the window, as its backend reports it) are counted the same way.
      tokenizer: chars
      chunk_tokens: 64
      chunk_overlap: 0
      instructions: Cite the sources as [n].
  tools:
    config:
      expose_mcp: { enabled: true }
      mcp_servers:
        calc:
          command: ${JSON.stringify(process.execPath)}
          args: ["--import", "tsx", ${JSON.stringify(join(ROOT, 'plugins/tools/testing/stdio-server.ts'))}]
          cwd: ${JSON.stringify(ROOT)}
  db_query:
    config:
      databases:
        shop:
          connection: shop
          tables: [orders]
`,
  );
  return { running: await fixture.serve(), fixture };
}

/** Runs `plugboard rag add` against the server; its exit code and what it printed. */
async function ragAdd(url: string, key: string, file: string): Promise<{ code: number; output: string }> {
  const lines: string[] = [];
  const io = { out: (line: string) => lines.push(line), err: (line: string) => lines.push(line) };
  const code = await ragCommand(['add', file, '--collection', 'handbook', '--url', url, '--api-key', key], io);
  return { code, output: lines.join('\n') };
}

interface Citation {
  readonly source: number;
  readonly name: string;
  readonly excerpt: string;
}

function featureSuite(
  label: string,
  setUp: () => Promise<{ store: Parameters<typeof startStack>[0]; drop?: () => Promise<void> }>,
) {
  describe(`memory, rag, tools and db_query on ${label}`, () => {
    let stack: Stack;
    let drop: (() => Promise<void>) | undefined;
    before(async () => {
      const prepared = await setUp();
      drop = prepared.drop;
      stack = await startStack(prepared.store);
    });
    after(async () => {
      await stack?.running.stop();
      await stack?.fixture.dispose();
      await drop?.();
    });

    test('documents go in with `plugboard rag add` (a key with the documents scope); a chat key cannot', async () => {
      const file = join(stack.fixture.dir, 'handbook.md');
      const refused = await ragAdd(stack.running.url, READER_KEY, file);
      assert.notEqual(refused.code, 0, refused.output);
      const added = await ragAdd(stack.running.url, WRITER_KEY, file);
      assert.equal(added.code, 0, added.output);
      assert.match(added.output, /handbook\.md: added/);
    });

    test('a question gets numbered sources and citations; the conversation is kept and continues on the other API', async () => {
      const openai = new OpenAI({ baseURL: `${stack.running.url}/v1`, apiKey: WRITER_KEY, maxRetries: 0 });
      const { data, response } = await openai.chat.completions
        .create(
          { model: MODEL, max_tokens: 4, messages: [{ role: 'user', content: 'How long do parcels to Norway take?' }] },
          { headers: { 'x-conversation-id': 'new' } },
        )
        .withResponse();
      const conversation = response.headers.get('x-conversation-id');
      assert.ok(conversation, 'a new conversation id in the header');
      const citations = (data as unknown as { plugboard?: { citations?: Citation[] } }).plugboard?.citations ?? [];
      assert.ok(citations.length >= 1, JSON.stringify(data));
      assert.equal(citations[0]!.name, 'handbook.md');
      assert.match(citations.map((citation) => citation.excerpt).join(' '), /Norway/);

      const ollama = new Ollama({ host: stack.running.url, headers: { authorization: `Bearer ${WRITER_KEY}` } });
      const reply = await ollama.chat({
        model: MODEL,
        messages: [{ role: 'user', content: 'And returns?' }],
        options: { num_predict: 4 },
        conversation_id: conversation,
      } as Parameters<Ollama['chat']>[0] & { stream?: false });
      assert.ok(
        ((reply as unknown as { plugboard?: { citations?: Citation[] } }).plugboard?.citations ?? []).length >= 1,
        'citations on the Ollama API too',
      );

      const stored = await fetch(`${stack.running.url}/v1/conversations/${conversation}`, {
        headers: { authorization: `Bearer ${WRITER_KEY}` },
      });
      assert.equal(stored.status, 200);
      const body = (await stored.json()) as { messages: { role: string; content: string }[] };
      assert.deepEqual(
        body.messages.map((message) => message.role),
        ['user', 'assistant', 'user', 'assistant'],
      );
      assert.equal(body.messages[2]!.content, 'And returns?');
      const other = await fetch(`${stack.running.url}/v1/conversations/${conversation}`, {
        headers: { authorization: `Bearer ${READER_KEY}` },
      });
      assert.equal(other.status, 404, 'another principal does not see it');
    });

    test("Plugboard's tools over MCP: db_query reads an allowed table and is refused the rest", async () => {
      const client = new Client({ name: 'e2e-agent', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${stack.running.url}/v1/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${READER_KEY}` } },
        }),
      );
      try {
        const names = (await client.listTools()).tools.map((tool) => tool.name);
        assert.ok(names.includes('db_query') && names.includes('db_schema'), names.join(', '));
        const rows = await client.callTool({
          name: 'db_query',
          arguments: { database: 'shop', sql: 'SELECT item FROM orders WHERE total > ? ORDER BY id', params: [10] },
        });
        assert.equal(rows.isError, false, JSON.stringify(rows.content));
        assert.match(JSON.stringify(rows.content), /boots/);
        assert.doesNotMatch(JSON.stringify(rows.content), /socks/);
        const refused = await client.callTool({
          name: 'db_query',
          arguments: { database: 'shop', sql: 'SELECT salary FROM staff' },
        });
        assert.equal(refused.isError, true);
        assert.match(JSON.stringify(refused.content), /staff/);
        const write = await client.callTool({
          name: 'db_query',
          arguments: { database: 'shop', sql: "INSERT INTO orders (item, total) VALUES ('hat', 1)" },
        });
        assert.equal(write.isError, true);
      } finally {
        await client.close();
      }
    });

    test('the MCP server over stdio is connected and its tools registered; a model that cannot call tools is answered without them', async () => {
      const health = (await (await fetch(`${stack.running.url}/health`)).json()) as {
        plugins: Record<string, { state: string; health?: { status: string } }>;
      };
      for (const name of ['sql_store', 'memory', 'rag', 'tools', 'db_query']) {
        assert.equal(health.plugins[name]?.state, 'ACTIVE', `${name}: ${JSON.stringify(health.plugins[name])}`);
      }
      assert.equal(health.plugins.tools?.health?.status, 'healthy', JSON.stringify(health.plugins.tools));
      const openai = new OpenAI({ baseURL: `${stack.running.url}/v1`, apiKey: READER_KEY, maxRetries: 0 });
      const completion = await openai.chat.completions.create({
        model: MODEL,
        max_tokens: 2,
        messages: [{ role: 'user', content: 'add 2 and 3' }],
      });
      assert.equal(completion.choices[0]!.message.tool_calls, undefined);
    });
  });
}

featureSuite('SQLite', async () => ({ store: { driver: 'sqlite' } }));
featureSuite('PostgreSQL', async () => {
  const database = await createScratchDatabase();
  return { store: { driver: 'postgres', url: database.url }, drop: () => database.drop() };
});
