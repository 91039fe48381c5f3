/**
 * The rest of the Ollama API through the official `ollama` client: liveness and version,
 * the model catalogue (`/api/tags`, `/api/show`, `/api/ps`) built from the backends' lists,
 * embeddings, and the model-management routes Plugboard answers with 501.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

const plainBase = createScriptedBackend({ name: 'plain', models: ['plain-model'] });
let embedCalls = 0;
/** A scripted backend counting its embed calls. */
const plain = {
  ...plainBase,
  embed: (...args: Parameters<NonNullable<typeof plainBase.embed>>) => {
    embedCalls++;
    return plainBase.embed!(...args);
  },
};

/** A backend that describes its model the way an Ollama backend would. */
const rich = {
  ...createScriptedBackend({ name: 'rich' }),
  listModels: () => [
    {
      id: 'llama3.2:latest',
      details: {
        size: 2_019_393_189,
        digest: 'a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72',
        modified_at: '2025-01-02T03:04:05Z',
        context_length: 131_072,
        capabilities: ['completion', 'tools', 'vision'],
        details: {
          format: 'gguf',
          family: 'llama',
          families: ['llama'],
          parameter_size: '3.2B',
          quantization_level: 'Q4_K_M',
        },
      },
    },
  ],
};

/** A backend without `embed`. */
const { embed: _embed, ...chatOnly } = createScriptedBackend({ name: 'chat-only', models: ['chat-only-model'] });

let server: TestServer;
let client: Ollama;

before(async () => {
  server = await startTestServer([plain, rich, chatOnly]);
  client = new Ollama({ host: server.url });
});
after(() => server.close());

type ResponseError = Error & { status_code?: number };

describe('liveness and version', () => {
  test('GET / and HEAD / answer 200 like "Ollama is running"', async () => {
    const get = await fetch(`${server.url}/`);
    assert.equal(get.status, 200);
    assert.equal(await get.text(), 'Plugboard is running (Ollama-compatible API)');
    const head = await fetch(`${server.url}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
  });

  test('GET /api/version reports the emulated Ollama version and Plugboard’s own', async () => {
    const version = (await client.version()) as { version: string; plugboard?: string };
    assert.match(version.version, /^0\.\d+\.\d+$/);
    assert.equal(version.plugboard, server.server.context.version);
  });
});

describe('model catalogue', () => {
  test('GET /api/ps is empty before any request', async () => {
    assert.deepEqual(await client.ps(), { models: [] });
  });

  test('GET /api/tags lists every backend’s models under qualified names', async () => {
    const { models } = await client.list();
    assert.deepEqual(
      models.map((model) => model.name),
      ['plain/plain-model', 'rich/llama3.2:latest', 'chat-only/chat-only-model'],
    );
    const [bare, described] = models;
    assert.equal(bare!.model, 'plain/plain-model');
    assert.equal(bare!.size, 0);
    assert.match(bare!.digest, /^[0-9a-f]{64}$/);
    assert.ok(!Number.isNaN(new Date(bare!.modified_at).getTime()));
    assert.deepEqual(bare!.details, {
      parent_model: '',
      format: '',
      family: '',
      families: [],
      parameter_size: '',
      quantization_level: '',
    });
    assert.equal(described!.size, 2_019_393_189);
    assert.equal(described!.digest, rich.listModels()[0]!.details.digest);
    assert.equal(new Date(described!.modified_at).toISOString(), '2025-01-02T03:04:05.000Z');
    assert.deepEqual(described!.details, {
      parent_model: '',
      format: 'gguf',
      family: 'llama',
      families: ['llama'],
      parameter_size: '3.2B',
      quantization_level: 'Q4_K_M',
    });
  });

  test('listed names are usable as they are', async () => {
    const { models } = await client.list();
    for (const model of models) {
      const response = await client.chat({ model: model.name, messages: [{ role: 'user', content: 'ping' }] });
      assert.equal(response.message.content, 'You said: ping');
    }
  });

  test('POST /api/show describes a model, by `model` or legacy `name`', async () => {
    const shown = await client.show({ model: 'llama3.2' });
    assert.deepEqual(shown.details, (await client.list()).models[1]!.details);
    assert.deepEqual(shown.capabilities, ['completion', 'tools', 'vision']);
    const info = shown.model_info as unknown as Record<string, unknown>;
    assert.equal(info['llama.context_length'], 131_072);
    assert.equal(info['general.architecture'], 'llama');
    assert.equal(info['plugboard.backend'], 'rich');
    assert.match(shown.modelfile, /FROM llama3\.2:latest/);
    const legacy = await fetch(`${server.url}/api/show`, {
      method: 'POST',
      body: JSON.stringify({ name: 'plain-model' }),
    });
    assert.equal(legacy.status, 200);
    const body = (await legacy.json()) as { capabilities: string[]; template: string };
    assert.deepEqual(body.capabilities, ['completion', 'tools'], 'the default when the backend does not say');
    assert.equal(typeof body.template, 'string');
  });

  test('POST /api/show of an unknown model is a 404 naming it and what exists', async () => {
    await assert.rejects(client.show({ model: 'ghost' }), (error: ResponseError) => {
      assert.equal(error.status_code, 404);
      assert.match(error.message, /ghost/);
      assert.match(error.message, /plain\/plain-model/);
      return true;
    });
    await assert.rejects(client.show({ model: 'plain/ghost' }), (error: ResponseError) => error.status_code === 404);
  });

  test('GET /api/ps lists models used within their keep_alive; keep_alive 0 unloads', async () => {
    await client.chat({ model: 'plain-model', messages: [{ role: 'user', content: 'warm up' }], keep_alive: '1h' });
    const { models } = await client.ps();
    const running = models.find((model) => model.name === 'plain/plain-model');
    assert.ok(running, 'the model used is listed');
    const expiresIn = new Date(running.expires_at).getTime() - Date.now();
    assert.ok(expiresIn > 30 * 60_000 && expiresIn <= 60 * 60_000, 'expires_at follows keep_alive');
    assert.equal(running.size_vram, 0);
    await client.generate({ model: 'plain-model', prompt: '', keep_alive: 0 });
    assert.equal(
      (await client.ps()).models.find((model) => model.name === 'plain/plain-model'),
      undefined,
    );
  });

  test('GET /api/ps counts `name` and `name:latest` as one model', async () => {
    await client.chat({ model: 'rich/llama3.2', messages: [{ role: 'user', content: 'a' }] });
    await client.chat({ model: 'llama3.2:latest', messages: [{ role: 'user', content: 'b' }] });
    const listed = (await client.ps()).models.filter((model) => model.name.startsWith('rich/'));
    assert.deepEqual(
      listed.map((model) => [model.name, model.details.family]),
      [['rich/llama3.2:latest', 'llama']],
    );
    await client.chat({ model: 'rich/llama3.2', keep_alive: '0' });
    assert.equal((await client.ps()).models.filter((model) => model.name.startsWith('rich/')).length, 0);
  });
});

describe('embeddings', () => {
  test('POST /api/embed embeds a batch, and a single string', async () => {
    const batch = await client.embed({ model: 'plain-model', input: ['hello world', 'bye'] });
    assert.equal(batch.model, 'plain-model');
    assert.equal(batch.embeddings.length, 2);
    for (const vector of batch.embeddings) {
      assert.equal(vector.length, 8);
      assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-9, 'unit vectors, as the backend made them');
    }
    assert.notDeepEqual(batch.embeddings[0], batch.embeddings[1]);
    assert.equal(batch.prompt_eval_count, 3);
    assert.ok(Number.isInteger(batch.total_duration));
    const single = await client.embed({ model: 'plain-model', input: 'hello world' });
    assert.deepEqual(single.embeddings, [batch.embeddings[0]]);
  });

  test('dimensions shortens the vectors and scales them back to unit length', async () => {
    const full = await client.embed({ model: 'plain-model', input: 'abcdefgh' });
    const short = await client.embed({ model: 'plain-model', input: 'abcdefgh', dimensions: 3 });
    const vector = short.embeddings[0]!;
    assert.equal(vector.length, 3);
    assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-9);
    const head = full.embeddings[0]!.slice(0, 3);
    const scale = vector[0]! / head[0]!;
    for (const [index, value] of head.entries()) assert.ok(Math.abs(value * scale - vector[index]!) < 1e-9);
  });

  test('empty input gives no embeddings without calling the backend', async () => {
    const before = embedCalls;
    assert.deepEqual((await client.embed({ model: 'plain-model', input: [] })).embeddings, []);
    assert.deepEqual((await client.embed({ model: 'plain-model', input: '' })).embeddings, []);
    assert.deepEqual(await client.embeddings({ model: 'plain-model', prompt: '' }), { embedding: [] });
    assert.equal(embedCalls, before);
  });

  test('POST /api/embeddings (legacy) returns one embedding', async () => {
    const legacy = await client.embeddings({ model: 'plain-model', prompt: 'hello world' });
    const current = await client.embed({ model: 'plain-model', input: 'hello world' });
    assert.deepEqual(legacy.embedding, current.embeddings[0]);
  });

  test('a backend without embeddings answers 400 saying so', async () => {
    await assert.rejects(client.embed({ model: 'chat-only-model', input: 'x' }), (error: ResponseError) => {
      assert.equal(error.status_code, 400);
      assert.match(error.message, /does not support embeddings/);
      return true;
    });
  });

  test('an unknown model is a 404', async () => {
    await assert.rejects(
      client.embed({ model: 'ghost', input: 'x' }),
      (error: ResponseError) => error.status_code === 404,
    );
  });
});

describe('model management', () => {
  const refused = (error: ResponseError): boolean => {
    assert.equal(error.status_code, 501);
    assert.match(error.message, /does not manage models/);
    assert.match(error.message, /ollama pull/);
    return true;
  };

  test('pull, push, create, copy and delete answer 501 pointing at the backend', async () => {
    await assert.rejects(client.pull({ model: 'llama3.2' }), refused);
    await assert.rejects(client.push({ model: 'me/llama3.2' }), refused);
    await assert.rejects(client.create({ model: 'mine', from: 'llama3.2' }), refused);
    await assert.rejects(client.copy({ source: 'llama3.2', destination: 'copy' }), refused);
    await assert.rejects(client.delete({ model: 'llama3.2' }), refused);
  });

  test('blob uploads answer 501, whatever the body', async () => {
    const head = await fetch(`${server.url}/api/blobs/sha256:abc`, { method: 'HEAD' });
    assert.equal(head.status, 501);
    const post = await fetch(`${server.url}/api/blobs/sha256:abc`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array([0, 159, 146, 150]),
    });
    assert.equal(post.status, 501);
    const body = (await post.json()) as { error: string; code: string };
    assert.equal(body.code, 'NOT_IMPLEMENTED');
    assert.match(body.error, /does not manage models/);
  });
});
