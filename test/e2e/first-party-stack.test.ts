/**
 * The first-party plugins together, end to end, as an operator runs them: one YAML file in a
 * temporary folder, started with `serve()` on 127.0.0.1 (port 0), with the llamacpp backend on
 * the tiny random GGUF model, a shared Redis connection (127.0.0.1:6379, a key prefix of this
 * run, deleted at the end), and, all loaded by name: auth (two API keys: one hashed in the file,
 * one from `key_env`), rate_limiter (a request limit per principal, counted in Redis),
 * token_counter (an hourly budget per principal, in the key-value store), logging (one JSON line
 * per request in a file), redis_store (the key-value store in Redis) and cache (`store: shared`),
 * plus the content_filter message processor with its defaults. Asked with the official `openai`
 * and `ollama` clients, whose every HTTP exchange goes through a recording `fetch`.
 *
 * The only test-made plugin is `prompt_observer` (a `plugin_file` written next to the config): a
 * `beforeModelCall` hook recording what the model is about to be given, to prove what reaches
 * the backend. The model's text is gibberish: the assertions are about structure, counts,
 * headers, determinism and what is (not) seen where.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import type { RunningPlugboard } from '../../src/server/serve.ts';
import { captureLogs } from '../server/observability-support.ts';
import { readChatStream } from '../support/openai-stream.ts';
import { PLUGBOARD_SRC } from '../support/plugin-sources.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';
import { tinyGgufFile, tinyLlamacppBackendsYaml } from '../support/tiny-gguf.ts';

const REDIS_URL = 'redis://127.0.0.1:6379/0';
/** The connection's key_prefix of this run: every Redis key the server writes starts with it. */
const RUN_PREFIX = `plugboard-test-e2e-${randomUUID()}:`;
/** No key prefix: sees the server's full keys, to inspect and clean up. */
const raw = new Redis(REDIS_URL, { lazyConnect: true });

/** Keys as `plugboard keys create` makes them: `pb_` and 32 random bytes, base64url. */
const newKey = () => `pb_${randomBytes(32).toString('base64url')}`;
const CHAT_KEY = newKey();
const MODELS_KEY = newKey();
const WRONG_KEY = newKey();
/** The models-only key is given to the plugin through `key_env` (read from the process's environment). */
const MODELS_KEY_ENV = `PLUGBOARD_E2E_MODELS_KEY_${process.pid}`;
const CHAT_ID = 'chat-client';
const MODELS_ID = 'models-reader';

/** The rate limiter's requests per principal per window (one window covers the whole file). */
const REQUEST_LIMIT = 30;
/** The token counter's hourly budget per principal (never reached here). */
const TOKEN_BUDGET = 100_000;
const CARD = '4111 1111 1111 1111';
const MODEL = 'llamacpp/tiny';
const OBSERVED = 'plugboardE2ePromptObserver';

const OBSERVER_SOURCE = `
import { definePlugin } from ${JSON.stringify(PLUGBOARD_SRC)};
const seen = (globalThis[${JSON.stringify(OBSERVED)}] ??= []);
export default definePlugin({
  metadata: { name: 'prompt_observer', version: '1.0.0' },
  onBeforeModelCall: ({ context }) => {
    seen.push(JSON.stringify({ messages: context.messages, headers: context.client?.headers ?? {}, principal: context.principal?.id ?? null }));
  },
});
`;

/** What the model was about to be given, one JSON text per model call (see OBSERVER_SOURCE). */
function modelCalls(): string[] {
  const seen: unknown = Reflect.get(globalThis, OBSERVED);
  return Array.isArray(seen) ? seen.map(String) : [];
}

/** The operator's configuration. */
function configYaml(modelPath: string, logFile: string): string {
  return `# Every first-party plugin together, on a local GGUF model and a shared Redis.
mode: production

plugin_manager:
  default_backend: llamacpp

connections:
  redis:
    shared:
      url: ${JSON.stringify(REDIS_URL)}
      key_prefix: ${JSON.stringify(RUN_PREFIX)}
      connect_timeout: 2

${tinyLlamacppBackendsYaml(modelPath)}
message_processors:
  content_filter: {}

middleware:
  auth:
    config:
      keys:
        - id: ${CHAT_ID}
          hash: sha256:${createHash('sha256').update(CHAT_KEY).digest('hex')}
          scopes: [chat, models, embeddings]
        - id: ${MODELS_ID}
          key_env: ${MODELS_KEY_ENV}
          scopes: [models]
  rate_limiter:
    config:
      store: { type: redis, connection: shared }
      limits:
        - name: per-principal
          key: principal
          requests: ${REQUEST_LIMIT}
          per_seconds: 600
  token_counter:
    config:
      budgets:
        per_principal:
          - name: hourly
            tokens: ${TOKEN_BUDGET}
            per_seconds: 3600
  logging:
    config:
      destination: file
      file: ${JSON.stringify(logFile)}
      include_bodies: true
  redis_store:
    config:
      connection: shared
  cache:
    config:
      store: shared
      cache_sampled: false
      ttl_seconds: 600
  prompt_observer:
    plugin_file: prompt-observer.plugin.ts
    priority: LOW
`;
}

/** One HTTP exchange a client made, as the recording fetch saw it. */
interface Exchange {
  readonly method: string;
  readonly path: string;
  readonly key: 'chat' | 'models' | 'wrong' | 'none';
  readonly status: number;
  readonly requestId: string | null;
  readonly degraded: string | null;
}
const exchanges: Exchange[] = [];

function keyOf(headers: Headers): Exchange['key'] {
  const presented = headers.get('authorization')?.replace(/^Bearer /, '') ?? headers.get('x-api-key');
  if (presented === null || presented === undefined) return 'none';
  if (presented === CHAT_KEY) return 'chat';
  if (presented === MODELS_KEY) return 'models';
  return 'wrong';
}

/** `fetch`, recording each exchange: every client of this file uses it. */
const recordingFetch: typeof fetch = async (input, init) => {
  const request = new Request(input, init);
  const response = await fetch(request);
  exchanges.push({
    method: request.method,
    path: new URL(request.url).pathname,
    key: keyOf(request.headers),
    status: response.status,
    requestId: response.headers.get('x-request-id'),
    degraded: response.headers.get('x-plugboard-degraded'),
  });
  return response;
};

let fixture: RuntimeFixture;
let running: RunningPlugboard;
let logFile: string;
let logs: ReturnType<typeof captureLogs>;

const openaiWith = (apiKey: string | null) =>
  new OpenAI({
    baseURL: `${running.url}/v1`,
    apiKey: apiKey ?? 'unused',
    maxRetries: 0,
    fetch: recordingFetch,
    ...(apiKey === null ? { defaultHeaders: { Authorization: null } } : {}),
  });
const ollamaWith = (apiKey: string | null) =>
  new Ollama({
    host: running.url,
    fetch: recordingFetch,
    ...(apiKey === null ? {} : { headers: { Authorization: `Bearer ${apiKey}` } }),
  });
const bearer = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });

before(async () => {
  fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-e2e-stack-'));
  logFile = join(fixture.dir, 'logs', 'requests.jsonl');
  await fixture.write('prompt-observer.plugin.ts', OBSERVER_SOURCE);
  await fixture.write('config.yaml', configYaml(await tinyGgufFile(), logFile));
  process.env[MODELS_KEY_ENV] = MODELS_KEY;
  await raw.connect();
  logs = captureLogs();
  running = await fixture.serve({ logger: logs.logger });
});

after(async () => {
  await running?.stop();
  delete process.env[MODELS_KEY_ENV];
  const keys = await raw.keys(`${RUN_PREFIX}*`);
  if (keys.length > 0) await raw.del(...keys);
  raw.disconnect();
  await fixture?.dispose();
});

/** GET /metrics: the value of each series whose line starts with `name{` and contains every label given. */
async function metricValues(name: string, labels: Record<string, string>): Promise<number[]> {
  const text = await (await fetch(`${running.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`))
    .filter((line) => Object.entries(labels).every(([label, value]) => line.includes(`${label}="${value}"`)))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
}

/** The log file's records (the whole lines written so far). */
async function records(): Promise<Record<string, unknown>[]> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .slice(0, -1)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Waits (up to 5 s) for the log record of each request id; they are written after the response. */
async function recordsOf(ids: readonly (string | null)[]): Promise<Map<string, Record<string, unknown>>> {
  for (let attempt = 0; ; attempt++) {
    const byId = new Map((await records()).map((record) => [String(record.request_id), record]));
    if (ids.every((id) => id !== null && byId.has(id)) || attempt === 100) return byId;
    await sleep(50);
  }
}

/**
 * Tokens charged to the chat key's budget "hourly", in Redis through redis_store: the sum over its
 * windows (one, unless the file runs across the top of an hour).
 */
async function budgetUsed(): Promise<number> {
  const keys = await raw.keys(`${RUN_PREFIX}*token_counter:hourly:*${CHAT_ID}`);
  const values = keys.length === 0 ? [] : await raw.mget(...keys);
  return values.reduce((sum, value) => sum + Number(value ?? 0), 0);
}

/** {@link budgetUsed} once the charges of earlier requests (made in the background) have landed. */
async function settledBudgetUsed(): Promise<number> {
  let previous = await budgetUsed();
  for (let attempt = 0; attempt < 20; attempt++) {
    await sleep(100);
    const now = await budgetUsed();
    if (now === previous && now > 0) return now;
    previous = now;
  }
  return previous;
}

/** Polls `read` (up to 5 s) until `done` says yes; returns the last value read. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let attempt = 0; attempt < 100 && !done(value); attempt++) {
    await sleep(50);
    value = await read();
  }
  return value;
}

/** A stop sequence in `text`: two printable ASCII characters after a third, first found where taken. */
function stopIn(text: string): string {
  let found: string | undefined;
  for (let at = 1; at < text.length - 1; at++) {
    const candidate = text.slice(at, at + 2);
    if (/^[!-~]{3}$/.test(text.slice(at - 1, at + 2)) && text.indexOf(candidate) === at) found = candidate;
  }
  assert.ok(found, `no ASCII run in ${JSON.stringify(text)}`);
  return found;
}

interface OpenAiStreamed {
  readonly text: string;
  readonly deltas: number;
  readonly finish: string | null | undefined;
  readonly usage: OpenAI.CompletionUsage | null | undefined;
  readonly headers: Headers;
}

async function openaiStream(
  openai: OpenAI,
  messages: OpenAI.ChatCompletionMessageParam[],
  options: { readonly max_tokens: number; readonly stop?: string[] },
): Promise<OpenAiStreamed> {
  const { data, response } = await openai.chat.completions
    .create({
      model: MODEL,
      messages,
      temperature: 0,
      ...options,
      stream: true,
      stream_options: { include_usage: true },
    })
    .withResponse();
  return { ...(await readChatStream(data)), headers: response.headers };
}

test('the server starts from the YAML file with every plugin active', async () => {
  const status = (await (await fetch(`${running.url}/plugins`)).json()) as {
    plugins: Record<string, { state: string }>;
  };
  for (const name of [
    'connections',
    'llamacpp',
    'content_filter',
    'auth',
    'rate_limiter',
    'token_counter',
    'logging',
    'redis_store',
    'cache',
    'prompt_observer',
  ]) {
    assert.equal(status.plugins[name]?.state, 'ACTIVE', `${name}: ${JSON.stringify(status.plugins[name])}`);
  }
  const health = await fetch(`${running.url}/health/ready`);
  assert.equal(health.status, 200, await health.text());
});

test('(1) auth: no key and a wrong key are 401 in each API’s format; the models-only key gets 403 on chat, 200 on model lists', async () => {
  const callsBefore = modelCalls().length;
  const chatRequest = { model: MODEL, messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 4 };

  for (const [client, what] of [
    [openaiWith(null), 'no key'],
    [openaiWith(WRONG_KEY), 'a wrong key'],
  ] as const) {
    await assert.rejects(client.chat.completions.create(chatRequest), (error) => {
      assert.ok(error instanceof OpenAI.AuthenticationError, `${what}: ${String(error)}`);
      assert.equal(error.status, 401);
      assert.equal(error.code, 'auth/unauthenticated');
      assert.equal(error.type, 'authentication_error');
      assert.match(error.headers.get('www-authenticate') ?? '', /^Bearer realm="plugboard"/);
      return true;
    });
    await assert.rejects(client.models.list(), OpenAI.AuthenticationError);
  }
  for (const client of [ollamaWith(null), ollamaWith(WRONG_KEY)]) {
    await assert.rejects(client.chat({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }] }), {
      name: 'ResponseError',
      status_code: 401,
    });
    await assert.rejects(client.list(), { name: 'ResponseError', status_code: 401 });
  }
  // The Ollama format on the wire: { error, code }.
  const raw401 = await recordingFetch(`${running.url}/api/chat`, {
    method: 'POST',
    body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], stream: false }),
  });
  assert.equal(raw401.status, 401);
  assert.match(raw401.headers.get('www-authenticate') ?? '', /^Bearer realm="plugboard"/);
  assert.equal(((await raw401.json()) as { code?: string }).code, 'auth/UNAUTHENTICATED');

  const modelsOnly = openaiWith(MODELS_KEY);
  await assert.rejects(modelsOnly.chat.completions.create(chatRequest), (error) => {
    assert.ok(error instanceof OpenAI.PermissionDeniedError, String(error));
    assert.equal(error.status, 403);
    assert.equal(error.code, 'auth/forbidden');
    assert.match(error.message, /"chat" scope/);
    return true;
  });
  await assert.rejects(
    ollamaWith(MODELS_KEY).chat({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    { name: 'ResponseError', status_code: 403 },
  );
  const listed = await modelsOnly.models.list().withResponse();
  assert.equal(listed.response.status, 200);
  assert.ok(
    listed.data.data.some((model) => model.id === MODEL),
    JSON.stringify(listed.data.data),
  );
  const tags = await ollamaWith(MODELS_KEY).list();
  assert.ok(tags.models.some((model) => model.name.includes('tiny')));

  assert.equal(modelCalls().length, callsBefore, 'no refused request reached the model');
});

test('(2) a good key chats through both clients, whole and streamed, at temperature 0: the same reply four ways', async () => {
  const prompt = 'Tell me about the weather in Lisbon';
  const openai = openaiWith(CHAT_KEY);
  const ollama = ollamaWith(CHAT_KEY);
  const callsBefore = modelCalls().length;

  const whole = await openai.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: prompt }],
    temperature: 0,
    max_tokens: 24,
  });
  const [choice] = whole.choices;
  assert.equal(choice?.message.role, 'assistant');
  const text = choice?.message.content ?? '';
  assert.ok(text.length > 0);
  assert.equal(choice?.finish_reason, 'length');
  assert.equal(whole.model, MODEL);
  assert.equal(whole.usage?.completion_tokens, 24);
  assert.ok((whole.usage?.prompt_tokens ?? 0) > 0);
  assert.equal(whole.usage?.total_tokens, (whole.usage?.prompt_tokens ?? 0) + 24);

  const streamed = await openaiStream(openai, [{ role: 'user', content: prompt }], { max_tokens: 24 });
  assert.ok(streamed.deltas >= 1);
  assert.equal(streamed.text, text);
  assert.equal(streamed.finish, 'length');
  assert.deepEqual(streamed.usage, whole.usage);
  assert.match(streamed.headers.get('content-type') ?? '', /^text\/event-stream/);

  const ollamaWhole = await ollama.chat({
    model: 'tiny',
    messages: [{ role: 'user', content: prompt }],
    options: { temperature: 0, num_predict: 24 },
  });
  assert.equal(ollamaWhole.done, true);
  assert.equal(ollamaWhole.done_reason, 'length');
  assert.equal(ollamaWhole.message.role, 'assistant');
  assert.equal(ollamaWhole.message.content, text);
  assert.equal(ollamaWhole.eval_count, 24);
  assert.equal(ollamaWhole.prompt_eval_count, whole.usage?.prompt_tokens);

  const parts = await ollama.chat({
    model: 'tiny',
    messages: [{ role: 'user', content: prompt }],
    options: { temperature: 0, num_predict: 24 },
    stream: true,
  });
  let ollamaText = '';
  let lines = 0;
  let last: Awaited<typeof ollamaWhole> | undefined;
  for await (const part of parts) {
    ollamaText += part.message.content;
    lines++;
    last = part;
  }
  assert.ok(lines >= 2, `${lines} NDJSON lines`);
  assert.equal(ollamaText, text);
  assert.equal(last?.done, true);
  assert.equal(last?.done_reason, 'length');
  assert.equal(last?.eval_count, 24);

  // Cut at max_tokens: never stored, so each of the four was generated.
  assert.equal(modelCalls().length, callsBefore + 4);
});

test('(3) the card number in the prompt never reaches the model, nor the log; the key never reaches later plugins', async () => {
  const callsBefore = modelCalls().length;
  const openai = openaiWith(CHAT_KEY);
  const { data, response } = await openai.chat.completions
    .create({
      model: MODEL,
      messages: [
        { role: 'user', content: `My card is ${CARD}.` },
        { role: 'assistant', content: 'Noted.' },
        { role: 'user', content: `Please charge ${CARD} again, or 4111-1111-1111-1111.` },
      ],
      temperature: 0,
      max_tokens: 8,
    })
    .withResponse();
  assert.equal(data.choices[0]?.finish_reason, 'length');
  const parts = await ollamaWith(CHAT_KEY).chat({
    model: 'tiny',
    messages: [{ role: 'user', content: `Card ${CARD} expires soon` }],
    options: { temperature: 0, num_predict: 8 },
    stream: true,
  });
  for await (const _part of parts);

  const calls = modelCalls().slice(callsBefore);
  assert.equal(calls.length, 2);
  for (const call of calls) {
    assert.doesNotMatch(call, /4111[ -]?1111[ -]?1111[ -]?1111/, call);
    assert.match(call, /\[card\]/);
    assert.ok(!call.includes(CHAT_KEY), 'the key is not in what later plugins see');
    assert.doesNotMatch(call, /"authorization"|"x-api-key"/, 'credentials stripped');
    assert.equal((JSON.parse(call) as { principal: string }).principal, CHAT_ID);
  }
  const firstCall = JSON.parse(calls[0]!) as { messages: { role: string; content: string }[] };
  assert.equal(firstCall.messages.length, 3, 'the whole conversation, earlier user message included');
  assert.equal(firstCall.messages[0]?.content, 'My card is [card].');

  const record = (await recordsOf([response.headers.get('x-request-id')])).get(
    response.headers.get('x-request-id') ?? '',
  );
  assert.ok(record, 'the request has a log record');
  assert.match(String(record.request_text), /\[card\]/);
  assert.doesNotMatch(await readFile(logFile, 'utf8'), /4111[ -]?1111[ -]?1111[ -]?1111/);
});

test('(4) a cached stream replays: a hit with the same text, finish and usage, no model call, no budget charge; also through the Ollama API', async () => {
  const openai = openaiWith(CHAT_KEY);
  const prompt = 'Write a short poem about Redis';
  const base = await openai.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: prompt }],
    temperature: 0,
    max_tokens: 40,
  });
  const baseText = base.choices[0]?.message.content ?? '';
  // A reply cut at max_tokens is not stored: a stop sequence ends it naturally.
  const stop = stopIn(baseText);

  const callsBefore = modelCalls().length;
  const usedBefore = await settledBudgetUsed();
  assert.ok(usedBefore > 0, 'the earlier chats were charged');
  const first = await openaiStream(openai, [{ role: 'user', content: prompt }], { max_tokens: 40, stop: [stop] });
  assert.equal(first.headers.get('x-plugboard-cache'), 'miss');
  assert.equal(first.finish, 'stop');
  assert.equal(first.text, baseText.slice(0, baseText.indexOf(stop)));
  assert.equal(modelCalls().length, callsBefore + 1);
  const charged = (first.usage?.prompt_tokens ?? 0) + (first.usage?.completion_tokens ?? 0);
  assert.ok(charged > 0);
  // The budget is charged in the background, in Redis through redis_store.
  assert.equal(await until(budgetUsed, (used) => used >= usedBefore + charged), usedBefore + charged);
  // The entry is written after the reply, in the background, under the cache's prefix in Redis.
  const entries = await until(
    () => raw.keys(`${RUN_PREFIX}kv:cache:*`),
    (keys) => keys.length > 0,
  );
  assert.equal(entries.length, 1, entries.join(', '));

  const second = await openaiStream(openai, [{ role: 'user', content: prompt }], { max_tokens: 40, stop: [stop] });
  assert.equal(second.headers.get('x-plugboard-cache'), 'hit');
  assert.match(second.headers.get('age') ?? '', /^\d+$/);
  assert.equal(second.text, first.text);
  assert.equal(second.finish, 'stop');
  assert.deepEqual(second.usage, first.usage);
  assert.equal(modelCalls().length, callsBefore + 1, 'no second model call');

  // The same request through the Ollama API: the entry recorded through /v1 answers it, as NDJSON.
  const parts = await ollamaWith(CHAT_KEY).chat({
    model: MODEL,
    messages: [{ role: 'user', content: prompt }],
    options: { temperature: 0, num_predict: 40, stop: [stop] },
    stream: true,
  });
  let ollamaText = '';
  let doneReason: string | undefined;
  for await (const part of parts) {
    ollamaText += part.message.content;
    if (part.done) doneReason = part.done_reason;
  }
  assert.equal(ollamaText, first.text);
  assert.equal(doneReason, 'stop');
  assert.equal(modelCalls().length, callsBefore + 1, 'still no second model call');
  assert.equal(exchanges.at(-1)?.path, '/api/chat');

  const hits = exchanges.slice(-2).map((exchange) => exchange.requestId);
  const logged = await recordsOf(hits);
  for (const id of hits) {
    // A hit is logged with the usage stored with the entry.
    assert.equal(logged.get(id ?? '')?.outcome, 'completed');
    assert.deepEqual(logged.get(id ?? '')?.tokens, {
      prompt: first.usage?.prompt_tokens,
      completion: first.usage?.completion_tokens,
      total: charged,
    });
  }
  // A hit is not charged to budgets: no model spent tokens on it.
  await sleep(200);
  assert.equal(await budgetUsed(), usedBefore + charged);
  assert.deepEqual(await metricValues('cache_requests_total', { result: 'hit' }), [2]);
});

test('(5) tokens are counted: usage in the response, budget headers, token_counter_tokens_total by principal, tokens in the log', async () => {
  const { data, response } = await openaiWith(CHAT_KEY)
    .chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Count my tokens' }],
      temperature: 0,
      max_tokens: 6,
    })
    .withResponse();
  const usage = data.usage;
  assert.ok((usage?.prompt_tokens ?? 0) > 0);
  assert.equal(usage?.completion_tokens, 6);
  assert.equal(response.headers.get('x-token-budget-limit'), String(TOKEN_BUDGET));
  const remaining = Number(response.headers.get('x-token-budget-remaining'));
  // Tokens left before this request: less than the budget, unless a new hour has just begun.
  assert.ok(remaining > 0 && remaining <= TOKEN_BUDGET, `remaining ${remaining}`);
  assert.ok(Number(response.headers.get('x-token-budget-reset')) > 0);

  for (const direction of ['prompt', 'completion']) {
    const values = await metricValues('token_counter_tokens_total', {
      direction,
      principal: CHAT_ID,
      backend: 'llamacpp',
      source: 'backend',
    });
    assert.ok(values.length > 0, `a ${direction} series for ${CHAT_ID}`);
    assert.ok(values.reduce((sum, value) => sum + value, 0) > 0, `${direction}: ${values.join(', ')}`);
  }
  assert.deepEqual(
    await metricValues('token_counter_tokens_total', { principal: MODELS_ID }),
    [],
    'no chat, no tokens',
  );

  const id = response.headers.get('x-request-id');
  const record = (await recordsOf([id])).get(id ?? '');
  assert.equal(record?.principal, CHAT_ID);
  assert.equal(record?.operation, 'chat');
  assert.equal(record?.backend, 'llamacpp');
  assert.deepEqual(record?.tokens, {
    prompt: usage?.prompt_tokens,
    completion: 6,
    total: (usage?.prompt_tokens ?? 0) + 6,
  });
});

test('(6) the rate limit: after N requests per principal, 429 with Retry-After in both API formats; other principals go on', async () => {
  const openai = openaiWith(CHAT_KEY);
  const callsBefore = modelCalls().length;
  let refusal: unknown;
  for (let attempt = 0; attempt <= REQUEST_LIMIT && refusal === undefined; attempt++) {
    refusal = await openai.models.list().then(
      () => undefined,
      (error: unknown) => error,
    );
  }
  assert.ok(refusal instanceof OpenAI.RateLimitError, String(refusal));
  assert.equal(refusal.status, 429);
  assert.equal(refusal.code, 'rate_limiter/limited');
  assert.equal(refusal.type, 'rate_limit_error');
  assert.match(
    refusal.message,
    new RegExp(`Rate limit "per-principal" exceeded: ${REQUEST_LIMIT} requests per 600 seconds per principal`),
  );
  assert.ok(Number(refusal.headers.get('retry-after')) >= 1);
  assert.equal(refusal.headers.get('x-ratelimit-limit'), String(REQUEST_LIMIT));
  assert.equal(refusal.headers.get('x-ratelimit-remaining'), '0');

  // Exactly N of the chat key's requests passed the limiter (auth refusals never reach it).
  const byChatKey = exchanges.filter((exchange) => exchange.key === 'chat');
  const firstRefused = byChatKey.findIndex((exchange) => exchange.status === 429);
  assert.equal(firstRefused, REQUEST_LIMIT);

  // OpenAI's format on a chat, streamed or not.
  for (const stream of [false, true]) {
    const answer = await recordingFetch(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: bearer(CHAT_KEY),
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream, temperature: 0 }),
    });
    assert.equal(answer.status, 429);
    assert.ok(Number(answer.headers.get('retry-after')) >= 1);
    const body = (await answer.json()) as { error?: { type?: string; code?: string } };
    assert.equal(body.error?.type, 'rate_limit_error');
    assert.equal(body.error?.code, 'rate_limiter/limited');
  }
  // Ollama's format: the official client, then the wire.
  const ollama = ollamaWith(CHAT_KEY);
  await assert.rejects(ollama.chat({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }] }), {
    name: 'ResponseError',
    status_code: 429,
  });
  await assert.rejects(ollama.list(), { name: 'ResponseError', status_code: 429 });
  const answer = await recordingFetch(`${running.url}/api/chat`, {
    method: 'POST',
    headers: bearer(CHAT_KEY),
    body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], stream: false }),
  });
  assert.equal(answer.status, 429);
  assert.ok(Number(answer.headers.get('retry-after')) >= 1);
  const body = (await answer.json()) as { error?: string; code?: string };
  assert.equal(body.code, 'rate_limiter/LIMITED');
  assert.match(body.error ?? '', /^Rate limit "per-principal" exceeded/);
  assert.equal(modelCalls().length, callsBefore, 'no refused request reached the model');

  // The counters live in Redis under the connection's prefix.
  assert.ok((await raw.keys(`${RUN_PREFIX}rate_limiter:*`)).length >= 1);
  // Another principal has its own count.
  const other = await openaiWith(MODELS_KEY).models.list().withResponse();
  assert.equal(other.response.status, 200);
});

test('(7) one log line per request, with its principal and status, and no API key anywhere in the log', async () => {
  const ids = exchanges.map((exchange) => exchange.requestId);
  assert.ok(
    ids.every((id) => id !== null),
    'every response has x-request-id',
  );
  assert.equal(new Set(ids).size, ids.length, 'distinct request ids');
  const byId = await recordsOf(ids);
  const all = await records();
  assert.equal(all.length, exchanges.length, 'one line per request, no more');
  const principals = { chat: CHAT_ID, models: MODELS_ID, wrong: null, none: null } as const;
  for (const exchange of exchanges) {
    const record = byId.get(exchange.requestId ?? '');
    assert.ok(record, `a record for ${exchange.method} ${exchange.path} (${exchange.status})`);
    assert.equal(record.status, exchange.status, `${exchange.method} ${exchange.path}`);
    // A 403 names the refused key too (the audit trail says who tried a forbidden operation).
    if (exchange.status === 403) assert.equal((record.error as { code?: string } | undefined)?.code, 'auth/FORBIDDEN');
    assert.equal(record.principal, principals[exchange.key], `${exchange.method} ${exchange.path}`);
    assert.equal(record.api, exchange.path.startsWith('/v1/') ? 'openai' : 'ollama', exchange.path);
    assert.equal(record.level, 'INFO');
    assert.equal(record.plugin, 'logging');
  }
  assert.deepEqual(
    exchanges.filter((exchange) => exchange.degraded !== null),
    [],
    'no plugin was bypassed on any request',
  );

  const text = await readFile(logFile, 'utf8');
  const serverLog = logs.raw();
  for (const [name, key] of [
    ['chat', CHAT_KEY],
    ['models', MODELS_KEY],
    ['wrong', WRONG_KEY],
  ] as const) {
    assert.ok(!text.includes(key), `the ${name} key is in the request log`);
    assert.ok(!text.includes(key.slice(3)), `the ${name} key's body is in the request log`);
    assert.ok(!serverLog.includes(key), `the ${name} key is in the server log`);
  }
  assert.doesNotMatch(text, /Bearer pb_|pb_[A-Za-z0-9_-]{20}/);
});
