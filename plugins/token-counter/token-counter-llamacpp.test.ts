/**
 * End to end with a real model: the llamacpp backend running the tiny random GGUF model in a
 * real Plugboard HTTP server, asked through the official `openai` and `ollama` clients. The
 * token counter takes llama.cpp's own counts (marked `source: backend`, no tokenizer loaded),
 * records exactly what the clients were told, streamed or not, and spends the budget with
 * them: the backend's counts decide the 429.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { tinyGgufFile } from '../../test/support/tiny-gguf.ts';
import { LlamaCppBackend } from '../llamacpp/llamacpp.plugin.ts';
import { createTokenRecorder } from './testing/recorder.ts';
import { createTokenCounterPlugin } from './token-counter.plugin.ts';

const PROMPT = 'Say something about the weather';
const recorder = createTokenRecorder();
let server: TestServer;
let openai: OpenAI;
let ollama: Ollama;

before(async () => {
  const modelPath = await tinyGgufFile();
  server = await startTestServer([
    [new LlamaCppBackend(), { config: { model_path: modelPath, model_id: 'tiny', threads: 1, sequences: 2 } }],
    [
      () => createTokenCounterPlugin({ onRecorded: recorder.onRecorded }),
      // The tiny model's vocabulary is bytes: a request here is ~50 prompt tokens and 8–12
      // completion tokens, so three requests pass (the third starts under budget) and spend it.
      { config: { budgets: { per_principal: [{ name: 'tiny-budget', tokens: 150, per_seconds: 3600 }] } } },
    ],
  ]);
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
  ollama = new Ollama({ host: server.url });
});
after(() => server?.close());

describe('token_counter with the llamacpp backend', () => {
  test('OpenAI, whole and streamed: the recorded counts are llama.cpp’s, as the client got them', async () => {
    const whole = await openai.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: PROMPT }],
      temperature: 0,
      max_tokens: 12,
    });
    assert.equal(whole.usage?.completion_tokens, 12);
    const [first] = await recorder.until(1);
    assert.equal(first?.source, 'backend');
    assert.equal(first?.tokenizer, undefined);
    assert.equal(first?.backend, 'llamacpp');
    assert.deepEqual([first?.prompt, first?.completion], [whole.usage?.prompt_tokens, 12]);

    const stream = await openai.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: PROMPT }],
      temperature: 0,
      max_tokens: 12,
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    const [, second] = await recorder.until(2);
    assert.deepEqual(usage, whole.usage, 'streamed or not, the same counts');
    assert.deepEqual([second?.prompt, second?.completion, second?.source], [usage?.prompt_tokens, 12, 'backend']);
  });

  test('Ollama: prompt_eval_count and eval_count are what was recorded; then the budget they spent refuses', async () => {
    const reply = await ollama.chat({
      model: 'tiny',
      messages: [{ role: 'user', content: PROMPT }],
      options: { temperature: 0, num_predict: 8 },
    });
    const records = await recorder.until(3);
    const third = records[2];
    assert.deepEqual([third?.prompt, third?.completion], [reply.prompt_eval_count, reply.eval_count]);
    const used = records.reduce((sum, record) => sum + record.prompt + record.completion, 0);
    assert.ok(used >= 150, `${used} tokens used`);

    await assert.rejects(
      ollama.chat({ model: 'tiny', messages: [{ role: 'user', content: PROMPT }], options: { num_predict: 4 } }),
      (error) => {
        const refused = error as { status_code: number; error: string };
        assert.equal(refused.status_code, 429);
        assert.match(refused.error, new RegExp(`^Token budget "tiny-budget" exceeded: ${used} of 150 tokens used`));
        return true;
      },
    );
  });

  test('the counts are on /metrics with source="backend"; no tokenizer was loaded', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const prompt = text
      .split('\n')
      .find(
        (line) =>
          line.startsWith('token_counter_tokens_total{') &&
          line.includes('direction="prompt"') &&
          line.includes('backend="llamacpp"') &&
          line.includes('source="backend"'),
      );
    const recorded = recorder.records.reduce((sum, record) => sum + record.prompt, 0);
    assert.equal(Number(prompt?.split(' ').at(-1)), recorded, text);
    const health = await (await fetch(`${server.url}/health`)).json();
    assert.match(JSON.stringify(health), /not loaded \(loads on the first estimate\)/);
  });
});
