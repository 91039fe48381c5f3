/**
 * `GET /v1/models`, `GET /v1/models/{id}` and `POST /v1/embeddings` through the official
 * client: qualified model ids across backends, retrieval by qualified or bare id, a 404
 * NotFoundError for an unknown model, and embeddings as floats or as the base64 the client
 * asks for (and decodes) by default.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

const echo = createScriptedBackend({ name: 'echo', models: ['echo', 'llama3.2:latest'] });
const other = createScriptedBackend({ name: 'other', models: ['embedder'] });
let server: TestServer;
let client: OpenAI;

before(async () => {
  server = await startTestServer([echo, other]);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(() => server.close());

describe('models', () => {
  test('lists every backend’s models with qualified ids', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    assert.deepEqual(
      models.map((model) => [model.id, model.object, model.owned_by]),
      [
        ['echo/echo', 'model', 'echo'],
        ['echo/llama3.2:latest', 'model', 'echo'],
        ['other/embedder', 'model', 'other'],
      ],
    );
    for (const model of models) assert.ok(Number.isInteger(model.created) && model.created > 0);
  });

  test('retrieves a model by qualified id (with its slash) or by bare name', async () => {
    const byQualified = await client.models.retrieve('other/embedder');
    assert.deepEqual(
      { id: byQualified.id, object: byQualified.object, owned_by: byQualified.owned_by },
      { id: 'other/embedder', object: 'model', owned_by: 'other' },
    );
    assert.equal((await client.models.retrieve('embedder')).id, 'other/embedder');
    // Ollama's implicit :latest tag.
    assert.equal((await client.models.retrieve('llama3.2')).id, 'echo/llama3.2:latest');
  });

  test('an unknown model is a NotFoundError listing the available ones', async () => {
    await assert.rejects(client.models.retrieve('gpt-9'), (error: unknown) => {
      assert.ok(error instanceof OpenAI.NotFoundError, String(error));
      assert.match(error.message, /"gpt-9" does not exist/);
      assert.match(error.message, /echo\/echo, echo\/llama3\.2:latest, other\/embedder/);
      return true;
    });
    const response = await fetch(`${server.url}/v1/models/nobody/nothing`);
    assert.equal(response.status, 404);
    const body = (await response.json()) as { error: { type: string; param: string } };
    assert.equal(body.error.type, 'not_found_error');
    assert.equal(body.error.param, 'model');
  });
});

describe('embeddings', () => {
  test('floats: one vector per input, in order, with usage', async () => {
    const result = await client.embeddings.create({
      model: 'embedder',
      input: ['alpha beta', 'gamma'],
      encoding_format: 'float',
    });
    assert.equal(result.object, 'list');
    assert.equal(result.model, 'embedder');
    assert.deepEqual(
      result.data.map((item) => [item.object, item.index, item.embedding.length]),
      [
        ['embedding', 0, 8],
        ['embedding', 1, 8],
      ],
    );
    // The scripted backend returns unit vectors derived from the text.
    for (const item of result.data) assert.ok(Math.abs(Math.hypot(...item.embedding) - 1) < 1e-9);
    assert.notDeepEqual(result.data[0]?.embedding, result.data[1]?.embedding);
    assert.deepEqual(result.usage, { prompt_tokens: 3, total_tokens: 3 });
  });

  test('the client’s default (base64) decodes to the same vectors, as float32', async () => {
    const floats = await client.embeddings.create({ model: 'embedder', input: 'same text', encoding_format: 'float' });
    const decoded = await client.embeddings.create({ model: 'embedder', input: 'same text' });
    const expected = floats.data[0]?.embedding ?? [];
    const actual = decoded.data[0]?.embedding ?? [];
    assert.equal(actual.length, 8);
    assert.deepEqual(actual, Array.from(Float32Array.from(expected)));
  });

  test('base64 on the wire is little-endian float32', async () => {
    const response = await fetch(`${server.url}/v1/embeddings`, {
      method: 'POST',
      body: JSON.stringify({ model: 'other/embedder', input: 'abc', encoding_format: 'base64' }),
    });
    const body = (await response.json()) as { data: { embedding: string }[] };
    const embedding = body.data[0]?.embedding;
    assert.equal(typeof embedding, 'string');
    const bytes = Buffer.from(embedding ?? '', 'base64');
    assert.equal(bytes.length, 8 * 4);
    const first = bytes.readFloatLE(0);
    // 'abc' puts a, b, c in the first three of eight buckets: 97 / hypot(97, 98, 99).
    assert.ok(Math.abs(first - 97 / Math.hypot(97, 98, 99)) < 1e-6, String(first));
  });

  test('an unknown embedding model is a NotFoundError', async () => {
    await assert.rejects(
      client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' }),
      (error: unknown) => error instanceof OpenAI.NotFoundError && /text-embedding-3-small/.test(error.message),
    );
  });
});
