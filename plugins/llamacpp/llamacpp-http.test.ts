/**
 * The llamacpp backend end to end: a real Plugboard HTTP server running the tiny random model,
 * asked through the official `openai` and `ollama` clients, streamed and not, with a message
 * processor (redact-emails) in the pipeline. Gibberish text, so the assertions are about
 * structure, token counts and determinism: at temperature 0 the same prompt gives the same
 * reply whatever the API or mode, and a prompt whose e-mail address the processor redacts
 * gives the reply of the prompt written with `[email]` — proof that the plugin ran before
 * the model saw it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import redactEmails from '../../examples/plugins/redact-emails.plugin.ts';
import { definePlugin, type RequestOutcome } from '../../src/index.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { readChatStream } from '../../test/support/openai-stream.ts';
import { tinyGgufFile } from '../../test/support/tiny-gguf.ts';
import { LlamaCppBackend } from './llamacpp.plugin.ts';

let server: TestServer;
let openai: OpenAI;
let ollama: Ollama;
const backend = new LlamaCppBackend();
/** How each request ended, as the requestEnd hook saw it. */
const outcomes: RequestOutcome[] = [];
const outcomeRecorder = definePlugin({
  metadata: { name: 'outcomes', version: '1.0.0' },
  onRequestEnd: ({ outcome }) => {
    outcomes.push(outcome);
  },
});

before(async () => {
  const modelPath = await tinyGgufFile();
  server = await startTestServer([
    [backend, { config: { model_path: modelPath, model_id: 'tiny', threads: 1, sequences: 2 } }],
    redactEmails,
    outcomeRecorder,
  ]);
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
  ollama = new Ollama({ host: server.url });
});
after(() => server?.close());

const PROMPT = 'Say something about the weather';

describe('llamacpp over HTTP: OpenAI API', () => {
  test('GET /v1/models lists the model as llamacpp/tiny, without loading it', async () => {
    const models = await openai.models.list();
    assert.ok(models.data.some((model) => model.id === 'llamacpp/tiny'));
    assert.equal(backend.loaded, false);
  });

  test('chat completion: content, finish_reason "length" and exact usage', async () => {
    const completion = await openai.chat.completions.create({
      model: 'llamacpp/tiny',
      messages: [{ role: 'user', content: PROMPT }],
      temperature: 0,
      max_tokens: 12,
    });
    const [choice] = completion.choices;
    assert.equal(choice?.message.role, 'assistant');
    assert.equal(typeof choice?.message.content, 'string');
    assert.ok((choice?.message.content ?? '').length > 0);
    assert.equal(choice?.finish_reason, 'length');
    assert.equal(completion.usage?.completion_tokens, 12);
    assert.ok((completion.usage?.prompt_tokens ?? 0) > 5);
    assert.equal(completion.usage?.total_tokens, (completion.usage?.prompt_tokens ?? 0) + 12);
  });

  test('streamed: deltas that join to the same text, then finish_reason and usage', async () => {
    // Long enough for text to get past redact-emails, which holds back up to 80 characters.
    const whole = await openai.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: PROMPT }],
      temperature: 0,
      max_tokens: 100,
    });
    const stream = await openai.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: PROMPT }],
      temperature: 0,
      max_tokens: 100,
      stream: true,
      stream_options: { include_usage: true },
    });
    const { text, deltas, finish, usage } = await readChatStream(stream);
    assert.ok(deltas >= 2, `${deltas} deltas`);
    assert.equal(text, whole.choices[0]?.message.content);
    assert.equal(finish, 'length');
    assert.equal(usage?.completion_tokens, 100);
    assert.equal(usage?.prompt_tokens, whole.usage?.prompt_tokens);
  });

  test('the redact-emails processor ran: an address in the prompt reaches the model as [email]', async () => {
    const ask = async (content: string) =>
      (
        await openai.chat.completions.create({
          model: 'llamacpp/tiny',
          messages: [{ role: 'user', content }],
          temperature: 0,
          max_tokens: 16,
        })
      ).choices[0]?.message.content;
    const redacted = await ask('Write to [email] today');
    assert.equal(await ask('Write to jane.doe@example.com today'), redacted);
    assert.notEqual(await ask('Write to someone today'), redacted, 'the prompt does change the reply');
  });

  test('embeddings: one vector per input', async () => {
    const result = await openai.embeddings.create({ model: 'llamacpp/tiny', input: ['hello', 'world'] });
    assert.equal(result.data.length, 2);
    for (const item of result.data) assert.equal(item.embedding.length, 64);
  });

  test('a client that leaves mid-stream: the request is aborted, generation stops, the next request is served', async () => {
    const before = (await backend.healthCheck()).details!;
    const stream = await openai.chat.completions.create({
      model: 'llamacpp/tiny',
      messages: [{ role: 'user', content: 'A very long story, please' }],
      temperature: 0,
      max_tokens: 240,
      stream: true,
    });
    let deltas = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content && ++deltas === 2) stream.controller.abort();
    }
    let stats = (await backend.healthCheck()).details!;
    for (let attempt = 0; attempt < 500 && (stats.busy !== 0 || !outcomes.includes('aborted')); attempt++) {
      await sleep(10);
      stats = (await backend.healthCheck()).details!;
    }
    assert.ok(outcomes.includes('aborted'), `request outcomes: ${outcomes.join(', ')}`);
    assert.equal(stats.busy, 0);
    assert.equal(stats.generations, (before.generations as number) + 1);
    const generated = (stats.generatedTokens as number) - (before.generatedTokens as number);
    assert.ok(generated < 200, `${generated} of up to 240 tokens generated after the client left`);
    const next = await openai.chat.completions.create({
      model: 'llamacpp/tiny',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 3,
    });
    assert.equal(next.usage?.completion_tokens, 3);
  });

  test('a model the backend does not serve: 404', async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: 'llamacpp/other', messages: [{ role: 'user', content: 'hi' }] }),
      (error: unknown) => error instanceof OpenAI.APIError && error.status === 404,
    );
  });
});

describe('llamacpp over HTTP: Ollama API', () => {
  test('chat: the same reply as over the OpenAI API, done_reason "length", eval counts', async () => {
    const openaiText = (
      await openai.chat.completions.create({
        model: 'tiny',
        messages: [{ role: 'user', content: PROMPT }],
        temperature: 0,
        max_tokens: 12,
      })
    ).choices[0]?.message.content;
    const response = await ollama.chat({
      model: 'tiny',
      messages: [{ role: 'user', content: PROMPT }],
      options: { temperature: 0, num_predict: 12 },
    });
    assert.equal(response.message.role, 'assistant');
    assert.equal(response.message.content, openaiText);
    assert.equal(response.done, true);
    assert.equal(response.done_reason, 'length');
    assert.equal(response.eval_count, 12);
    assert.ok(response.prompt_eval_count > 5);
  });

  test('chat streamed: parts that join to the same text, the last one done with counts', async () => {
    const whole = await ollama.chat({
      model: 'llamacpp/tiny',
      messages: [{ role: 'user', content: PROMPT }],
      options: { temperature: 0, num_predict: 100 },
    });
    const parts = await ollama.chat({
      model: 'llamacpp/tiny',
      messages: [{ role: 'user', content: PROMPT }],
      options: { temperature: 0, num_predict: 100 },
      stream: true,
    });
    let text = '';
    let count = 0;
    let last: Awaited<ReturnType<typeof ollama.chat>> | undefined;
    for await (const part of parts) {
      text += part.message.content;
      count++;
      last = part;
    }
    assert.ok(count >= 3, `${count} parts`);
    assert.equal(text, whole.message.content);
    assert.equal(last?.done, true);
    assert.equal(last?.done_reason, 'length');
    assert.equal(last?.eval_count, 100);
    assert.equal(last?.prompt_eval_count, whole.prompt_eval_count);
  });

  test('/api/tags and /api/show describe the GGUF model', async () => {
    const { models } = await ollama.list();
    const tiny = models.find((model) => model.name === 'llamacpp/tiny');
    assert.ok(tiny, JSON.stringify(models.map((model) => model.name)));
    assert.equal(tiny.details.format, 'gguf');
    assert.equal(tiny.details.family, 'llama');
    assert.equal(tiny.details.quantization_level, 'F32');
    assert.ok(tiny.size > 100_000);
    const shown = await ollama.show({ model: 'tiny' });
    assert.equal(shown.details.family, 'llama');
    assert.equal((shown.model_info as unknown as Record<string, unknown>)['llama.context_length'], 256);
  });

  test('embed', async () => {
    const result = await ollama.embed({ model: 'tiny', input: ['one', 'two', 'three'] });
    assert.equal(result.embeddings.length, 3);
    assert.equal(result.embeddings[0]?.length, 64);
  });
});
