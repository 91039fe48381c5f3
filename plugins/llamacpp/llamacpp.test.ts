/**
 * The llamacpp backend with real inference on the tiny random model
 * (test/support/tiny-gguf.ts), through a plugin manager. The model's text is gibberish:
 * the tests assert structure, token counts, streaming, cancellation and determinism, never
 * the words. One model is loaded for the file (sequences: 2, threads: 1).
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChatChunk, ChatContextInput, PluginManager } from '../../src/index.ts';
import { isPlugboardError } from '../../src/index.ts';
import { chatRequest, collectStream, startManager } from '../../src/testing/index.ts';
import { tinyGgufFile } from '../../test/support/tiny-gguf.ts';
import type { LlamaCppConfigInput } from './config.ts';
import { reasonFrom } from './llama-log.ts';
import { createLlamaCppBackend, LlamaCppBackend, parameterSize } from './llamacpp.plugin.ts';

const MODEL = 'tiny';
let modelPath: string;
let plugin: LlamaCppBackend;
let manager: PluginManager;

/** A manager over one llamacpp backend with `config` (and the tiny model unless given). */
async function startBackend(config: Partial<LlamaCppConfigInput>, name?: string) {
  const backend = createLlamaCppBackend(name === undefined ? {} : { name });
  const started = await startManager([[backend, { config: { model_path: modelPath, threads: 1, ...config } }]]);
  return { backend, manager: started };
}

/** A non-streamed request at temperature 0 with few tokens. */
function ask(content: string, options: ChatContextInput['options'] = {}, overrides: Partial<ChatContextInput> = {}) {
  return manager.chat(
    chatRequest(content, { model: MODEL, ...overrides, options: { temperature: 0, maxTokens: 12, ...options } }),
  );
}

/** The same request, streamed. */
function askStreaming(content: string, options: ChatContextInput['options'] = {}, signal?: AbortSignal) {
  const context = chatRequest(content, {
    model: `llamacpp/${MODEL}`,
    stream: true,
    options: { temperature: 0, maxTokens: 12, ...options },
  });
  return manager.stream(context, signal === undefined ? {} : { signal });
}

/** Waits until the backend has no sequence busy (generation stopped and the sequence released). */
async function idle(backend: LlamaCppBackend): Promise<Record<string, unknown>> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const details = (await backend.healthCheck()).details ?? {};
    if (details.busy === 0 && details.waiting === 0) return details;
    await sleep(10);
  }
  assert.fail('the backend stayed busy');
}

before(async () => {
  modelPath = await tinyGgufFile();
  ({ backend: plugin, manager } = await startBackend({ model_id: MODEL, sequences: 2 }));
});
after(() => manager?.shutdown());

describe('llamacpp backend: lazy loading', () => {
  test('initialize() does not load the model; listModels and the health check read only the file', async () => {
    assert.equal(plugin.loaded, false);
    const health = await plugin.healthCheck();
    assert.equal(health.status, 'healthy');
    assert.equal(health.details?.loaded, false);
    const models = await manager.getBackendProvider('llamacpp')!.listModels();
    assert.ok(models.ok);
    assert.equal(models.value.length, 1);
    const [model] = models.value;
    assert.equal(model!.id, MODEL);
    assert.equal(model!.details?.format, 'gguf');
    assert.equal(model!.details?.family, 'llama');
    assert.equal(model!.details?.context_length, 256);
    assert.equal(model!.details?.quantization_level, 'F32');
    assert.equal(model!.details?.parameter_count, 260 * 64 * 2 + 64 + 2 * (4 * 64 * 64 + 3 * 64 * 128 + 2 * 64));
    assert.equal(model!.details?.loaded, false);
    assert.equal(plugin.loaded, false, 'listing did not load it');
  });

  test('concurrent first requests share one load', async () => {
    const replies = await Promise.all([ask('first'), ask('second'), ask('first')]);
    assert.equal(plugin.loaded, true);
    assert.equal(replies[0]!.message.content, replies[2]!.message.content);
    const health = await plugin.healthCheck();
    assert.equal(health.details?.loaded, true);
    assert.equal(health.details?.contextSize, 256);
    assert.equal(health.details?.sequences, 2);
  });

  test('the model id defaults to the file name, and the loader calls the default export', async () => {
    const { default: factory } = await import('./llamacpp.plugin.ts');
    const instance = factory();
    assert.ok(instance instanceof LlamaCppBackend);
    const started = await startManager([[instance, { config: { model_path: modelPath } }]]);
    try {
      const models = await started.getBackendProvider('llamacpp')!.listModels();
      assert.ok(models.ok);
      assert.equal(
        models.value[0]!.id,
        modelPath
          .split('/')
          .at(-1)!
          .replace(/\.gguf$/, ''),
      );
      assert.equal(instance.loaded, false);
    } finally {
      await started.shutdown();
    }
  });
});

describe('llamacpp backend: chat', () => {
  test('a whole reply: assistant message, usage, finish reason and model', async () => {
    const response = await ask('Hello there');
    assert.equal(response.message.role, 'assistant');
    assert.equal(typeof response.message.content, 'string');
    assert.ok(response.message.content.length > 0);
    assert.equal(response.backend, 'llamacpp');
    assert.equal(response.model, MODEL);
    assert.ok(response.usage!.promptTokens > 2, `prompt tokens: ${response.usage!.promptTokens}`);
    assert.ok(response.usage!.completionTokens >= 1 && response.usage!.completionTokens <= 12);
    assert.ok(response.finishReason === 'stop' || response.finishReason === 'length');
    assert.ok(response.steps.every((step) => step.outcome === 'ok'));
  });

  test('a stream: text chunks, then usage and finish reason; the same text as without streaming', async () => {
    const whole = await ask('Hello there');
    const { chunks, text, response } = await collectStream(askStreaming('Hello there'));
    const textChunks = chunks.filter((chunk) => chunk.content !== undefined && chunk.content !== '');
    assert.ok(textChunks.length >= 2, `${textChunks.length} text chunks`);
    assert.equal(text, whole.message.content);
    assert.equal(response.message.content, text);
    assert.deepEqual(response.usage, whole.usage);
    assert.equal(response.finishReason, whole.finishReason);
    const last = chunks.at(-1) as ChatChunk;
    assert.ok(last.usage !== undefined || response.usage !== undefined);
  });

  test('maxTokens: finish reason "length" after exactly that many tokens', async () => {
    for (const maxTokens of [1, 5, 16]) {
      const response = await ask('Count to one hundred', { maxTokens });
      assert.equal(response.finishReason, 'length', `maxTokens ${maxTokens}`);
      assert.equal(response.usage?.completionTokens, maxTokens);
    }
    const streamed = await collectStream(askStreaming('Count to one hundred', { maxTokens: 7 }));
    assert.equal(streamed.response.finishReason, 'length');
    assert.equal(streamed.response.usage?.completionTokens, 7);
  });

  test('prompt tokens grow with the conversation', async () => {
    const short = await ask('Hi');
    const long = await ask([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Hi again, how are you today?' },
    ] as never);
    assert.ok(
      long.usage!.promptTokens > short.usage!.promptTokens + 20,
      `${long.usage!.promptTokens} vs ${short.usage!.promptTokens}`,
    );
  });

  test('temperature 0 is deterministic; so is a seed at temperature 1, and other seeds differ', async () => {
    const first = await ask('Tell me a story', { maxTokens: 16 });
    await ask('Something else in between', { maxTokens: 16 });
    const second = await ask('Tell me a story', { maxTokens: 16 });
    assert.equal(second.message.content, first.message.content);
    const seeded = async (seed: number) =>
      (await ask('Tell me a story', { maxTokens: 16, temperature: 1, seed })).message.content;
    const a = await seeded(7);
    assert.equal(await seeded(7), a);
    const others = new Set([a, await seeded(8), await seeded(9)]);
    assert.ok(others.size > 1, 'different seeds sample differently');
  });

  test('a stop sequence ends the reply before it, with finish reason "stop"', async () => {
    const base = (await ask('Hello', { maxTokens: 40 })).message.content;
    // A stop string of two printable ASCII characters, preceded by another one.
    let index = -1;
    for (let at = 1; at < base.length - 1; at++) {
      if (/^[!-~]{3}$/.test(base.slice(at - 1, at + 2))) {
        index = at;
        break;
      }
    }
    assert.ok(index > 0, `no ASCII run in ${JSON.stringify(base)}`);
    const stop = base.slice(index, index + 2);
    const stopped = await ask('Hello', { maxTokens: 40, stop: [stop] });
    assert.equal(stopped.finishReason, 'stop');
    assert.equal(stopped.message.content, base.slice(0, base.indexOf(stop)));
    assert.ok(stopped.usage!.completionTokens < 40);
  });

  test('responseFormat json_schema: the reply is JSON of that schema', async () => {
    const schema = { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] };
    const response = await ask('Give me a number', {
      maxTokens: 48,
      responseFormat: { type: 'json_schema', schema },
    });
    assert.equal(response.finishReason, 'stop', response.message.content);
    const parsed = JSON.parse(response.message.content) as { n: unknown };
    assert.equal(typeof parsed.n, 'number');
  });

  test('2 sequences, 3 concurrent requests: all complete, each as it would alone', async () => {
    const prompts = ['one', 'two', 'three'];
    const together = await Promise.all(prompts.map((prompt) => ask(prompt, { maxTokens: 10 })));
    for (const [index, prompt] of prompts.entries()) {
      const alone = await ask(prompt, { maxTokens: 10 });
      assert.equal(together[index]!.message.content, alone.message.content, prompt);
      assert.deepEqual(together[index]!.usage, alone.usage);
    }
    const streams = await Promise.all(prompts.map((prompt) => collectStream(askStreaming(prompt, { maxTokens: 10 }))));
    assert.deepEqual(
      streams.map((stream) => stream.text),
      together.map((response) => response.message.content),
    );
  });
});

describe('llamacpp backend: cancellation', () => {
  test('aborting mid-stream ends the stream and frees the sequence; the next request works', async () => {
    const controller = new AbortController();
    const stream = askStreaming('Write a long essay', { maxTokens: 250 }, controller.signal);
    let received = 0;
    await assert.rejects(
      async () => {
        for await (const chunk of stream) {
          if (chunk.content && ++received === 3) controller.abort();
        }
      },
      (error: unknown) => isPlugboardError(error, 'REQUEST_ABORTED'),
    );
    assert.equal(received, 3);
    await assert.rejects(stream.response, (error: unknown) => isPlugboardError(error, 'REQUEST_ABORTED'));
    await idle(plugin);
    const next = await ask('Are you still there?');
    assert.ok(next.message.content.length > 0);
  });

  test('leaving a stream early stops generation too', async () => {
    const stream = askStreaming('Write a long essay', { maxTokens: 250 });
    let received = 0;
    for await (const chunk of stream) {
      if (chunk.content && ++received === 2) break;
    }
    await stream.response.catch(() => undefined);
    await idle(plugin);
    assert.equal((await ask('Still there?', { maxTokens: 3 })).usage?.completionTokens, 3);
  });

  test('a request waiting for a sequence leaves the line when aborted; the others finish', async () => {
    const long = [askStreaming('essay one', { maxTokens: 120 }), askStreaming('essay two', { maxTokens: 120 })];
    const reading = long.map((stream) => collectStream(stream));
    for (let attempt = 0; attempt < 500 && (await plugin.healthCheck()).details?.busy !== 2; attempt++) await sleep(2);
    const controller = new AbortController();
    const waiting = manager.chat(chatRequest('third', { model: MODEL, options: { temperature: 0, maxTokens: 4 } }), {
      signal: controller.signal,
    });
    await sleep(5);
    controller.abort();
    await assert.rejects(waiting, (error: unknown) => isPlugboardError(error, 'REQUEST_ABORTED'));
    const results = await Promise.all(reading);
    for (const result of results) assert.equal(result.response.usage?.completionTokens, 120);
    await idle(plugin);
  });
});

describe('llamacpp backend: errors', () => {
  test('another model name: MODEL_NOT_FOUND naming the model served', async () => {
    await assert.rejects(ask('hi', {}, { model: 'llamacpp/other-model' }), (error: unknown) => {
      assert.ok(isPlugboardError(error, 'MODEL_NOT_FOUND'), String(error));
      assert.match(error.message, /serves only the model "tiny"/);
      return true;
    });
    // Ollama's implicit tag is accepted.
    assert.ok((await ask('hi', { maxTokens: 2 }, { model: `${MODEL}:latest` })).message.content !== undefined);
  });

  test('tools and images are refused with a clear 400', async () => {
    await assert.rejects(ask('hi', { tools: [{ name: 'weather' }] }), (error: unknown) => {
      assert.ok(isPlugboardError(error, 'REQUEST_INVALID'));
      assert.equal(error.status, 400);
      assert.match(error.message, /tools/);
      return true;
    });
    await assert.rejects(
      ask([{ role: 'user', content: 'What is this?', images: ['aGVsbG8='] }] as never),
      (error: unknown) => isPlugboardError(error, 'REQUEST_INVALID') && /images/.test(error.message),
    );
  });

  test('a conversation longer than the context: the oldest turns are left out, the last question kept', async () => {
    const system = { role: 'system', content: 'Be brief.' } as const;
    const question = { role: 'user', content: 'And now?' } as const;
    const long = await ask(
      [
        system,
        { role: 'user', content: 'word '.repeat(60) },
        { role: 'assistant', content: 'Fine.' },
        question,
      ] as never,
      { maxTokens: 6 },
    );
    const short = await ask([system, question] as never, { maxTokens: 6 });
    assert.equal(long.message.content, short.message.content);
    assert.deepEqual(long.usage, short.usage);
    // A last message that cannot fit on its own is refused rather than cut.
    await assert.rejects(ask('word '.repeat(400)), (error: unknown) => {
      assert.ok(isPlugboardError(error, 'REQUEST_INVALID'), String(error));
      assert.equal(error.status, 400);
      assert.match(error.message, /does not fit the context of 256 tokens/);
      return true;
    });
  });

  test('maxTokens beyond the context: the reply stops with "length" when the context is full', async () => {
    const response = await ask('Hi', { maxTokens: 1000 });
    assert.equal(response.finishReason, 'length');
    assert.equal(response.usage!.promptTokens + response.usage!.completionTokens, 255);
  });
});

describe('llamacpp backend: broken model files', () => {
  let directory: string;
  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'plugboard-llamacpp-'));
  });
  after(() => rm(directory, { recursive: true, force: true }));

  /** The error of the first chat of a fresh backend on `path`, which must not load it. */
  async function firstChatError(path: string) {
    const { backend, manager: other } = await startBackend({ model_path: path, model_id: 'broken' }, 'llamacpp-broken');
    try {
      const outcome = await other.chat(chatRequest('hi', { options: { maxTokens: 2 } })).then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(
        isPlugboardError(outcome, 'BACKEND_UNAVAILABLE'),
        `expected BACKEND_UNAVAILABLE, got ${String(outcome)}`,
      );
      assert.equal(backend.loaded, false);
      const health = await backend.healthCheck();
      return { error: outcome, health, backend, manager: other };
    } finally {
      await other.shutdown();
    }
  }

  test('a llama model without attention.head_count (llama.cpp would abort): refused, naming file and key', async () => {
    // Loaded as is, this file kills the process with SIGABRT (exit 134); here it is checked first.
    const path = await tinyGgufFile({ omitKeys: ['llama.attention.head_count'], name: 'no-heads' }, directory);
    const { error, health } = await firstChatError(path);
    assert.match(error.message, new RegExp(`${path.replaceAll('/', '\\/').replaceAll('.', '\\.')}`));
    assert.match(error.message, /"llama\.attention\.head_count"/);
    assert.deepEqual(error.details?.missingKeys, ['llama.attention.head_count']);
    assert.equal(health.status, 'unhealthy');
  });

  test('missing file, not GGUF, zero feed-forward length: each refused with its reason', async () => {
    const missing = await firstChatError(join(directory, 'nowhere.gguf'));
    assert.match(missing.error.message, /model file not found: .*nowhere\.gguf/);
    const text = join(directory, 'notes.gguf');
    await writeFile(text, 'these are not the weights you are looking for');
    assert.match((await firstChatError(text)).error.message, /not a readable GGUF model \(.*magic/i);
    const noFeedForward = await tinyGgufFile({ omitKeys: ['llama.feed_forward_length'], name: 'no-ff' }, directory);
    assert.match((await firstChatError(noFeedForward)).error.message, /"llama\.feed_forward_length"/);
  });

  test('a truncated file: llama.cpp refuses it and its reason is in the error', async () => {
    const whole = await readFile(modelPath);
    const truncated = join(directory, 'truncated.gguf');
    await writeFile(truncated, whole.subarray(0, Math.floor(whole.length * 0.7)));
    const { error, health } = await firstChatError(truncated);
    assert.match(
      error.message,
      /llama\.cpp could not load .*truncated\.gguf: tensor '.+' data is not within the file bounds/,
    );
    assert.equal(health.status, 'unhealthy');
  });

  test('the file fixed, the next request loads it', async () => {
    const path = join(directory, 'fixable.gguf');
    await writeFile(path, 'not yet');
    const { backend, manager: other } = await startBackend(
      { model_path: path, model_id: 'fixable' },
      'llamacpp-fixable',
    );
    try {
      await assert.rejects(other.chat(chatRequest('hi')), (error: unknown) =>
        isPlugboardError(error, 'BACKEND_UNAVAILABLE'),
      );
      await copyFile(modelPath, path);
      const response = await other.chat(chatRequest('hi', { options: { maxTokens: 3, temperature: 0 } }));
      assert.equal(response.usage?.completionTokens, 3);
      assert.equal(backend.loaded, true);
    } finally {
      await other.shutdown();
    }
    assert.equal(backend.loaded, false, 'shutdown frees the model');
  });

  test("llama.cpp's log reasons: the specific line wins over the generic ones", () => {
    assert.equal(
      reasonFrom([
        'llama_model_load_from_file_impl: failed to load model',
        "llama_model_load: error loading model: check_tensor_dims: tensor 'x' not found",
      ]),
      "check_tensor_dims: tensor 'x' not found",
    );
    assert.equal(
      reasonFrom([
        'gguf_init_from_reader: failed to read key-value pairs',
        'llama_model_load: error loading model: llama_model_loader: failed to load model from /m.gguf',
      ]),
      'failed to read key-value pairs',
    );
    assert.equal(reasonFrom([]), undefined);
  });
});

describe('llamacpp backend: embeddings, preload, settings', () => {
  test('embeddings: one vector per input, of the embedding width, the same for the same text', async () => {
    const handle = manager.getBackendProvider('llamacpp')!;
    const result = await handle.embed({ model: MODEL, input: ['hello', 'world', 'hello'] });
    assert.ok(result.ok, result.ok ? '' : result.error.message);
    assert.equal(result.value.model, MODEL);
    assert.equal(result.value.embeddings.length, 3);
    for (const vector of result.value.embeddings) {
      assert.equal(vector.length, 64);
      assert.ok(vector.every(Number.isFinite));
    }
    assert.deepEqual(result.value.embeddings[0], result.value.embeddings[2]);
    assert.notDeepEqual(result.value.embeddings[0], result.value.embeddings[1]);
    assert.ok((result.value.promptTokens ?? 0) >= 3);
  });

  test('preload loads at start; chat_wrapper "general" and embeddings: false are honoured', async () => {
    const { backend, manager: other } = await startBackend(
      { model_id: 'preloaded', preload: true, chat_wrapper: 'general', embeddings: false, sequences: 1 },
      'llamacpp-preloaded',
    );
    try {
      assert.equal(backend.loaded, true);
      const health = await backend.healthCheck();
      assert.equal(health.details?.chatWrapper, 'General');
      assert.equal(health.details?.sequences, 1);
      const response = await other.chat(chatRequest('hi', { options: { maxTokens: 4, temperature: 0 } }));
      assert.equal(response.usage?.completionTokens, 4);
      const embedded = await other
        .getBackendProvider('llamacpp-preloaded')!
        .embed({ model: 'preloaded', input: ['x'] });
      assert.ok(!embedded.ok);
      assert.match(embedded.error.message, /embeddings are turned off/);
      const models = await other.getBackendProvider('llamacpp-preloaded')!.listModels();
      assert.ok(models.ok);
      assert.deepEqual(models.value[0]!.details?.capabilities, ['completion']);
    } finally {
      await other.shutdown();
    }
  });

  test('a chat template in the file is used (auto)', async () => {
    const chatMl =
      "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    const path = await tinyGgufFile({ chatTemplate: chatMl, name: 'templated' });
    const backend = new LlamaCppBackend({ name: 'llamacpp-templated' });
    const other = await startManager([[backend, { config: { model_path: path, threads: 1, preload: true } }]]);
    try {
      const health = await backend.healthCheck();
      assert.notEqual(health.details?.chatWrapper, 'Llama2Chat');
      const response = await other.chat(chatRequest('hi', { options: { maxTokens: 5, temperature: 0 } }));
      assert.equal(response.usage?.completionTokens, 5);
    } finally {
      await other.shutdown();
    }
  });

  test('gpu: "cuda" without the CUDA binaries installed: a clear error pointing at the README', async () => {
    const { backend, manager: other } = await startBackend({ model_id: 'gpu', gpu: 'cuda' }, 'llamacpp-cuda');
    try {
      await assert.rejects(other.chat(chatRequest('hi', { options: { maxTokens: 2 } })), (error: unknown) => {
        assert.ok(isPlugboardError(error, 'BACKEND_UNAVAILABLE'), String(error));
        assert.match(
          error.message,
          /no usable llama\.cpp binary for gpu: cuda .*install the cuda binaries \(plugins\/llamacpp\/README\.md/,
        );
        return true;
      });
      assert.equal(backend.loaded, false);
    } finally {
      await other.shutdown();
    }
  });

  test('invalid config is rejected by the schema, naming each key', async () => {
    const backend = new LlamaCppBackend({ name: 'llamacpp-invalid' });
    const other = await startManager([[backend, { config: { model_path: modelPath, sequences: 0, gpu: 'tpu' } }]]);
    try {
      const status = other.getPluginStatus().plugins['llamacpp-invalid'];
      assert.equal(status?.state, 'ERROR');
      assert.match(status?.lastError?.message ?? '', /sequences/);
      assert.match(status?.lastError?.message ?? '', /gpu/);
      assert.equal(other.getBackendProvider('llamacpp-invalid'), undefined);
    } finally {
      await other.shutdown();
    }
  });

  test('parameter sizes are written the way Ollama does', () => {
    assert.equal(parameterSize(115_520), '116K');
    assert.equal(parameterSize(7_241_732_096), '7.2B');
    assert.equal(parameterSize(360_000_000), '360M');
    assert.equal(parameterSize(12), '12');
  });
});
