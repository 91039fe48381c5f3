/**
 * Fuzzing the OpenAI API's request handling: ~2000 malformed bodies (random JSON values,
 * objects shaped like requests with wrongly shaped fields, random text, huge numbers, deep
 * nesting) sent to `POST /v1/chat/completions` and `POST /v1/embeddings`. Every answer must
 * be a 4xx with an OpenAI error object whose message is a non-empty string — never a 5xx —
 * no malformed request may reach the backend, and the server must still answer valid
 * requests afterwards.
 *
 * The bodies are sampled with a seed (printed on failure; set FUZZ_SEED to replay) and sent
 * with limited concurrency over keep-alive connections, so the test stays quick.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

const RUNS_PER_ENDPOINT = 1000;
const CONCURRENCY = 8;
const seed = process.env.FUZZ_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED);

const backend = createScriptedBackend({ name: 'fuzz-backend', models: ['real-model'] });
let server: TestServer;

before(async () => {
  server = await startTestServer([backend]);
});
after(() => server.close());

// ——— arbitraries ———

/**
 * Model names that never resolve: they start with `x`, so they are neither `real-model` nor
 * prefixed by the backend's name. A body that is otherwise valid then gets a 404, and no
 * generated request can reach the backend.
 */
const unknownModel = fc.string({ maxLength: 20 }).map((name) => `x${name}`);

/** Any JSON value, up to a few levels deep. */
const json = fc.jsonValue({ maxDepth: 4 });

/** Text with any code units, lone surrogates included. */
const anyText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }));

/** Numbers JSON can spell but JavaScript cannot hold, as raw JSON literals. */
const hugeNumberLiteral = fc.constantFrom(
  '1e999',
  '-1e999',
  '123456789012345678901234567890',
  '-0',
  '1e-999',
  '0.1e400',
  '9007199254740993',
);

/**
 * `[[[…]]]` or `{"a":{"a":…}}` as raw JSON text: always deeper than any valid field allows
 * (65+), sometimes deeper than a recursive walk of the value survives (20 000+).
 */
const deepNesting = fc
  .tuple(
    fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 65, max: 2_000 }) }, fc.integer({ min: 20_000, max: 40_000 })),
    fc.boolean(),
  )
  .map(([depth, arrays]) =>
    arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
  );

/** A message with fields of plausible names but random (mostly wrong) values. */
const wrongMessage = fc.oneof(
  json,
  fc.record(
    {
      role: fc.oneof(fc.constantFrom('system', 'developer', 'user', 'assistant', 'tool', 'function', ''), json),
      content: fc.oneof(
        json,
        fc.array(
          fc.record(
            {
              type: fc.oneof(fc.constantFrom('text', 'image_url', 'input_audio', 'file'), json),
              text: json,
              image_url: json,
            },
            { requiredKeys: [] },
          ),
        ),
      ),
      name: json,
      tool_calls: fc.oneof(json, fc.array(fc.record({ id: json, type: json, function: json }, { requiredKeys: [] }))),
      tool_call_id: json,
    },
    { requiredKeys: [] },
  ),
);

/** OpenAI parameter names with random values, plus a few unknown names. */
const chatParameters = fc.dictionary(
  fc.constantFrom(
    'stream',
    'stream_options',
    'max_tokens',
    'max_completion_tokens',
    'temperature',
    'top_p',
    'stop',
    'seed',
    'response_format',
    'tools',
    'tool_choice',
    'n',
    'logprobs',
    'top_logprobs',
    'logit_bias',
    'metadata',
    'user',
    'modalities',
    'reasoning_effort',
    'frequency_penalty',
    'unknown_field',
  ),
  json,
  { maxKeys: 4 },
);

/** Request-shaped objects for chat: right field names, wrong shapes. */
const chatObject = fc
  .tuple(
    fc.oneof(unknownModel, json),
    fc.oneof(json, fc.array(wrongMessage, { maxLength: 4 })),
    chatParameters,
    fc.boolean(),
  )
  .map(([model, messages, parameters, dropModel]) => ({
    ...(dropModel ? {} : { model }),
    messages,
    ...parameters,
  }));

/** Request-shaped objects for embeddings. */
const embeddingsObject = fc.record(
  {
    model: fc.oneof(unknownModel, json),
    input: fc.oneof(json, fc.array(fc.oneof(anyText, fc.integer(), fc.array(fc.integer()), json), { maxLength: 5 })),
    encoding_format: fc.oneof(fc.constantFrom('float', 'base64', 'hex'), json),
    dimensions: json,
    extra: json,
  },
  { requiredKeys: [] },
);

/** Valid-looking chat bodies with a huge number spliced into a numeric field, or deep nesting into a schema field. */
const chatRawLiteral = fc
  .tuple(
    unknownModel,
    fc.constantFrom('max_tokens', 'temperature', 'seed', 'top_p', 'n', 'frequency_penalty'),
    hugeNumberLiteral,
  )
  .map(
    ([model, field, literal]) =>
      `{"model":${JSON.stringify(model)},"messages":[{"role":"user","content":"hi"}],"${field}":${literal}}`,
  );
/**
 * Deep nesting in a field, with the real model: these bodies are invalid whatever the depth
 * drawn, and routing must not be what stops them (an unknown model would answer 404 before
 * the body's fields are used).
 */
const chatDeep = fc
  .tuple(deepNesting, fc.constantFrom('tools', 'response_format', 'messages', 'metadata', 'stop'))
  .map(([deep, field]) => {
    const body: Record<string, string> = { model: '"real-model"', messages: '[{"role":"user","content":"hi"}]' };
    if (field === 'tools') body.tools = `[{"type":"function","function":{"name":"f","parameters":${deep}}}]`;
    else if (field === 'response_format')
      body.response_format = `{"type":"json_schema","json_schema":{"name":"n","schema":${deep}}}`;
    else body[field] = deep;
    return `{${Object.entries(body)
      .map(([key, value]) => `"${key}":${value}`)
      .join(',')}}`;
  });
const embeddingsRaw = fc.oneof(
  fc
    .tuple(unknownModel, hugeNumberLiteral)
    .map(([model, value]) => `{"model":${JSON.stringify(model)},"input":${value}}`),
  deepNesting.map((value) => `{"model":"real-model","input":${value}}`),
);

/** What is sent: raw text as is, anything else JSON-encoded; with a random content type. */
interface Case {
  readonly body: string;
  readonly contentType: string | undefined;
}

const contentType = fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', undefined);

function cases(objects: fc.Arbitrary<unknown>, raw: fc.Arbitrary<string>): fc.Arbitrary<Case> {
  const body = fc.oneof(
    { weight: 3, arbitrary: objects.map((value) => JSON.stringify(value)) },
    { weight: 2, arbitrary: json.map((value) => JSON.stringify(value)) },
    { weight: 2, arbitrary: anyText },
    { weight: 2, arbitrary: raw },
  );
  return fc.record({ body, contentType });
}

// ——— sending ———

interface Answer {
  readonly status: number;
  readonly text: string;
}

async function send(path: string, sample: Case): Promise<Answer> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    body: sample.body,
    headers: sample.contentType === undefined ? {} : { 'content-type': sample.contentType },
  });
  return { status: response.status, text: await response.text() };
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

function assertClientError(path: string, sample: Case, answer: Answer): void {
  const where = `${path} (seed ${seed}) body ${JSON.stringify(sample.body.slice(0, 300))} → ${answer.status} ${answer.text.slice(0, 300)}`;
  assert.ok(answer.status >= 400 && answer.status < 500, `not a 4xx: ${where}`);
  const parsed = JSON.parse(answer.text) as { error?: { message?: unknown; type?: unknown } };
  assert.equal(typeof parsed.error?.message, 'string', `no error message: ${where}`);
  assert.ok(String(parsed.error?.message).length > 0, `empty error message: ${where}`);
  assert.equal(typeof parsed.error?.type, 'string', `no error type: ${where}`);
}

test('malformed bodies are always answered 4xx with an OpenAI error, and the server keeps working', async () => {
  const endpoints: [string, fc.Arbitrary<Case>][] = [
    ['/v1/chat/completions', cases(chatObject, fc.oneof(chatRawLiteral, chatDeep))],
    ['/v1/embeddings', cases(embeddingsObject, embeddingsRaw)],
  ];
  for (const [path, arbitrary] of endpoints) {
    const samples = fc.sample(arbitrary, { numRuns: RUNS_PER_ENDPOINT, seed });
    await pool(samples, CONCURRENCY, async (sample) => assertClientError(path, sample, await send(path, sample)));
  }
  assert.equal(backend.calls.length, 0, 'no malformed request reached the backend');

  const chat = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    body: JSON.stringify({ model: 'real-model', messages: [{ role: 'user', content: 'still there?' }] }),
  });
  assert.equal(chat.status, 200);
  const completion = (await chat.json()) as { choices: { message: { content: string } }[] };
  assert.equal(completion.choices[0]?.message.content, 'You said: still there?');

  const embeddings = await fetch(`${server.url}/v1/embeddings`, {
    method: 'POST',
    body: JSON.stringify({ model: 'real-model', input: 'still there?' }),
  });
  assert.equal(embeddings.status, 200);
});
