/**
 * "A message acknowledged to the client is on disk", end to end: a child Plugboard server
 * (`node bin/plugboard.mjs serve`) with the llamacpp backend on the tiny model, `sql_store` and
 * `memory`; the parent sends a stream of chats to one conversation — OpenAI whole, OpenAI
 * streamed (acknowledged at `data: [DONE]`), Ollama streamed (acknowledged at the `done` line) —
 * and records each acknowledged exchange; once enough are, it SIGKILLs the child while the
 * next chat is in flight, starts a new child on the same database, and finds every
 * acknowledged exchange in the conversation, in order. On a SQLite file, then on PostgreSQL
 * (127.0.0.1:5432, a database of this run, dropped at the end).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { RuntimeFixture } from '../../test/support/runtime-fixture.ts';
import { tinyGgufFile, tinyLlamacppBackendsYaml } from '../../test/support/tiny-gguf.ts';

const BIN = fileURLToPath(new URL('../../bin/plugboard.mjs', import.meta.url));
const MODEL = 'llamacpp/tiny';
/** Exchanges acknowledged before the kill: enough to be well into the stream of writes. */
const KILL_AFTER = 12;
const POSTGRES = 'postgres://postgres@127.0.0.1:5432';
const DATABASE = `plugboard_memory_durability_${process.pid}`;

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
}

/** Starts `plugboard serve` on `config` (port 0) and waits for its URL. */
async function startServer(config: string): Promise<Server> {
  const child = spawn(process.execPath, [BIN, 'serve', '--config', config, '--port', '0'], {
    env: { ...process.env, PLUGBOARD_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (text: string) => {
      stderr += text;
      const match = /Plugboard (http:\/\/\S+)/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`plugboard exited with ${code} before listening:\n${stderr}`)));
  });
  return { child, url };
}

async function stopServer(server: Server, signal: NodeJS.Signals): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = once(server.child, 'exit');
  server.child.kill(signal);
  await exited;
}

/** One chat to `conversation`, in one of three ways; resolves with the reply once the client has it complete. */
async function chat(url: string, conversation: string, content: string, way: number): Promise<string> {
  const headers = { 'content-type': 'application/json', 'x-conversation-id': conversation };
  const messages = [{ role: 'user', content }];
  if (way === 0) {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: MODEL, messages, max_tokens: 6, temperature: 0 }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    return body.choices[0]!.message.content;
  }
  const openai = way === 1;
  const response = await fetch(openai ? `${url}/v1/chat/completions` : `${url}/api/chat`, {
    method: 'POST',
    headers,
    body: JSON.stringify(
      openai
        ? { model: MODEL, messages, max_tokens: 6, temperature: 0, stream: true }
        : { model: MODEL, messages, options: { num_predict: 6, temperature: 0 }, stream: true },
    ),
  });
  assert.equal(response.status, 200);
  const text = await response.text(); // throws when the connection is cut before the end
  let reply = '';
  let acknowledged = false;
  for (const line of text.split('\n')) {
    if (openai && line === 'data: [DONE]') acknowledged = true;
    else if (openai && line.startsWith('data: ')) {
      const chunk = JSON.parse(line.slice(6)) as { choices: { delta: { content?: string } }[] };
      reply += chunk.choices[0]?.delta.content ?? '';
    } else if (!openai && line !== '') {
      const chunk = JSON.parse(line) as { message?: { content?: string }; done?: boolean; error?: string };
      assert.equal(chunk.error, undefined, chunk.error);
      reply += chunk.message?.content ?? '';
      if (chunk.done === true) acknowledged = true;
    }
  }
  if (!acknowledged) throw new Error('the stream ended without its end marker: not acknowledged');
  return reply;
}

/**
 * Sends chats until KILL_AFTER are acknowledged, SIGKILLs the server during the next one,
 * restarts it and checks the conversation.
 */
async function killAndCheck(config: string): Promise<void> {
  let server = await startServer(config);
  const created = await fetch(`${server.url}/v1/conversations`, {
    method: 'POST',
    body: '{}',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(created.status, 201);
  const conversation = ((await created.json()) as { id: string }).id;
  const acknowledged: { user: string; reply: string }[] = [];
  let killed: Promise<void> | undefined;
  try {
    for (let n = 0; ; n++) {
      const user = `Message number ${n}`;
      const sending = chat(server.url, conversation, user, n % 3);
      // The kill lands while this chat is in flight: its exchange may or may not be stored.
      if (acknowledged.length === KILL_AFTER) killed = stopServer(server, 'SIGKILL');
      try {
        acknowledged.push({ user, reply: await sending });
      } catch (error) {
        assert.ok(killed !== undefined, `a chat failed before the kill: ${String(error)}`);
        break;
      }
      if (killed !== undefined) {
        // Answered complete before the kill took effect: acknowledged, so it must be kept too.
        break;
      }
    }
    await killed;
    assert.equal(server.child.signalCode, 'SIGKILL', 'the server was killed, not stopped');

    server = await startServer(config);
    const stored = (await (await fetch(`${server.url}/v1/conversations/${conversation}`)).json()) as {
      messages: { role: string; content: string }[];
    };
    const lines = stored.messages.map((message) => `${message.role}: ${message.content}`);
    const expected = acknowledged.flatMap(({ user, reply }) => [`user: ${user}`, `assistant: ${reply}`]);
    assert.ok(acknowledged.length >= KILL_AFTER, `${acknowledged.length} exchanges acknowledged`);
    assert.deepEqual(lines.slice(0, expected.length), expected, 'every acknowledged exchange, in order');
    // What follows is at most the chat that was in flight: its user message, perhaps its reply.
    assert.ok(
      lines.length - expected.length <= 2,
      `${lines.length - expected.length} messages after the acknowledged ones`,
    );
  } finally {
    await stopServer(server, 'SIGTERM');
  }
}

let fixture: RuntimeFixture;
let modelPath: string;

before(async () => {
  fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-memory-durability-'));
  modelPath = await tinyGgufFile();
});

after(() => fixture?.dispose());

/** The configuration with `store` as sql_store's config lines and `connections` as that section. */
function configYaml(store: string, connections = ''): string {
  return `mode: production
plugin_manager:
  default_backend: llamacpp
${connections}
${tinyLlamacppBackendsYaml(modelPath)}middleware:
  sql_store:
    config:
${store}
features:
  memory:
    config:
      tokenizer: chars
      reserve_tokens: 32
      summarize: false
      auto_title: false
`;
}

describe('durability: SQLite', () => {
  test('SIGKILL during a stream of chats loses no acknowledged exchange', async () => {
    const file = join(fixture.dir, 'sqlite', 'plugboard.db');
    await fixture.write('sqlite.yaml', configYaml(`      file: ${JSON.stringify(file)}`));
    await killAndCheck(join(fixture.dir, 'sqlite.yaml'));
  });
});

describe('durability: PostgreSQL', () => {
  const admin = new pg.Client({ connectionString: `${POSTGRES}/postgres` });
  before(async () => {
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${DATABASE}`);
    await admin.query(`CREATE DATABASE ${DATABASE}`);
  });
  after(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
    await admin.end();
  });

  test('SIGKILL during a stream of chats loses no acknowledged exchange', async () => {
    await fixture.write(
      'postgres.yaml',
      configYaml(
        '      driver: postgres\n      connection: main',
        `connections:\n  postgres:\n    main:\n      url: ${JSON.stringify(`${POSTGRES}/${DATABASE}`)}\n`,
      ),
    );
    await killAndCheck(join(fixture.dir, 'postgres.yaml'));
  });
});
