/**
 * The ollama backend over the real wire protocol, both ways: the Ollama server it talks to is
 * Plugboard's own Ollama-compatible API over scripted backends (see `startUpstream`; a real
 * model changes only that setup), and the plugin runs inside a second Plugboard. What the
 * upstream backends saw (`calls`) shows what the plugin sent.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ChatChunk,
  type ChatContext,
  type ChatContextInput,
  defineBackend,
  isPlugboardError,
  type PlugboardError,
  type PluginManager,
  type PluginSettings,
} from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';
import { closedPort } from '../../test/support/closed-port.ts';
import { deferred } from '../../test/support/deferred.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import createOllamaBackend from './ollama.plugin.ts';
import type { OllamaConfig } from './settings.ts';

// ——— the upstream Ollama server ———

const main = createScriptedBackend({ name: 'main', models: ['main-model'] });
const thinker = createScriptedBackend({
  name: 'thinker',
  models: ['thinker-model'],
  reply: { thinking: 'Let me see.', content: 'Forty-two.' },
});
const tools = createScriptedBackend({
  name: 'tools',
  models: ['tool-model'],
  reply: (context) => {
    const last = context.messages.at(-1);
    if (last?.role === 'tool') return `It is ${last.content}`;
    if (last?.content === 'no id') return { toolCalls: [{ id: '', name: 'weather', arguments: '{"city":"Bergen"}' }] };
    return { toolCalls: [{ id: 'call_up', name: 'weather', arguments: '{"city":"Oslo","days":2}' }] };
  },
});
const lengthy = createScriptedBackend({
  name: 'lengthy',
  models: ['long-model'],
  reply: { content: 'cut sh', finishReason: 'length' },
});
const flaky = createScriptedBackend({
  name: 'flaky',
  models: ['flaky-model'],
  reply: 'abcdefghijklmnop',
  fail: () => ({ error: new Error('boom'), afterChunks: 2 }),
});
const slow = createScriptedBackend({
  name: 'slow',
  models: ['slow-model'],
  reply: 'x'.repeat(200),
  chunking: 2,
  chunkDelayMs: 50,
});
/** A catalogue with Ollama's model facts. */
const catalogue = {
  ...createScriptedBackend({ name: 'catalogue' }),
  listModels: () => [
    {
      id: 'llama3.2:3b',
      details: {
        size: 2_019_393_189,
        modified_at: '2025-01-02T03:04:05.000Z',
        family: 'llama',
        parameter_size: '3.2B',
        quantization_level: 'Q4_K_M',
        format: 'gguf',
      },
    },
  ],
};

/** A backend whose streams send one chunk, then wait for `gate` (to overlap two requests without timing). */
const gate = deferred();
const gated = defineBackend({
  metadata: { name: 'gated', version: '1.0.0' },
  chat: () =>
    (async function* () {
      yield { content: 'first ' };
      await gate.promise;
      yield { content: 'second' };
      yield { finishReason: 'stop' as const };
    })(),
  listModels: () => [{ id: 'gated-model' }],
});

/** A backend that never answers; says when it was called and when its call was aborted. */
let hangingEntered = deferred();
let hangingAborted = deferred<unknown>();
const hanging = defineBackend({
  metadata: { name: 'hanging', version: '1.0.0' },
  chat: (_context, call) =>
    new Promise((_resolve, reject) => {
      hangingEntered.resolve();
      call.signal.addEventListener('abort', () => {
        hangingAborted.resolve(call.signal.reason);
        reject(call.signal.reason);
      });
    }),
  listModels: () => [{ id: 'hanging-model' }],
});

/**
 * The Ollama server under the plugin. Today Plugboard's Ollama API over scripted backends;
 * swapping in a real model (the embedded llama.cpp backend) changes only this function.
 */
function startUpstream(): Promise<TestServer> {
  return startTestServer([main, thinker, tools, lengthy, flaky, slow, catalogue, gated, hanging]);
}

// ——— the Plugboard running the plugin ———

/** A manager running the ollama backend with `config`. */
function startDownstream(config: Partial<OllamaConfig>): Promise<PluginManager> {
  return startManager([[createOllamaBackend, { config } satisfies PluginSettings]]);
}

/** The context the upstream backend saw in its latest call. */
function lastCall(backend: { readonly calls: readonly ChatContext[] }): ChatContext {
  const call = backend.calls.at(-1);
  assert.ok(call, 'the upstream backend was called');
  return call;
}

function request(content: string | ChatContextInput['messages'], overrides: Partial<ChatContextInput> = {}) {
  return chatRequest(content, { model: 'ollama/main-model', ...overrides });
}

/**
 * The plugin's REQUEST_INVALID refusal, as the caller gets it: as it is, or as the cause of the
 * BACKEND_FAILED the pipeline may wrap a backend's non-service errors in.
 */
function refusal(error: unknown): PlugboardError | undefined {
  if (isPlugboardError(error, 'REQUEST_INVALID')) return error;
  if (isPlugboardError(error, 'BACKEND_FAILED') && isPlugboardError(error.cause, 'REQUEST_INVALID')) return error.cause;
  return undefined;
}

/** Waits until `done()` holds, polling up to ~5 s. */
async function eventually(done: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 500 && !done(); attempt++) await sleep(10);
  assert.ok(done(), what);
}

async function listen(server: Server | ReturnType<typeof createNetServer>): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

let upstream: TestServer;
let down: PluginManager;

before(async () => {
  upstream = await startUpstream();
  down = await startDownstream({ host: upstream.url });
});
after(async () => {
  await down.shutdown();
  // Aborted requests leave spare keep-alive connections a graceful close would wait for.
  upstream.server.app.server.closeAllConnections();
  await upstream.close();
});

describe('ollama backend: chat', () => {
  test('not streamed: the reply, usage and finish reason; the upstream saw the model without prefix', async () => {
    const response = await down.chat(request('hello there'));
    assert.equal(response.message.content, 'You said: hello there');
    assert.equal(response.backend, 'ollama');
    assert.equal(response.finishReason, 'stop');
    assert.deepEqual(response.usage, { promptTokens: 2, completionTokens: 4 });
    const seen = lastCall(main);
    assert.equal(seen.model, 'main-model');
    assert.equal(seen.stream, false);
    assert.deepEqual(
      seen.messages.map((message) => [message.role, message.content]),
      [['user', 'hello there']],
    );
  });

  test('streamed: one chunk per upstream line, then usage and finish reason', async () => {
    const { chunks, text, response } = await collectStream(down.stream(request('stream this please')));
    assert.equal(text, 'You said: stream this please');
    assert.ok(chunks.filter((chunk) => chunk.content).length > 1, 'the text arrived in several chunks');
    assert.equal(response.finishReason, 'stop');
    assert.deepEqual(response.usage, { promptTokens: 3, completionTokens: 5 });
    assert.equal(lastCall(main).stream, true);
  });

  test('a system prompt and the history arrive in order', async () => {
    await down.chat(
      request([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'one' },
        { role: 'assistant', content: 'You said: one', thinking: 'easy' },
        { role: 'user', content: 'two' },
      ]),
    );
    const seen = lastCall(main).messages;
    assert.deepEqual(
      seen.map((message) => [message.role, message.content]),
      [
        ['system', 'Be brief.'],
        ['user', 'one'],
        ['assistant', 'You said: one'],
        ['user', 'two'],
      ],
    );
    assert.equal(seen[2]?.thinking, 'easy');
  });

  test('the finish reason "length" comes through, streamed and not', async () => {
    const whole = await down.chat(request('go', { model: 'ollama/long-model' }));
    assert.equal(whole.finishReason, 'length');
    const { response } = await collectStream(down.stream(request('go', { model: 'ollama/long-model' })));
    assert.equal(response.finishReason, 'length');
  });

  test('thinking: the switch reaches Ollama; reasoning comes back apart from the answer', async () => {
    const whole = await down.chat(request('question', { model: 'ollama/thinker-model', options: { think: true } }));
    assert.equal(whole.message.content, 'Forty-two.');
    assert.equal(whole.message.thinking, 'Let me see.');
    assert.equal(lastCall(thinker).options.think, true);
    const { chunks } = await collectStream(
      down.stream(
        request('question', {
          model: 'ollama/thinker-model',
          options: { think: true },
          metadata: { thinkLevel: 'high' },
        }),
      ),
    );
    assert.equal(chunks[0]?.thinking, 'Let me see.', 'reasoning first');
    assert.equal(chunks.map((chunk) => chunk.content ?? '').join(''), 'Forty-two.');
    assert.equal(lastCall(thinker).metadata.thinkLevel, 'high', 'the effort level went as think: "high"');
    await down.chat(request('q', { model: 'ollama/thinker-model', options: { think: false } }));
    assert.equal(lastCall(thinker).options.think, false, 'think: false is sent, not dropped');
  });

  test('options, format and keep_alive map onto Ollama request fields', async () => {
    await down.chat(
      request('options', {
        options: {
          temperature: 0.2,
          topP: 0.9,
          topK: 40,
          maxTokens: 64,
          seed: 7,
          stop: ['\n\n'],
          extra: { num_ctx: 8192, repeat_penalty: 1.1 },
          keepAlive: '10m',
          responseFormat: { type: 'json' },
        },
      }),
    );
    assert.deepEqual(lastCall(main).options, {
      temperature: 0.2,
      topP: 0.9,
      topK: 40,
      maxTokens: 64,
      seed: 7,
      stop: ['\n\n'],
      extra: { num_ctx: 8192, repeat_penalty: 1.1 },
      keepAlive: '10m',
      responseFormat: { type: 'json' },
    });
    const schema = { type: 'object', properties: { age: { type: 'integer' } }, required: ['age'] };
    await down.chat(
      request('schema', { options: { responseFormat: { type: 'json_schema', name: 'person', schema } } }),
    );
    assert.deepEqual(lastCall(main).options, { responseFormat: { type: 'json_schema', schema } });
    await down.chat(request('plain'));
    assert.deepEqual(lastCall(main).options, {}, 'nothing is sent that was not asked for');
  });

  test('config: default_model, keep_alive and headers apply when the request gives none', async () => {
    const configured = await startDownstream({
      host: upstream.url,
      default_model: 'main-model',
      keep_alive: '30m',
      headers: { 'x-proxy-token': 'secret' },
    });
    try {
      const response = await configured.chat(chatRequest('no model named'));
      assert.equal(response.message.content, 'You said: no model named');
      const seen = lastCall(main);
      assert.equal(seen.model, 'main-model');
      assert.equal(seen.options.keepAlive, '30m');
      assert.equal(seen.client?.headers?.['x-proxy-token'], 'secret');
      await configured.chat(chatRequest('mine', { options: { keepAlive: 0 } }));
      assert.equal(lastCall(main).options.keepAlive, 0, "the request's keep_alive wins");
    } finally {
      await configured.shutdown();
    }
  });

  test('without `host`, OLLAMA_HOST is used, scheme-less as Ollama allows', async () => {
    const saved = process.env.OLLAMA_HOST;
    process.env.OLLAMA_HOST = upstream.url.replace('http://', '');
    let manager: PluginManager | undefined;
    try {
      manager = await startDownstream({});
    } finally {
      if (saved === undefined) delete process.env.OLLAMA_HOST;
      else process.env.OLLAMA_HOST = saved;
    }
    try {
      const response = await manager.chat(request('via the environment'));
      assert.equal(response.message.content, 'You said: via the environment');
    } finally {
      await manager.shutdown();
    }
  });

  test('no model and no default_model: REQUEST_INVALID saying what to set', async () => {
    await assert.rejects(down.chat(chatRequest('which model?')), (error) => {
      assert.match(refusal(error)?.message ?? String(error), /names no model and no default_model is configured/);
      return true;
    });
  });
});

describe('ollama backend: connections', () => {
  test('streamed and whole replies, one after another, reuse kept-alive connections', async () => {
    const manager = await startDownstream({ host: upstream.url });
    let connections = 0;
    const count = (): void => {
      connections++;
    };
    upstream.server.app.server.on('connection', count);
    try {
      for (let round = 0; round < 5; round++) {
        await collectStream(manager.stream(request('stream this')));
        await manager.chat(request('and this'));
      }
      // Destroying a stream's response after its `done` line (before its end arrived) used to
      // open one connection per stream (5 or more here). A request sent the moment a stream's
      // last line arrived may find its connection not yet back in the pool: a second one.
      assert.ok(connections <= 2, `${connections} connections for 10 requests`);
    } finally {
      upstream.server.app.server.off('connection', count);
      await manager.shutdown();
    }
  });
});

describe('ollama backend: images', () => {
  test('data: URLs lose their prefix; base64 goes as it is', async () => {
    await down.chat(
      request([{ role: 'user', content: 'look', images: ['data:image/png;base64,aGVsbG8=', 'd29ybGQ='] }]),
    );
    assert.deepEqual(lastCall(main).messages[0]?.images, ['aGVsbG8=', 'd29ybGQ=']);
  });

  test('an http(s) URL is refused with REQUEST_INVALID, before Ollama is asked', async () => {
    const before = main.calls.length;
    await assert.rejects(
      down.chat(request([{ role: 'user', content: 'look', images: ['https://example.com/cat.png'] }])),
      (error) => /image URLs are not supported/.test(refusal(error)?.message ?? String(error)),
    );
    assert.equal(main.calls.length, before);
  });

  test("an image naming a local file is sent as text, never as the file's content", async () => {
    const path = join(tmpdir(), `plugboardImage${process.pid}`);
    assert.match(path, /^[A-Za-z0-9+/]+$/, 'precondition: the path looks like base64 to the mapping');
    await writeFile(path, 'SECRET');
    try {
      await down.chat(request([{ role: 'user', content: 'look', images: [path] }]));
      assert.deepEqual(lastCall(main).messages[0]?.images, [path]);
    } finally {
      await rm(path, { force: true });
    }
  });
});

describe('ollama backend: tools', () => {
  const weather = {
    name: 'weather',
    description: 'Weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  };
  const clock = { name: 'clock', description: 'The time', parameters: { type: 'object', properties: {} } };

  test("the model's tool calls come back with JSON-text arguments and their id, streamed and not", async () => {
    const ask = request('Weather?', { model: 'ollama/tool-model', options: { tools: [weather] } });
    const whole = await down.chat(ask);
    const expected = [{ id: 'call_up', name: 'weather', arguments: '{"city":"Oslo","days":2}' }];
    assert.deepEqual(whole.message.toolCalls, expected);
    assert.equal(whole.finishReason, 'tool_calls');
    assert.deepEqual(lastCall(tools).options.tools, [weather], 'the definitions reached Ollama');
    const { chunks, response } = await collectStream(down.stream(ask));
    const withCalls = chunks.filter((chunk: ChatChunk) => chunk.toolCalls?.length);
    assert.equal(withCalls.length, 1, 'one chunk carries the complete calls');
    assert.deepEqual(withCalls[0]?.toolCalls, expected);
    assert.equal(response.finishReason, 'tool_calls');
  });

  test('a call Ollama sends without an id gets one', async () => {
    const whole = await down.chat(request('no id', { model: 'ollama/tool-model', options: { tools: [weather] } }));
    const call = whole.message.toolCalls?.[0];
    assert.equal(call?.name, 'weather');
    assert.equal(call?.arguments, '{"city":"Bergen"}');
    assert.match(call?.id ?? '', /^call_[0-9a-f]{24}$/);
  });

  test('calls and results in the history go with object arguments, each result named and paired', async () => {
    const response = await down.chat(
      request(
        [
          { role: 'user', content: 'Weather in Oslo?' },
          {
            role: 'assistant',
            content: '',
            toolCalls: [
              { id: 'call_1', name: 'weather', arguments: '{"city":"Oslo"}' },
              { id: 'call_2', name: 'clock', arguments: '' },
            ],
          },
          { role: 'tool', content: '12 °C', toolCallId: 'call_1' },
          { role: 'tool', content: 'noon', toolCallId: 'call_2', name: 'clock' },
        ],
        { model: 'ollama/tool-model', options: { tools: [weather, clock] } },
      ),
    );
    assert.equal(response.message.content, 'It is noon');
    const seen = lastCall(tools).messages;
    assert.deepEqual(seen[1]?.toolCalls, [
      { id: 'call_1', name: 'weather', arguments: '{"city":"Oslo"}' },
      { id: 'call_2', name: 'clock', arguments: '{}' },
    ]);
    assert.deepEqual([seen[2]?.role, seen[2]?.toolCallId, seen[2]?.name], ['tool', 'call_1', 'weather']);
    assert.deepEqual([seen[3]?.role, seen[3]?.toolCallId, seen[3]?.name], ['tool', 'call_2', 'clock']);
  });

  test('arguments that are not JSON travel as _raw_arguments', async () => {
    await down.chat(
      request(
        [
          { role: 'user', content: 'Weather?' },
          { role: 'assistant', content: '', toolCalls: [{ id: 'call_b', name: 'weather', arguments: '{city: Oslo' }] },
          { role: 'tool', content: 'bad call', toolCallId: 'call_b' },
        ],
        { model: 'ollama/tool-model' },
      ),
    );
    assert.equal(lastCall(tools).messages[1]?.toolCalls?.[0]?.arguments, '{"_raw_arguments":"{city: Oslo"}');
  });

  test('tool choice: "none" sends no tools, a named tool only that one', async () => {
    await down.chat(request('hi', { options: { tools: [weather, clock], toolChoice: 'none' } }));
    assert.equal(lastCall(main).options.tools, undefined);
    await down.chat(request('hi', { options: { tools: [weather, clock], toolChoice: { name: 'clock' } } }));
    assert.deepEqual(lastCall(main).options.tools, [clock]);
  });
});

describe('ollama backend: models, embeddings, health', () => {
  test("listModels: Ollama's /api/tags with each model's facts", async () => {
    const listed = await down.getBackendProvider('ollama')!.listModels();
    assert.ok(listed.ok, 'listed');
    const ids = listed.value.map((model) => model.id);
    assert.ok(ids.includes('main/main-model') && ids.includes('thinker/thinker-model'), `ids: ${ids.join(', ')}`);
    const llama = listed.value.find((model) => model.id === 'catalogue/llama3.2:3b');
    assert.ok(llama, 'the catalogue model is listed');
    assert.equal(llama.details?.family, 'llama');
    assert.equal(llama.details?.parameter_size, '3.2B');
    assert.equal(llama.details?.quantization_level, 'Q4_K_M');
    assert.equal(llama.details?.format, 'gguf');
    assert.equal(llama.details?.size, 2_019_393_189);
    assert.equal(llama.details?.modified_at, '2025-01-02T03:04:05.000Z');
    assert.match(String(llama.details?.digest), /^[0-9a-f]{64}$/);
    // From /api/show (the upstream Plugboard says completion and tools), so the tools plugin knows.
    assert.deepEqual(llama.details?.capabilities, ['completion', 'tools']);
  });

  test('the downstream Plugboard serves those models as ollama/<name>', async () => {
    const server = await startTestServer([[createOllamaBackend, { config: { host: upstream.url } }]]);
    try {
      const tags = (await (await fetch(`${server.url}/api/tags`)).json()) as { models: { name: string }[] };
      assert.ok(tags.models.some((model) => model.name === 'ollama/main/main-model'));
      const reply = await fetch(`${server.url}/api/chat`, {
        method: 'POST',
        body: JSON.stringify({
          model: 'ollama/main/main-model',
          messages: [{ role: 'user', content: 'through two' }],
          stream: false,
        }),
      });
      assert.equal(reply.status, 200);
      assert.equal(((await reply.json()) as { message: { content: string } }).message.content, 'You said: through two');
    } finally {
      await server.close();
    }
  });

  test('embed: /api/embed with the inputs as an array; vectors and token count', async () => {
    const input = ['hello world', 'good night'];
    const result = await down.getBackendProvider('ollama')!.embed({ model: 'main-model', input });
    assert.ok(result.ok, result.ok ? '' : result.error.message);
    const direct = (await (
      await fetch(`${upstream.url}/api/embed`, { method: 'POST', body: JSON.stringify({ model: 'main-model', input }) })
    ).json()) as { embeddings: number[][] };
    assert.equal(result.value.embeddings.length, 2);
    assert.deepEqual(result.value.embeddings, direct.embeddings);
    assert.notDeepEqual(result.value.embeddings[0], result.value.embeddings[1]);
    assert.equal(result.value.promptTokens, 4);
    assert.equal(result.value.model, 'main-model');
  });

  test('healthCheck: healthy with the version Ollama reports', async () => {
    const { version } = (await (await fetch(`${upstream.url}/api/version`)).json()) as { version: string };
    const health = await down.getHealth();
    const ollama = health.plugins.ollama?.health;
    assert.equal(ollama?.status, 'healthy', ollama?.message);
    assert.equal(ollama?.details?.version, version);
    assert.match(ollama?.message ?? '', new RegExp(`${version}.*${upstream.url}`));
  });
});

describe('ollama backend: failures', () => {
  test('Ollama not running: BACKEND_UNAVAILABLE (503) naming the address and `ollama serve`', async () => {
    const address = `http://127.0.0.1:${await closedPort()}`;
    const server = await startTestServer([[createOllamaBackend, { config: { host: address } }]]);
    try {
      for (const stream of [false, true]) {
        const reply = await fetch(`${server.url}/api/chat`, {
          method: 'POST',
          body: JSON.stringify({ model: 'ollama/llama3.2', messages: [{ role: 'user', content: 'hi' }], stream }),
        });
        assert.equal(reply.status, 503, `stream: ${stream}`);
        const body = (await reply.json()) as { error: string; code: string };
        assert.equal(body.code, 'BACKEND_UNAVAILABLE');
        assert.match(body.error, new RegExp(`connection refused at ${address}`));
        assert.match(body.error, /`ollama serve`/);
      }
      const listed = await server.manager.getBackendProvider('ollama')!.listModels();
      assert.ok(!listed.ok && isPlugboardError(listed.error, 'BACKEND_UNAVAILABLE'));
    } finally {
      await server.close();
    }
  });

  test('an unknown host: BACKEND_UNAVAILABLE saying the host was not found', { timeout: 15_000 }, async () => {
    const manager = await startDownstream({ host: 'http://plugboard-test.invalid:11434' });
    try {
      await assert.rejects(manager.chat(request('hi')), (error) => {
        assert.ok(isPlugboardError(error, 'BACKEND_UNAVAILABLE'));
        assert.match(error.message, /host not found at http:\/\/plugboard-test\.invalid:11434/);
        return true;
      });
    } finally {
      await manager.shutdown();
    }
  });

  test('healthCheck: unhealthy when Ollama is not running, or does not answer in time', async () => {
    const address = `http://127.0.0.1:${await closedPort()}`;
    const refused = await startDownstream({ host: address });
    const silent = createNetServer((socket) => sockets.add(socket));
    const sockets = new Set<Socket>();
    const silentAddress = await listen(silent);
    const mute = await startDownstream({ host: silentAddress, health_timeout_ms: 200 });
    try {
      const refusedHealth = (await refused.getHealth()).plugins.ollama?.health;
      assert.equal(refusedHealth?.status, 'unhealthy');
      assert.match(refusedHealth?.message ?? '', new RegExp(`connection refused at ${address}.*ollama serve`));
      const muteHealth = (await mute.getHealth()).plugins.ollama?.health;
      assert.equal(muteHealth?.status, 'unhealthy');
      assert.match(muteHealth?.message ?? '', new RegExp(`no answer within 200 ms at ${silentAddress}`));
    } finally {
      await refused.shutdown();
      await mute.shutdown();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('a model Ollama does not have: MODEL_NOT_FOUND (404) with the `ollama pull` to run', async () => {
    const manager = await startDownstream({ host: upstream.url });
    try {
      const check = (error: unknown) => {
        assert.ok(isPlugboardError(error, 'MODEL_NOT_FOUND'), String(error));
        assert.equal(error.status, 404);
        assert.match(error.message, /`ollama pull no-such-model`/);
        assert.match(error.message, /no-such-model/);
        return true;
      };
      await assert.rejects(manager.chat(request('hi', { model: 'ollama/no-such-model' })), check);
      await assert.rejects(collectStream(manager.stream(request('hi', { model: 'ollama/no-such-model' }))), check);
    } finally {
      await manager.shutdown();
    }
  });

  test('an error line mid-stream ends the stream with BACKEND_FAILED carrying the upstream message', async () => {
    const manager = await startDownstream({ host: upstream.url });
    try {
      const received: string[] = [];
      await assert.rejects(
        (async () => {
          for await (const chunk of manager.stream(request('go', { model: 'ollama/flaky-model' }))) {
            if (chunk.content) received.push(chunk.content);
          }
        })(),
        // The upstream (Plugboard over a failing backend) says what failed, not the exception text.
        (error) => isPlugboardError(error, 'BACKEND_FAILED') && /plugin "flaky", chat:stream/.test(error.message),
      );
      assert.deepEqual(received, ['abcd', 'efgh'], 'the chunks before the failure arrived');
    } finally {
      await manager.shutdown();
    }
  });

  test("a proxy's plain-text refusal: BACKEND_FAILED with its status and text", async () => {
    const proxy = createHttpServer((_request, response) => {
      response.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized: token required');
    });
    const manager = await startDownstream({ host: await listen(proxy) });
    try {
      await assert.rejects(manager.chat(request('hi')), (error) => {
        assert.ok(isPlugboardError(error, 'BACKEND_FAILED'));
        assert.match(error.message, /answered 401: Unauthorized: token required/);
        assert.match(error.message, /headers/);
        return true;
      });
    } finally {
      await manager.shutdown();
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});

describe('ollama backend: cancellation', () => {
  test('aborting a streamed request aborts the upstream stream', { timeout: 15_000 }, async () => {
    const controller = new AbortController();
    const stream = down.stream(request('go', { model: 'ollama/slow-model' }), { signal: controller.signal });
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) if (chunk.content) controller.abort();
      })(),
      (error) => isPlugboardError(error, 'REQUEST_ABORTED'),
    );
    await eventually(() => slow.abandonedStreams === 1, 'the upstream stream was abandoned');
  });

  test('aborting an unstreamed request aborts the upstream call', { timeout: 15_000 }, async () => {
    hangingEntered = deferred();
    hangingAborted = deferred<unknown>();
    const controller = new AbortController();
    const reply = down.chat(request('wait', { model: 'ollama/hanging-model' }), { signal: controller.signal });
    await hangingEntered.promise;
    controller.abort();
    await assert.rejects(reply, (error) => isPlugboardError(error, 'REQUEST_ABORTED'));
    await hangingAborted.promise;
  });

  test('aborting one request leaves another running', { timeout: 15_000 }, async () => {
    const survivor = down.stream(request('go', { model: 'ollama/gated-model' }))[Symbol.asyncIterator]();
    const first = await survivor.next();
    assert.equal(first.value?.content, 'first ');
    const abandonedBefore = slow.abandonedStreams;
    const controller = new AbortController();
    await assert.rejects(
      (async () => {
        const victim = down.stream(request('go', { model: 'ollama/slow-model' }), { signal: controller.signal });
        for await (const chunk of victim) if (chunk.content) controller.abort();
      })(),
      (error) => isPlugboardError(error, 'REQUEST_ABORTED'),
    );
    await eventually(() => slow.abandonedStreams === abandonedBefore + 1, 'the aborted upstream stream ended');
    gate.resolve();
    let rest = '';
    for (let next = await survivor.next(); !next.done; next = await survivor.next()) rest += next.value.content ?? '';
    assert.equal(rest, 'second', 'the other request finished');
  });
});

describe('ollama backend: credentials in host', () => {
  test('errors and health show the address with its password redacted, never the password', async () => {
    const port = await closedPort();
    const manager = await startDownstream({ host: `http://user:s3cretkey@127.0.0.1:${port}` });
    try {
      for (const stream of [false, true]) {
        const run = stream ? collectStream(manager.stream(request('hi', { stream }))) : manager.chat(request('hi'));
        await assert.rejects(run, (error) => {
          assert.ok(isPlugboardError(error, 'BACKEND_UNAVAILABLE'), String(error));
          assert.match(
            error.message,
            new RegExp(`connection refused at http://user:\\*\\*\\*@127\\.0\\.0\\.1:${port}`),
          );
          assert.doesNotMatch(`${error.message} ${String(error.cause)}`, /s3cretkey/);
          return true;
        });
      }
      const listed = await manager.getBackendProvider('ollama')!.listModels();
      assert.ok(!listed.ok && isPlugboardError(listed.error, 'BACKEND_UNAVAILABLE'));
      assert.doesNotMatch(listed.error.message, /s3cretkey/);
      const health = (await manager.getHealth()).plugins.ollama?.health;
      assert.equal(health?.status, 'unhealthy');
      assert.doesNotMatch(JSON.stringify(health), /s3cretkey/);
      assert.equal(health?.details?.host, `http://user:***@127.0.0.1:${port}`);
    } finally {
      await manager.shutdown();
    }
  });

  test('are sent as HTTP Basic authorization, not in the URL', async () => {
    const seen: (string | undefined)[] = [];
    const fake = createHttpServer((incoming, response) => {
      seen.push(incoming.headers.authorization);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ models: [] }));
    });
    const address = await listen(fake);
    const manager = await startDownstream({ host: address.replace('http://', 'http://user:p%40ss@') });
    try {
      const listed = await manager.getBackendProvider('ollama')!.listModels();
      assert.ok(listed.ok, JSON.stringify(listed));
      assert.deepEqual(seen, [`Basic ${Buffer.from('user:p@ss').toString('base64')}`]);
    } finally {
      await manager.shutdown();
      await new Promise((resolve) => fake.close(resolve));
    }
  });
});
