/**
 * Request validation of the OpenAI API: every malformed body is a 400 in OpenAI's error
 * format (`{ error: { message, type, param, code } }`) whose message and `param` name the
 * offending field, and the backend is never called. Raw `fetch`, so the exact bodies are sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { defineBackend } from '../../src/index.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

const backend = createScriptedBackend({ name: 'echo', models: ['echo'] });
/** A backend without `embed`. */
const chatOnly = defineBackend({
  metadata: { name: 'chat-only', version: '1.0.0' },
  chat: () => ({ message: { role: 'assistant', content: 'hi' } }),
  listModels: () => [{ id: 'talker' }],
});
let server: TestServer;

before(async () => {
  server = await startTestServer([backend, chatOnly]);
});
after(() => server.close());

interface OpenAiErrorBody {
  readonly error: { readonly message: string; readonly type: string; readonly param: string | null; code: string };
}

/** POSTs `body` (JSON-encoded unless a string) and returns the status and parsed answer. */
async function post(path: string, body: unknown): Promise<{ status: number; body: OpenAiErrorBody }> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as OpenAiErrorBody };
}

const user = [{ role: 'user', content: 'hi' }];

/** Asserts a 400 naming `param`, with `pattern` in the message. */
async function assertInvalid(path: string, body: unknown, param: string | null, pattern: RegExp): Promise<void> {
  const calls = backend.calls.length;
  const answer = await post(path, body);
  assert.equal(answer.status, 400, JSON.stringify(answer.body));
  assert.equal(answer.body.error.type, 'invalid_request_error');
  assert.equal(answer.body.error.code, 'request_invalid');
  assert.equal(answer.body.error.param, param);
  assert.match(answer.body.error.message, pattern);
  assert.equal(backend.calls.length, calls, 'the backend was not called');
}

describe('POST /v1/chat/completions validation', () => {
  const chat = (body: unknown, param: string | null, pattern: RegExp) =>
    assertInvalid('/v1/chat/completions', body, param, pattern);

  test('missing or empty required fields', async () => {
    await chat({ model: 'echo' }, 'messages', /missing required parameter 'messages'/);
    await chat({ messages: user }, 'model', /missing required parameter 'model'/);
    await chat({ model: 'echo', messages: [] }, 'messages', /at least one message/);
  });

  test('wrong types name the field', async () => {
    await chat({ model: 'echo', messages: 'hi' }, 'messages', /messages: .*expected array/);
    await chat({ model: 42, messages: user }, 'model', /model: .*expected string/);
    await chat({ model: 'echo', messages: user, temperature: 'hot' }, 'temperature', /temperature/);
    await chat({ model: 'echo', messages: user, temperature: 3 }, 'temperature', /temperature/);
    await chat({ model: 'echo', messages: user, max_tokens: 1.5 }, 'max_tokens', /max_tokens/);
    await chat({ model: 'echo', messages: user, stream: 'yes' }, 'stream', /stream/);
    await chat({ model: 'echo', messages: user, stop: [1] }, 'stop.0', /stop\.0/);
  });

  test('malformed messages name the message and field', async () => {
    await chat({ model: 'echo', messages: [{ role: 'robot', content: 'x' }] }, 'messages.0.role', /'user'/);
    await chat({ model: 'echo', messages: [{ content: 'x' }] }, 'messages.0.role', /messages\.0\.role/);
    await chat({ model: 'echo', messages: [{ role: 'user', content: 7 }] }, 'messages.0.content', /string or an array/);
    await chat(
      { model: 'echo', messages: [{ role: 'user', content: [{ type: 'text' }] }] },
      'messages.0.content.0.text',
      /messages\.0\.content\.0\.text/,
    );
    await chat(
      { model: 'echo', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] },
      'messages.0.content.0.type',
      /audio input parts are not supported/,
    );
    await chat(
      { model: 'echo', messages: [{ role: 'tool', content: 'x' }] },
      'messages.0.tool_call_id',
      /tool_call_id/,
    );
    await chat(
      { model: 'echo', messages: [{ role: 'user', content: 'x', colour: 'red' }] },
      'messages.0.colour',
      /unknown field in messages\.0: colour/,
    );
  });

  test('an unknown top-level field is named', async () => {
    await chat({ model: 'echo', messages: user, temprature: 0.5 }, 'temprature', /unknown field: temprature/);
  });

  test('unsupported OpenAI parameters say so', async () => {
    await chat({ model: 'echo', messages: user, n: 2 }, 'n', /n must be 1/);
    await chat({ model: 'echo', messages: user, logprobs: true }, 'logprobs', /logprobs are not supported/);
    await chat({ model: 'echo', messages: user, modalities: ['text', 'audio'] }, 'modalities', /audio output/);
    await chat(
      { model: 'echo', messages: user, functions: [{ name: 'f' }] },
      'functions',
      /deprecated and not supported: use `tools`/,
    );
  });

  test('cross-field rules: stream_options needs stream, tool_choice needs a matching tool', async () => {
    await chat(
      { model: 'echo', messages: user, stream_options: { include_usage: true } },
      'stream_options',
      /only allowed when stream is true/,
    );
    await chat({ model: 'echo', messages: user, tool_choice: 'required' }, 'tool_choice', /tool_choice needs tools/);
    await chat(
      {
        model: 'echo',
        messages: user,
        tools: [{ type: 'function', function: { name: 'a' } }],
        tool_choice: { type: 'function', function: { name: 'b' } },
      },
      'tool_choice.function.name',
      /no tool named "b"/,
    );
  });

  test('bodies that are not JSON objects', async () => {
    await chat('{"model": "echo", "messages": [', null, /not valid JSON/);
    await chat('[1, 2]', null, /must be a JSON object/);
    await chat('"text"', null, /must be a JSON object/);
    await chat('', null, /must be a JSON object/);
  });

  test('null for optional parameters means "not given", as with OpenAI', async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'echo', messages: user, temperature: null, stop: null, n: null, tools: null }),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(backend.calls.at(-1)?.options, {});
  });

  test('the official client raises BadRequestError with the param', async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    await assert.rejects(
      client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'x' }], n: 3 }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.BadRequestError, String(error));
        assert.equal(error.param, 'n');
        assert.match(error.message, /n must be 1/);
        return true;
      },
    );
  });
});

describe('POST /v1/embeddings validation', () => {
  const embed = (body: unknown, param: string | null, pattern: RegExp) =>
    assertInvalid('/v1/embeddings', body, param, pattern);

  test('input must be text', async () => {
    await embed({ model: 'echo' }, 'input', /missing required parameter 'input'/);
    await embed({ model: 'echo', input: [1, 2, 3] }, 'input.0', /token arrays are not supported/);
    await embed({ model: 'echo', input: [[1, 2]] }, 'input.0', /token arrays are not supported/);
    await embed({ model: 'echo', input: [] }, 'input', /at least one input/);
    await embed({ model: 'echo', input: ['ok', ''] }, 'input.1', /must not be empty/);
    await embed({ model: 'echo', input: { text: 'x' } }, 'input', /string or an array of strings/);
  });

  test('other fields', async () => {
    await embed({ input: 'x' }, 'model', /missing required parameter 'model'/);
    await embed({ model: 'echo', input: 'x', encoding_format: 'hex' }, 'encoding_format', /encoding_format/);
    await embed({ model: 'echo', input: 'x', colour: 1 }, 'colour', /unknown field: colour/);
  });

  test('dimensions other than the model’s size are refused, naming the size', async () => {
    await embed({ model: 'echo', input: 'x', dimensions: 4 }, 'dimensions', /returns 8-dimensional embeddings/);
    const same = await fetch(`${server.url}/v1/embeddings`, {
      method: 'POST',
      body: JSON.stringify({ model: 'echo', input: 'x', dimensions: 8, encoding_format: 'float' }),
    });
    assert.equal(same.status, 200);
  });

  test('a backend without embeddings is a 400 saying so', async () => {
    const answer = await post('/v1/embeddings', { model: 'talker', input: 'x' });
    assert.equal(answer.status, 400);
    assert.match(answer.body.error.message, /"chat-only" does not support embeddings/);
  });
});
