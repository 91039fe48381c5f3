/**
 * Fuzzing the Ollama API's request validation: ~2000 malformed bodies (raw strings, random
 * JSON values, valid requests with one field made wrong, nested garbage) spread over
 * `/api/chat`, `/api/generate`, `/api/embed` and `/api/show`. Every answer must be a 4xx in
 * Ollama's `{ "error": "…" }` form, never a 5xx, and the server must still answer a valid
 * request afterwards. Requests run a few at a time over keep-alive connections.
 *
 * Reproduce a failure with the seed it prints: `FUZZ_SEED=<seed> node scripts/run-tests.mjs ollama-fuzz`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { Ollama } from 'ollama';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

const RUNS = 2000;
const CONCURRENCY = 6;
const SEED = process.env.FUZZ_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED);
const MODEL = 'scripted-model';

type Route = '/api/chat' | '/api/generate' | '/api/embed' | '/api/show';

interface FuzzRequest {
  readonly route: Route;
  readonly body: string;
  readonly contentType: string | undefined;
}

// ——— values that are wrong for a field of a given type (never null: null means "absent") ———

const json = fc.jsonValue({ maxDepth: 3 });
const anArray = fc.array(json, { maxLength: 4 });
const anObject = fc.dictionary(fc.string({ maxLength: 8 }), json, { maxKeys: 4 });
const aNumber = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));

const notString = fc.oneof(aNumber, fc.boolean(), anArray, anObject);
const notBoolean = fc.oneof(fc.string(), aNumber, anArray, anObject);
const notArray = fc.oneof(fc.string(), aNumber, fc.boolean(), anObject);
const notObject = fc.oneof(fc.string(), aNumber, fc.boolean(), anArray);
/** Not a string, not a list of strings. */
const notStrings = fc.oneof(
  aNumber,
  fc.boolean(),
  anObject,
  fc.tuple(fc.string(), notString).map(([a, b]) => [a, b]),
);

const badModel = fc.oneof(notString, fc.constant(''));
const badOptions = fc.oneof(
  notObject,
  fc.record({ temperature: fc.oneof(fc.double({ min: 2.01, max: 1e9, noNaN: true }), fc.string()) }),
  fc.record({ top_k: fc.oneof(fc.double({ min: 0.1, max: 0.9, noNaN: true }), fc.integer({ max: -1 })) }),
  fc.record({ num_predict: fc.oneof(fc.string(), fc.boolean(), anArray) }),
  fc.record({ stop: fc.oneof(aNumber, fc.boolean(), fc.array(aNumber, { minLength: 1 })) }),
);
const badFormat = fc.oneof(
  aNumber,
  fc.boolean(),
  anArray,
  fc.string().filter((text) => text !== '' && text !== 'json'),
);
// "x…" is neither a number of seconds nor a Go duration.
const badKeepAlive = fc.oneof(
  fc.boolean(),
  anArray,
  anObject,
  fc.string().map((text) => `x${text}`),
);
const badThink = fc.oneof(
  aNumber,
  anArray,
  anObject,
  fc.string().filter((text) => !['high', 'medium', 'low'].includes(text)),
);
const badMessage = fc.oneof(
  notObject,
  fc.record({ role: fc.string().filter((role) => !['system', 'user', 'assistant', 'tool'].includes(role)) }),
  fc.record({ role: fc.constant('user'), content: notString }),
  fc.record({ role: fc.constant('user'), images: notArray }),
  fc.record({
    role: fc.constant('assistant'),
    tool_calls: fc.oneof(notArray, fc.constant([{ function: { name: '' } }]), fc.constant([{ function: 5 }])),
  }),
);
const badMessages = fc.oneof(notArray, fc.array(badMessage, { minLength: 1, maxLength: 3 }));
const badTools = fc.oneof(notArray, fc.constant([{ type: 'function' }]), fc.constant([{ function: { name: 3 } }]));

/** For each route: a valid body, and for each field a value that makes it invalid. */
const ROUTES: Readonly<
  Record<Route, { readonly valid: Record<string, unknown>; readonly wrong: Record<string, fc.Arbitrary<unknown>> }>
> = {
  '/api/chat': {
    valid: { model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: false },
    wrong: {
      model: badModel,
      messages: badMessages,
      stream: notBoolean,
      options: badOptions,
      format: badFormat,
      keep_alive: badKeepAlive,
      think: badThink,
      tools: badTools,
    },
  },
  '/api/generate': {
    valid: { model: MODEL, prompt: 'hi', stream: false },
    wrong: {
      model: badModel,
      prompt: notString,
      system: notString,
      images: fc.oneof(notArray, fc.array(notString, { minLength: 1, maxLength: 2 })),
      raw: notBoolean,
      stream: notBoolean,
      context: fc.oneof(notArray, fc.array(fc.string(), { minLength: 1, maxLength: 2 })),
      options: badOptions,
      format: badFormat,
      keep_alive: badKeepAlive,
      think: badThink,
    },
  },
  '/api/embed': {
    valid: { model: MODEL, input: ['hi'] },
    wrong: {
      model: badModel,
      input: notStrings,
      truncate: notBoolean,
      dimensions: fc.oneof(fc.integer({ max: 0 }), fc.double({ min: 0.1, max: 0.9, noNaN: true }), fc.string()),
      options: badOptions,
      keep_alive: badKeepAlive,
    },
  },
  '/api/show': {
    valid: { model: MODEL },
    wrong: { model: notString, name: notString, verbose: notBoolean },
  },
};

const route = fc.constantFrom<Route>('/api/chat', '/api/generate', '/api/embed', '/api/show');

/** A valid body with one to three fields made wrong, and maybe unknown extra fields. */
const wrongShape = route.chain((path) => {
  const { valid, wrong } = ROUTES[path];
  const fields = Object.keys(wrong);
  return fc
    .tuple(
      fc.subarray(fields, { minLength: 1, maxLength: 3 }),
      fc.dictionary(
        fc.string({ maxLength: 6 }).map((key) => `x_${key}`),
        json,
        { maxKeys: 2 },
      ),
    )
    .chain(([broken, extra]) =>
      fc.tuple(...broken.map((field) => wrong[field]!)).map((values) => ({
        path,
        body: JSON.stringify({
          ...extra,
          ...valid,
          ...Object.fromEntries(broken.map((field, i) => [field, values[i]])),
        }),
      })),
    );
});

/** Deeply nested arrays and objects, alone or where a field should be. */
const { garbage } = fc.letrec((tie) => ({
  garbage: fc.oneof(
    { depthSize: 'large', withCrossShrink: true },
    fc.string({ maxLength: 4 }),
    fc.array(tie('garbage'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie('garbage'), { maxKeys: 3 }),
  ),
}));
const nested = fc.oneof(
  fc.tuple(route, garbage).map(([path, value]) => ({ path, body: JSON.stringify(value) })),
  fc.tuple(route, fc.integer({ min: 101, max: 3000 })).map(([path, depth]) => ({
    path,
    body: `{"model":"${MODEL}","options":{"deep":${'['.repeat(depth)}${']'.repeat(depth)}}}`,
  })),
  fc.tuple(route, fc.constantFrom('messages', 'input', 'options', 'format'), garbage).map(([path, field, value]) => ({
    path,
    // Some other field is always wrong too, for every route: the garbage may happen to be valid.
    body: JSON.stringify({
      model: MODEL,
      [field]: value,
      messages: [{ role: 7 }],
      input: 5,
      prompt: {},
      verbose: 'yes',
    }),
  })),
);

const rawString = fc.tuple(route, fc.string({ maxLength: 40 })).map(([path, body]) => ({ path, body }));
const jsonOfAnything = fc.tuple(route, json).map(([path, value]) => ({ path, body: JSON.stringify(value) }));

const contentType = fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain', undefined);

const malformed: fc.Arbitrary<FuzzRequest> = fc
  .tuple(fc.oneof(rawString, jsonOfAnything, wrongShape, wrongShape, nested), contentType)
  .map(([{ path, body }, type]) => ({ route: path, body, contentType: type }));

let server: TestServer;

before(async () => {
  server = await startTestServer([createScriptedBackend({ models: [MODEL] })]);
});
after(() => server.close());

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

describe('Ollama API fuzzing', () => {
  test(`${RUNS} malformed bodies all get a 4xx { error } (seed ${SEED}), and the server keeps serving`, async () => {
    const requests = fc.sample(malformed, { numRuns: RUNS, seed: SEED });
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    await pool(requests, CONCURRENCY, async (request) => {
      const response = await fetch(`${server.url}${request.route}`, {
        method: 'POST',
        body: request.body,
        ...(request.contentType === undefined ? {} : { headers: { 'content-type': request.contentType } }),
      });
      const text = await response.text();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      let error: unknown;
      try {
        error = (JSON.parse(text) as { error?: unknown }).error;
      } catch {
        error = undefined;
      }
      if (response.status < 400 || response.status >= 500 || typeof error !== 'string' || error === '') {
        failures.push(`${request.route} ${request.body.slice(0, 300)} → ${response.status} ${text.slice(0, 300)}`);
      }
    });
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} bad answers (seed ${SEED})`);
    assert.equal(
      [...statuses.values()].reduce((sum, count) => sum + count, 0),
      RUNS,
    );
    assert.ok((statuses.get(400) ?? 0) > RUNS / 2, 'most bodies are refused by validation');

    const client = new Ollama({ host: server.url });
    const response = await client.chat({ model: MODEL, messages: [{ role: 'user', content: 'still there?' }] });
    assert.equal(response.message.content, 'You said: still there?');
  });
});
