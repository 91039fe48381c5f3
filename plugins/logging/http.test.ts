/**
 * The logging plugin in the real HTTP server, driven by the official clients. Behind the auth
 * plugin, every request of the `openai` client (chat whole and streamed, the model list,
 * embeddings) and of the `ollama` client (the same four) gives exactly one record, with the
 * API, the operation, the principal and the client's address; a streamed chat's record equals
 * the whole one's but for its id, timings and `stream`; a request with a wrong key gives a
 * `rejected` record without the key. With `destination: file`, the server's shutdown leaves
 * one JSON line per request in the file.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { createDefaultLogger } from '../../src/index.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import createAuthPlugin from '../auth/auth.plugin.ts';
import { generateKey, hashKey } from '../auth/key-hash.ts';
import { createLoggingPlugin } from './logging.plugin.ts';
import type { RequestRecord } from './record.ts';
import { createRecorder } from './testing/recorder.ts';

const KEY = generateKey();
const WRONG_KEY = generateKey();
const auth = [
  createAuthPlugin,
  { config: { keys: [{ id: 'ops', hash: hashKey(KEY), scopes: ['chat', 'embeddings', 'models'] }] } },
] as const;
const messages = [{ role: 'user' as const, content: 'hello there' }];

/** Comparable parts of a chat record: what must not differ between a whole and a streamed chat. */
function essence(record: RequestRecord & { timestamp?: string }) {
  const { request_id, duration_ms, stream, timestamp, steps, ...rest } = record;
  return { ...rest, steps: steps.map(({ duration_ms: _, ...step }) => step) };
}

describe('through the HTTP server, destination log', () => {
  const recorder = createRecorder();
  const output: string[] = [];
  let server: TestServer;

  before(async () => {
    // The server's own logger at info, as an operator sets it for `destination: log`.
    const logger = createDefaultLogger('info', 'json', {
      write(line: string) {
        output.push(line);
        const fields = JSON.parse(line) as RequestRecord & { plugin?: string };
        if (fields.plugin === 'logging' && fields.request_id !== undefined) recorder.add(fields);
      },
    });
    const logging = [createLoggingPlugin, { config: { destination: 'log' } }] as const;
    server = await startTestServer([createScriptedBackend({ models: ['scripted-model'] }), auth, logging], { logger });
  });
  after(() => server.close());

  test('the openai client: one record per request, with API, operation, principal and address', async () => {
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const start = recorder.records.length;
    const whole = await openai.chat.completions.create({ model: 'scripted-model', messages });
    assert.equal(whole.choices[0]?.message.content, 'You said: hello there');
    const stream = await openai.chat.completions.create({ model: 'scripted-model', messages, stream: true });
    for await (const _chunk of stream);
    await openai.models.list();
    await openai.embeddings.create({ model: 'scripted-model', input: 'some text' });
    const records = (await recorder.until(start + 4)).slice(start);
    assert.deepEqual(
      records.map((record) => [record.api, record.operation, record.stream, record.outcome]),
      [
        ['openai', 'chat', false, 'completed'],
        ['openai', 'chat', true, 'completed'],
        ['openai', 'models.list', false, 'completed'],
        ['openai', 'embeddings', false, 'completed'],
      ],
    );
    for (const record of records) {
      assert.equal(record.principal, 'ops');
      assert.match(record.client_address ?? '', /127\.0\.0\.1/);
      assert.match(record.user_agent ?? '', /OpenAI/i);
      assert.equal(record.status, 200);
      assert.ok(
        record.steps.every((step) => step.plugin !== 'logging'),
        'the logger is not its own step',
      );
    }
    assert.deepEqual(essence(records[1]!), essence(records[0]!), 'streamed and whole chats log the same');
    assert.equal(records[0]!.model, 'scripted-model');
    assert.ok(records[0]!.steps.some((step) => step.plugin === 'auth'));
    assert.ok((records[0]!.tokens?.total ?? 0) > 0);
    assert.equal(new Set(records.map((record) => record.request_id)).size, 4);
  });

  test('the ollama client: the same, with api ollama', async () => {
    const ollama = new Ollama({ host: server.url, headers: { Authorization: `Bearer ${KEY}` } });
    const start = recorder.records.length;
    const whole = await ollama.chat({ model: 'scripted-model', messages });
    assert.equal(whole.message.content, 'You said: hello there');
    for await (const _part of await ollama.chat({ model: 'scripted-model', messages, stream: true }));
    await ollama.list();
    await ollama.embed({ model: 'scripted-model', input: 'some text' });
    const records = (await recorder.until(start + 4)).slice(start);
    assert.deepEqual(
      records.map((record) => [record.api, record.operation, record.stream, record.outcome, record.principal]),
      [
        ['ollama', 'chat', false, 'completed', 'ops'],
        ['ollama', 'chat', true, 'completed', 'ops'],
        ['ollama', 'models.list', false, 'completed', 'ops'],
        ['ollama', 'embeddings', false, 'completed', 'ops'],
      ],
    );
    assert.deepEqual(essence(records[1]!), essence(records[0]!));
  });

  test('a wrong key: a rejected record naming no principal, and the key nowhere in the log', async () => {
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: WRONG_KEY, maxRetries: 0 });
    const start = recorder.records.length;
    await assert.rejects(
      openai.chat.completions.create({ model: 'scripted-model', messages }),
      OpenAI.AuthenticationError,
    );
    const [record] = (await recorder.until(start + 1)).slice(start);
    assert.equal(record!.outcome, 'rejected');
    assert.equal(record!.status, 401);
    assert.equal(record!.error?.code, 'auth/UNAUTHENTICATED');
    assert.equal(record!.error?.plugin, 'auth');
    assert.equal(record!.principal, null);
    assert.match(record!.client_address ?? '', /127\.0\.0\.1/, 'who tried, for the audit trail');
    const everything = output.join('');
    assert.ok(!everything.includes(WRONG_KEY));
    assert.ok(!everything.includes(KEY));
  });
});

describe('through the HTTP server, destination file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plugboard-logging-http-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('one JSON line per request, all written when the server stops', async () => {
    const file = join(dir, 'records.jsonl');
    const logging = [createLoggingPlugin, { config: { destination: 'file', file } }] as const;
    const server = await startTestServer([createScriptedBackend({ models: ['scripted-model'] }), auth, logging]);
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const ollama = new Ollama({ host: server.url, headers: { Authorization: `Bearer ${KEY}` } });
    await openai.chat.completions.create({ model: 'scripted-model', messages });
    const stream = await openai.chat.completions.create({ model: 'scripted-model', messages, stream: true });
    for await (const _chunk of stream);
    await ollama.chat({ model: 'scripted-model', messages });
    await server.close();
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 3);
    const records = lines.map((line) => JSON.parse(line) as RequestRecord & Record<string, unknown>);
    for (const record of records) {
      assert.equal(record.level, 'INFO');
      assert.equal(record.plugin, 'logging');
      assert.equal(record.message, 'chat completed');
      assert.ok(!Number.isNaN(Date.parse(String(record.timestamp))));
      assert.equal(record.principal, 'ops');
      assert.equal(record.outcome, 'completed');
    }
    assert.deepEqual(
      records.map((record) => [record.api, record.stream]),
      [
        ['openai', false],
        ['openai', true],
        ['ollama', false],
      ],
    );
    assert.ok(!lines.join('').includes(KEY));
  });
});
