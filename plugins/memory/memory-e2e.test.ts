/**
 * Memory end to end, as an operator runs it: one YAML file, `serve()` on 127.0.0.1 (port 0),
 * the llamacpp backend on the tiny random GGUF model, `sql_store` on a SQLite file in a
 * temporary folder, `memory` by name — asked with the official `openai` and `ollama` clients
 * and plain `fetch` for the conversation API. A conversation started on one API continues on
 * the other, streamed or not, and after a restart of the server on the same file.
 *
 * The only test-made plugin is `prompt_observer` (a `plugin_file`): a `beforeModelCall` hook
 * recording what the model is about to be given, to prove that the history reaches it. The
 * model's text is gibberish: assertions are about what is stored and sent, never the words.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import type { RunningPlugboard } from '../../src/server/serve.ts';
import { PLUGBOARD_SRC } from '../../test/support/plugin-sources.ts';
import { RuntimeFixture } from '../../test/support/runtime-fixture.ts';
import { tinyGgufFile, tinyLlamacppBackendsYaml } from '../../test/support/tiny-gguf.ts';

const MODEL = 'llamacpp/tiny';
const OBSERVED = 'plugboardMemoryE2eObserver';

const OBSERVER_SOURCE = `
import { definePlugin } from ${JSON.stringify(PLUGBOARD_SRC)};
const seen = (globalThis[${JSON.stringify(OBSERVED)}] ??= []);
export default definePlugin({
  metadata: { name: 'prompt_observer', version: '1.0.0' },
  onBeforeModelCall: ({ context }) => {
    seen.push(context.messages.map((message) => message.role + ': ' + message.content));
  },
});
`;

/** What the model was about to be given, per model call (chats only: memory's own calls skip hooks). */
function modelCalls(): string[][] {
  const seen: unknown = Reflect.get(globalThis, OBSERVED);
  return Array.isArray(seen) ? (seen as string[][]) : [];
}

let fixture: RuntimeFixture;
let running: RunningPlugboard;

async function start(): Promise<void> {
  running = await fixture.serve();
}

before(async () => {
  fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-memory-e2e-'));
  await fixture.write('prompt-observer.plugin.ts', OBSERVER_SOURCE);
  await fixture.write(
    'config.yaml',
    `mode: production
plugin_manager:
  default_backend: llamacpp
${tinyLlamacppBackendsYaml(await tinyGgufFile())}middleware:
  sql_store:
    config:
      file: ${JSON.stringify(join(fixture.dir, 'data', 'plugboard.db'))}
  prompt_observer:
    plugin_file: prompt-observer.plugin.ts
    priority: LOW
features:
  memory:
    config:
      tokenizer: chars
      reserve_tokens: 32
      auto_title: true
`,
  );
  await start();
});

after(async () => {
  await running?.stop();
  await fixture?.dispose();
});

const openai = () => new OpenAI({ baseURL: `${running.url}/v1`, apiKey: 'unused', maxRetries: 0 });
const ollama = () => new Ollama({ host: running.url });

/** The fields of the conversation API's answers this file reads (an error's too). */
interface Answer {
  readonly id: string;
  readonly title: string | null;
  readonly message_count: number;
  readonly messages: readonly { readonly role: string; readonly content: string }[];
  readonly data: readonly { readonly id: string }[];
  readonly next_cursor: string | null;
}

/** The conversation API, as JSON. */
async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Answer }> {
  const response = await fetch(`${running.url}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.text();
  return { status: response.status, json: (text === '' ? {} : JSON.parse(text)) as Answer };
}

let conversation = '';

test('openai: x-conversation-id new starts a conversation; the id comes back in the header and the plugboard data', async () => {
  const { data, response } = await openai()
    .chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: 'My name is Ada.' }], max_tokens: 6, temperature: 0 },
      { headers: { 'x-conversation-id': 'new' } },
    )
    .withResponse();
  conversation = response.headers.get('x-conversation-id') ?? '';
  assert.match(conversation, /^[0-9a-f-]{36}$/);
  assert.deepEqual((data as unknown as { plugboard?: unknown }).plugboard, {
    memory: { conversation_id: conversation },
  });
  const stored = await api('GET', `/v1/conversations/${conversation}`);
  assert.equal(stored.status, 200);
  assert.equal(stored.json.message_count, 2);
  assert.equal(stored.json.messages[1]?.content, data.choices[0]?.message.content, 'the reply as the client got it');
});

test('openai streamed, with the id in metadata.conversation_id: the model sees the history, the reply is stored', async () => {
  const before = modelCalls().length;
  const stream = await openai().chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: 'What is my name?' }],
    max_tokens: 6,
    temperature: 0,
    stream: true,
    metadata: { conversation_id: conversation },
  });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  const prompt = modelCalls()[before];
  assert.ok(prompt, 'the model was called');
  assert.equal(prompt[0], 'user: My name is Ada.');
  assert.equal(prompt.at(-1), 'user: What is my name?');
  assert.equal(prompt.length, 3);
  const stored = await api('GET', `/v1/conversations/${conversation}`);
  assert.equal(stored.json.message_count, 4);
  assert.equal(stored.json.messages[3]?.content, text);
});

test('ollama: the body field conversation_id continues the same conversation', async () => {
  const before = modelCalls().length;
  const reply = await ollama().chat({
    model: MODEL,
    messages: [{ role: 'user', content: 'Still there?' }],
    options: { num_predict: 6, temperature: 0 },
    conversation_id: conversation,
  } as Parameters<Ollama['chat']>[0] & { stream?: false });
  assert.equal(modelCalls()[before]?.length, 5, 'four stored messages and the new one');
  const stored = await api('GET', `/v1/conversations/${conversation}`);
  assert.equal(stored.json.message_count, 6);
  assert.equal(stored.json.messages[5]?.content, reply.message.content);
});

test('an unknown conversation is a 404 on both APIs', async () => {
  const unknown = '00000000-0000-4000-8000-000000000000';
  const error = await openai()
    .chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 },
      { headers: { 'x-conversation-id': unknown } },
    )
    .catch((thrown: unknown) => thrown);
  assert.ok(error instanceof OpenAI.APIError, String(error));
  assert.equal(error.status, 404);
  const ollamaAnswer = await fetch(`${running.url}/api/chat`, {
    method: 'POST',
    body: JSON.stringify({
      model: MODEL,
      stream: false,
      conversation_id: unknown,
      messages: [{ role: 'user', content: 'hi' }],
    }),
  });
  assert.equal(ollamaAnswer.status, 404);
});

test('the conversation survives a restart of the server, and continues', async () => {
  // The title is written in the background after the first reply: wait for it before stopping.
  for (
    let attempt = 0;
    attempt < 100 && (await api('GET', `/v1/conversations/${conversation}`)).json.title === null;
    attempt++
  ) {
    await sleep(50);
  }
  const title = (await api('GET', `/v1/conversations/${conversation}`)).json.title;
  assert.equal(typeof title, 'string', 'titled after the first reply');
  assert.ok(title !== null && title.length <= 80 && !title.includes('\n'), JSON.stringify(title));

  const beforeRestart = await api('GET', `/v1/conversations/${conversation}`);
  await running.stop();
  await start();
  const afterRestart = await api('GET', `/v1/conversations/${conversation}`);
  assert.equal(afterRestart.status, 200);
  assert.deepEqual(afterRestart.json.messages, beforeRestart.json.messages);

  const before = modelCalls().length;
  await openai().chat.completions.create(
    { model: MODEL, messages: [{ role: 'user', content: 'After the restart' }], max_tokens: 4 },
    { headers: { 'x-conversation-id': conversation } },
  );
  const prompt = modelCalls()[before]!;
  assert.equal(prompt[0], 'user: My name is Ada.', 'the history from before the restart');
  assert.equal(prompt.length, 7);
});

test('the conversation API over HTTP: list, search, rename, export, delete', async () => {
  const created = await api('POST', '/v1/conversations', { title: 'Empty one' });
  assert.equal(created.status, 201);
  const list = await api('GET', '/v1/conversations?limit=1');
  assert.equal(list.status, 200);
  assert.equal(list.json.data.length, 1);
  assert.equal(typeof list.json.next_cursor, 'string');
  const next = await api('GET', `/v1/conversations?limit=1&cursor=${encodeURIComponent(list.json.next_cursor ?? '')}`);
  assert.deepEqual([list.json.data[0]?.id, next.json.data[0]?.id].sort(), [conversation, created.json.id].sort());
  const searched = await api('GET', '/v1/conversations?search=after%20the%20restart');
  assert.deepEqual(
    searched.json.data.map((entry: { id: string }) => entry.id),
    [conversation],
  );
  const bad = await api('GET', '/v1/conversations?limit=0');
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.json), /query\.limit/);

  const renamed = await api('PATCH', `/v1/conversations/${conversation}`, { title: 'Ada’s chat' });
  assert.equal(renamed.json.title, 'Ada’s chat');

  const exported = await fetch(`${running.url}/v1/conversations/${conversation}/export?format=markdown`);
  assert.equal(exported.status, 200);
  assert.match(exported.headers.get('content-type') ?? '', /^text\/markdown/);
  assert.match(
    exported.headers.get('content-disposition') ?? '',
    new RegExp(`attachment.*conversation-${conversation}\\.md`),
  );
  assert.match(await exported.text(), /^# Ada’s chat\n[\s\S]*## User\n[\s\S]*My name is Ada\./);

  assert.equal((await api('DELETE', `/v1/conversations/${conversation}`)).status, 204);
  const gone = await api('GET', `/v1/conversations/${conversation}`);
  assert.equal(gone.status, 404);
  assert.match(JSON.stringify(gone.json), /memory\/not_found/i, "the code, lower-cased in OpenAI's error format");
});
