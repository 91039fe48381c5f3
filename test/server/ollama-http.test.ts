/**
 * The Ollama API at the HTTP level, as curl and hand-written clients use it: any content type
 * carries JSON (Ollama's docs use `curl -d`), and every invalid body is a 400 in Ollama's
 * `{ "error": "…" }` form naming the offending field.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

let server: TestServer;

before(async () => {
  server = await startTestServer([createScriptedBackend()]);
});
after(() => server.close());

async function post(path: string, body: string, contentType = 'application/json') {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
  return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() };
}

describe('Ollama API over HTTP', () => {
  test('curl -d style: a JSON body sent as application/x-www-form-urlencoded is accepted', async () => {
    const answer = await post(
      '/api/chat',
      JSON.stringify({ model: 'scripted-model', messages: [{ role: 'user', content: 'curl' }], stream: false }),
      'application/x-www-form-urlencoded',
    );
    assert.equal(answer.status, 200);
    assert.equal((JSON.parse(answer.text) as { message: { content: string } }).message.content, 'You said: curl');
    const generated = await post(
      '/api/generate',
      JSON.stringify({ model: 'scripted-model', prompt: 'curl', stream: false }),
      'application/x-www-form-urlencoded',
    );
    assert.equal((JSON.parse(generated.text) as { response: string }).response, 'You said: curl');
  });

  const invalid: readonly (readonly [path: string, body: unknown, field: string | RegExp])[] = [
    ['/api/chat', { messages: [] }, 'model'],
    ['/api/chat', { model: 42 }, 'model'],
    ['/api/chat', { model: 'scripted-model', messages: 'hello' }, 'messages'],
    ['/api/chat', { model: 'scripted-model', messages: [{ role: 'robot', content: 'x' }] }, 'messages.0.role'],
    ['/api/chat', { model: 'scripted-model', messages: [{ role: 'user', content: ['x'] }] }, 'messages.0.content'],
    [
      '/api/chat',
      {
        model: 'scripted-model',
        messages: [{ role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: [1] } }] }],
      },
      'messages.0.tool_calls.0.function.arguments',
    ],
    ['/api/chat', { model: 'scripted-model', tools: [{ type: 'function', function: {} }] }, 'tools.0.function.name'],
    ['/api/chat', { model: 'scripted-model', options: { temperature: 7 } }, 'options.temperature'],
    ['/api/chat', { model: 'scripted-model', options: { num_predict: 1.5 } }, 'options.num_predict'],
    ['/api/chat', { model: 'scripted-model', options: [] }, 'options'],
    ['/api/chat', { model: 'scripted-model', format: 'xml' }, 'format'],
    ['/api/chat', { model: 'scripted-model', stream: 'yes' }, 'stream'],
    ['/api/chat', { model: 'scripted-model', keep_alive: 'a while' }, 'keep_alive'],
    ['/api/chat', { model: 'scripted-model', think: 'hard' }, 'think'],
    ['/api/generate', { model: 'scripted-model', prompt: 42 }, 'prompt'],
    ['/api/generate', { model: 'scripted-model', prompt: 'x', images: [1] }, 'images.0'],
    ['/api/generate', { model: 'scripted-model', prompt: 'x', raw: 1 }, 'raw'],
    ['/api/embed', { model: 'scripted-model', input: 5 }, 'input'],
    ['/api/embed', { model: 'scripted-model', input: ['a', 2] }, 'input'],
    ['/api/embed', { model: 'scripted-model', input: 'a', dimensions: -3 }, 'dimensions'],
    ['/api/embeddings', { model: 'scripted-model', prompt: {} }, 'prompt'],
    ['/api/show', {}, 'model'],
    ['/api/show', { model: 7 }, 'model'],
    ['/api/chat', { model: 'scripted-model', temprature: 0.1 }, /unknown field: temprature/],
    [
      '/api/chat',
      { model: 'scripted-model', messages: [{ role: 'user', content: 'x', colour: 'red' }] },
      /unknown field in messages\.0: colour/,
    ],
    ['/api/chat', { model: 'scripted-model', logprobs: true }, 'logprobs'],
    ['/api/generate', { model: 'scripted-model', prompt: 'x', width: 512 }, 'width'],
    ['/api/chat', [], /must be a JSON object/],
    ['/api/chat', 'hello', /must be a JSON object/],
  ];

  for (const [path, body, field] of invalid) {
    test(`${path} ${JSON.stringify(body)} → 400 naming ${field}`, async () => {
      const answer = await post(path, JSON.stringify(body));
      assert.equal(answer.status, 400);
      assert.match(answer.type, /application\/json/);
      const parsed = JSON.parse(answer.text) as { error: unknown; code: unknown };
      assert.equal(typeof parsed.error, 'string');
      assert.equal(parsed.code, 'REQUEST_INVALID');
      if (typeof field === 'string')
        assert.match(parsed.error as string, new RegExp(`\\b${field.replaceAll('.', '\\.')}:`));
      else assert.match(parsed.error as string, field);
    });
  }

  test("Ollama's fields that are mere hints are accepted and ignored", async () => {
    const chat = await post(
      '/api/chat',
      JSON.stringify({
        model: 'scripted-model',
        messages: [{ role: 'user', content: 'hints' }],
        stream: false,
        truncate: true,
        shift: false,
        logprobs: false,
        top_logprobs: 0,
      }),
    );
    assert.equal(chat.status, 200);
    const show = await post('/api/show', JSON.stringify({ model: 'scripted-model', system: 'x', template: 'y' }));
    assert.equal(show.status, 200);
  });

  test('a body that is not JSON is a 400 saying so', async () => {
    const answer = await post('/api/chat', '{"model": "scripted-model",');
    assert.equal(answer.status, 400);
    assert.match((JSON.parse(answer.text) as { error: string }).error, /not valid JSON/);
  });

  test('an empty body is a 400', async () => {
    const answer = await post('/api/generate', '');
    assert.equal(answer.status, 400);
    assert.match((JSON.parse(answer.text) as { error: string }).error, /JSON object/);
  });

  test('a body nested too deeply is a 400, not a crash', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const answer = await post('/api/chat', `{"model":"scripted-model","options":{"x":${deep}}}`);
    assert.equal(answer.status, 400);
    assert.match((JSON.parse(answer.text) as { error: string }).error, /nests deeper/);
  });

  test('wrong methods and unknown routes answer in the Ollama error form', async () => {
    const wrongMethod = await fetch(`${server.url}/api/chat`);
    assert.equal(wrongMethod.status, 405);
    assert.equal(typeof ((await wrongMethod.json()) as { error: unknown }).error, 'string');
    const unknown = await fetch(`${server.url}/api/nothing-here`);
    assert.equal(unknown.status, 404);
    assert.equal(typeof ((await unknown.json()) as { error: unknown }).error, 'string');
  });
});
