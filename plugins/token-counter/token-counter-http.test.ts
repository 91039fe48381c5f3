/**
 * The token counter in the real HTTP server, through the official clients: a spent budget is a
 * 429 with Retry-After and a message giving the limit, the use and the reset time, in OpenAI's
 * error format (`RateLimitError`) and in Ollama's; a successful response carries the
 * x-token-budget-* headers; a prompt over the per-request limit is a 413; a backend without
 * counts gets the same estimated usage streamed or not, on both APIs; the counts are on
 * GET /metrics by model, backend, principal and source.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { createTokenRecorder, type TokenRecorder } from './testing/recorder.ts';
import { createTokenCounterPlugin } from './token-counter.plugin.ts';

/** The value of the sample of `name` whose labels include `labels` (in any order), or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const found = new Map([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((pair) => [pair[1], pair[2]]));
    if (Object.entries(labels).every(([key, value]) => found.get(key) === value)) return Number(match[3]);
  }
  return undefined;
}

const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/;

let server: TestServer;
let recorder: TokenRecorder;
async function start(config: unknown, usage = true) {
  recorder = createTokenRecorder();
  server = await startTestServer([
    createScriptedBackend({ usage, reply: usage ? undefined : 'A reply of several words, long enough to stream.' }),
    [() => createTokenCounterPlugin({ onRecorded: recorder.onRecorded }), { config }],
  ]);
}

// The scripted backend reports word counts: "hi" → 1 prompt token, "You said: hi" → 3; 4 a chat.
const BUDGET = { budgets: { per_principal: [{ name: 'hourly', tokens: 8, per_seconds: 3600 }] } };

describe('the official openai client', () => {
  before(() => start(BUDGET));
  after(() => server.close());

  test('x-token-budget-* on success; once spent, RateLimitError (429) with Retry-After and the reset time', async () => {
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const ask = () =>
      openai.chat.completions.create({ model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }] });
    const first = await ask().withResponse();
    assert.equal(first.data.usage?.total_tokens, 4);
    assert.equal(first.response.headers.get('x-token-budget-limit'), '8');
    assert.equal(first.response.headers.get('x-token-budget-remaining'), '8');
    assert.match(first.response.headers.get('x-token-budget-reset') ?? '', /^\d+$/);
    await recorder.until(1);
    await ask();
    await recorder.until(2);
    await assert.rejects(ask(), (error) => {
      assert.ok(error instanceof OpenAI.RateLimitError, String(error));
      assert.equal(error.status, 429);
      assert.equal(error.code, 'token_counter/budget_exceeded');
      assert.match(
        error.message,
        /Token budget "hourly" exceeded: 8 of 8 tokens used in this 3600-second window per anonymous callers \(shared\)\. Resets at \S+ \(in \d+ s\)\./,
      );
      assert.match(error.message, ISO);
      const retryAfter = Number(error.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 3600, `Retry-After ${retryAfter}`);
      assert.equal(error.headers.get('x-token-budget-remaining'), '0');
      return true;
    });
  });
});

describe('the official ollama client', () => {
  before(() => start(BUDGET));
  after(() => server.close());

  test('a spent budget is a 429 in Ollama’s format, with Retry-After', async () => {
    const ollama = new Ollama({ host: server.url });
    for (let index = 1; index <= 2; index++) {
      const reply = await ollama.chat({ model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(reply.prompt_eval_count + reply.eval_count, 4);
      await recorder.until(index);
    }
    await assert.rejects(
      ollama.chat({ model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }] }),
      (error) => {
        const refused = error as { name: string; status_code: number; error: string };
        assert.equal(refused.name, 'ResponseError');
        assert.equal(refused.status_code, 429);
        assert.match(refused.error, /^Token budget "hourly" exceeded: 8 of 8 tokens used/);
        return true;
      },
    );
    const raw = await fetch(`${server.url}/api/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'scripted-model', prompt: 'hi', stream: false }),
    });
    assert.equal(raw.status, 429, 'generate shares the budget');
    const body = (await raw.json()) as { code: string; error: string };
    assert.equal(body.code, 'token_counter/BUDGET_EXCEEDED');
    assert.match(body.error, ISO);
    assert.match(raw.headers.get('retry-after') ?? '', /^\d+$/);
  });
});

describe('a backend without counts, a per-request limit, and the metrics', () => {
  before(() => start({ budgets: { per_request: { max_prompt_tokens: 100 } }, metrics: { by_principal: true } }, false));
  after(() => server.close());

  const messages = [{ role: 'user' as const, content: 'Count my tokens, please.' }];

  test('OpenAI: the estimated usage is the same streamed (include_usage) or not', async () => {
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const whole = await openai.chat.completions.create({ model: 'scripted-model', messages });
    assert.ok((whole.usage?.prompt_tokens ?? 0) > 0 && (whole.usage?.completion_tokens ?? 0) > 0);
    const stream = await openai.chat.completions.create({
      model: 'scripted-model',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    assert.deepEqual(usage, whole.usage);
  });

  test('Ollama: prompt_eval_count and eval_count are the same streamed or not', async () => {
    const ollama = new Ollama({ host: server.url });
    const whole = await ollama.chat({ model: 'scripted-model', messages });
    assert.ok(whole.prompt_eval_count > 0 && whole.eval_count > 0);
    let last: { prompt_eval_count: number; eval_count: number } | undefined;
    for await (const part of await ollama.chat({ model: 'scripted-model', messages, stream: true })) {
      if (part.done) last = part;
    }
    assert.deepEqual([last?.prompt_eval_count, last?.eval_count], [whole.prompt_eval_count, whole.eval_count]);
  });

  test('a prompt over max_prompt_tokens is a 413 saying the estimate and the limit', async () => {
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    await assert.rejects(
      openai.chat.completions.create({
        model: 'scripted-model',
        messages: [{ role: 'user', content: 'many words '.repeat(100) }],
      }),
      (error) => {
        assert.ok(error instanceof OpenAI.APIError, String(error));
        assert.equal(error.status, 413);
        assert.match(
          error.message,
          /The prompt is estimated at \d+ tokens \(gpt-tokenizer:o200k_base\); the limit per request is 100\./,
        );
        return true;
      },
    );
  });

  test('GET /metrics: tokens by direction, model, backend, principal and source; refusals by reason', async () => {
    await recorder.until(4);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /# HELP token_counter_tokens_total /);
    const promptSum = recorder.records.reduce((sum, record) => sum + record.prompt, 0);
    const labels = { model: 'scripted-model', backend: 'scripted', principal: 'anonymous', source: 'estimate' };
    assert.equal(sample(text, 'token_counter_tokens_total', { direction: 'prompt', ...labels }), promptSum);
    assert.ok((sample(text, 'token_counter_tokens_total', { direction: 'completion', ...labels }) ?? 0) > 0);
    assert.equal(
      sample(text, 'token_counter_budget_refusals_total', { reason: 'prompt_too_large', principal: 'anonymous' }),
      1,
    );
  });
});
