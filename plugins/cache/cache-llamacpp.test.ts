/**
 * End to end with a real model: a Plugboard HTTP server running the llamacpp backend on the
 * tiny random GGUF model, with the cache, asked through the official `openai` and `ollama`
 * clients at temperature 0. A streamed reply is recorded on the first request and replayed as
 * a stream on the second, identical one — the same text, finish reason and usage, and no
 * second generation (the backend's own count proves it). A reply cut at max_tokens is not
 * stored (default `cache_truncated: false`); a stop sequence ends the reply naturally, so the
 * tests find one in the model's (gibberish, but deterministic) output first.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { readChatStream } from '../../test/support/openai-stream.ts';
import { tinyGgufFile } from '../../test/support/tiny-gguf.ts';
import { LlamaCppBackend } from '../llamacpp/llamacpp.plugin.ts';
import { createCachePlugin } from './cache.plugin.ts';

let server: TestServer;
let openai: OpenAI;
let ollama: Ollama;
const backend = new LlamaCppBackend();

before(async () => {
  const modelPath = await tinyGgufFile();
  server = await startTestServer([
    [backend, { config: { model_path: modelPath, model_id: 'tiny', threads: 1, sequences: 1 } }],
    [createCachePlugin, { config: {} }],
  ]);
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
  ollama = new Ollama({ host: server.url });
});
after(() => server?.close());

/** Generations the backend ran so far (none is reported before the model is loaded). */
async function generations(): Promise<number> {
  return Number((await backend.healthCheck()).details?.generations ?? 0);
}

/** A cache metric's value from GET /metrics. */
async function metric(series: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((each) => each.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/**
 * A stop sequence for `text`: two printable ASCII characters, preceded by another, as late as
 * possible (a longer reply streams in more pieces before it).
 */
function stopIn(text: string): string {
  let best: string | undefined;
  for (let at = 1; at < text.length - 1; at++) {
    const candidate = text.slice(at, at + 2);
    if (/^[!-~]{3}$/.test(text.slice(at - 1, at + 2)) && text.indexOf(candidate) === at) best = candidate;
  }
  assert.ok(best, `no ASCII run in ${JSON.stringify(text)}`);
  return best;
}

describe('llamacpp + cache over the OpenAI API', () => {
  const PROMPT = 'Hello';

  test('a reply cut at max_tokens is not stored', async () => {
    const ask = () =>
      openai.chat.completions
        .create({ model: 'tiny', messages: [{ role: 'user', content: PROMPT }], temperature: 0, max_tokens: 40 })
        .withResponse();
    const before = await generations();
    const first = await ask();
    assert.equal(first.data.choices[0]?.finish_reason, 'length');
    assert.equal(first.response.headers.get('x-plugboard-cache'), 'miss');
    const second = await ask();
    assert.equal(second.response.headers.get('x-plugboard-cache'), 'miss');
    assert.equal(second.data.choices[0]?.message.content, first.data.choices[0]?.message.content);
    assert.equal(await generations(), before + 2);
    assert.ok((await metric('cache_stores_total{result="truncated"}')) >= 2);
  });

  test('a cached stream replays: the second identical streamed request is a hit with the same text, finish and usage', async () => {
    const base = await openai.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: PROMPT }],
      temperature: 0,
      max_tokens: 40,
    });
    const stop = stopIn(base.choices[0]?.message.content ?? '');
    const stream = async () => {
      const { data, response } = await openai.chat.completions
        .create({
          model: 'tiny',
          messages: [{ role: 'user', content: PROMPT }],
          temperature: 0,
          max_tokens: 40,
          stop: [stop],
          stream: true,
          stream_options: { include_usage: true },
        })
        .withResponse();
      return { ...(await readChatStream(data)), cache: response.headers.get('x-plugboard-cache') };
    };
    const before = await generations();
    const first = await stream();
    assert.equal(first.cache, 'miss');
    assert.equal(first.finish, 'stop');
    assert.equal(
      first.text,
      (base.choices[0]?.message.content ?? '').slice(0, base.choices[0]?.message.content?.indexOf(stop)),
    );
    assert.ok(first.deltas >= 2, `a real stream: ${first.deltas} deltas`);
    assert.equal(await generations(), before + 1);

    const second = await stream();
    assert.equal(second.cache, 'hit');
    assert.equal(await generations(), before + 1, 'no second generation');
    assert.equal(second.text, first.text);
    // The replay streams the recorded text as one delta (the core's respond() takes a whole message), then the finish.
    assert.ok(second.deltas >= 1);
    assert.equal(second.finish, 'stop');
    assert.deepEqual(second.usage, first.usage);
  });
});

describe('llamacpp + cache over the Ollama API', () => {
  const PROMPT = 'Good morning';

  test('a cached stream replays as NDJSON: the same text, done_reason and eval counts, no second generation', async () => {
    const base = await ollama.chat({
      model: 'tiny',
      messages: [{ role: 'user', content: PROMPT }],
      options: { temperature: 0, num_predict: 40 },
    });
    assert.equal(base.done_reason, 'length');
    const stop = stopIn(base.message.content);
    const stream = async () => {
      const parts = await ollama.chat({
        model: 'tiny',
        messages: [{ role: 'user', content: PROMPT }],
        options: { temperature: 0, num_predict: 40, stop: [stop] },
        stream: true,
      });
      let text = '';
      let last: { done: boolean; done_reason: string; eval_count: number; prompt_eval_count: number } | undefined;
      for await (const part of parts) {
        text += part.message.content;
        last = part;
      }
      return { text, last };
    };
    const before = await generations();
    const hitsBefore = await metric('cache_requests_total{result="hit"}');
    const first = await stream();
    assert.equal(first.last?.done_reason, 'stop');
    assert.equal(first.text, base.message.content.slice(0, base.message.content.indexOf(stop)));
    assert.equal(await generations(), before + 1);

    const second = await stream();
    assert.equal(await generations(), before + 1, 'no second generation');
    assert.equal(await metric('cache_requests_total{result="hit"}'), hitsBefore + 1);
    assert.equal(second.text, first.text);
    assert.equal(second.last?.done, true);
    assert.equal(second.last?.done_reason, 'stop');
    assert.equal(second.last?.eval_count, first.last?.eval_count);
    assert.equal(second.last?.prompt_eval_count, first.last?.prompt_eval_count);
  });
});
