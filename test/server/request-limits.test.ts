/**
 * Request size caps other than bytes (issue #10, item 10): messages per chat request, inputs
 * per embeddings request, characters of text per request (`server.limits`). Checked before the
 * per-message schema validation, answered 413 in each API's own format. Also: the settings
 * the new `server` keys make, and over-long path parameters answered in Plugboard's format.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { serverSchema } from '../../src/config/schema.ts';
import { DEFAULT_SERVER_SETTINGS, serverSettingsFrom } from '../../src/server/settings.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';
import { destroyRawConnections, openRaw, within } from '../support/raw-http.ts';

const ADMIN_TOKEN = 'limits-admin-token-0123456789';

function messages(count: number, content = 'hi'): { role: string; content: string }[] {
  return Array.from({ length: count }, (_, index) => ({ role: index % 2 === 0 ? 'user' : 'assistant', content }));
}

async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

type OpenAiError = { error: { code: string; type: string; message: string; param: string | null } };
type OllamaError = { error: string; code: string };

describe('server.limits', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer([createScriptedBackend()], {
      settings: { maxMessages: 50, maxInputs: 5, maxTotalChars: 1000, adminToken: ADMIN_TOKEN },
    });
  });
  after(async () => {
    destroyRawConnections();
    await server.close();
  });

  test('a chat at the caps is served on both APIs', async () => {
    const at = messages(50, 'x'.repeat(20)); // 50 messages, 1000 characters
    const openai = await post(`${server.url}/v1/chat/completions`, { model: 'scripted-model', messages: at });
    assert.equal(openai.status, 200, JSON.stringify(openai.body));
    const ollama = await post(`${server.url}/api/chat`, { model: 'scripted-model', messages: at, stream: false });
    assert.equal(ollama.status, 200, JSON.stringify(ollama.body));
  });

  test('one message too many is a 413 in OpenAI format naming the limit', async () => {
    const response = await post(`${server.url}/v1/chat/completions`, {
      model: 'scripted-model',
      messages: messages(51),
    });
    assert.equal(response.status, 413);
    const { error } = response.body as OpenAiError;
    assert.equal(error.code, 'request_limit_exceeded');
    assert.equal(error.type, 'invalid_request_error');
    assert.equal(error.param, 'messages');
    assert.match(error.message, /51 messages/);
    assert.match(error.message, /50/);
  });

  test('one message too many is a 413 in Ollama format', async () => {
    const response = await post(`${server.url}/api/chat`, { model: 'scripted-model', messages: messages(51) });
    assert.equal(response.status, 413);
    const body = response.body as OllamaError;
    assert.equal(body.code, 'REQUEST_LIMIT_EXCEEDED');
    assert.match(body.error, /51 messages/);
  });

  test('the cap is checked before the messages are validated one by one', async () => {
    const invalid = Array.from({ length: 51 }, () => ({ role: 'nobody', content: 7 }));
    const openai = await post(`${server.url}/v1/chat/completions`, { model: 'scripted-model', messages: invalid });
    assert.equal(openai.status, 413);
    const ollama = await post(`${server.url}/api/chat`, { model: 'scripted-model', messages: invalid });
    assert.equal(ollama.status, 413);
  });

  test('content parts count against the same cap', async () => {
    const parts = Array.from({ length: 51 }, () => ({ type: 'text', text: 'a' }));
    const response = await post(`${server.url}/v1/chat/completions`, {
      model: 'scripted-model',
      messages: [{ role: 'user', content: parts }],
    });
    assert.equal(response.status, 413);
    assert.match((response.body as OpenAiError).error.message, /content parts/);
  });

  test('too much text is a 413 on chat and generate', async () => {
    const long = messages(2, 'x'.repeat(501)); // 1002 characters
    const openai = await post(`${server.url}/v1/chat/completions`, { model: 'scripted-model', messages: long });
    assert.equal(openai.status, 413);
    assert.match((openai.body as OpenAiError).error.message, /1002 characters/);
    const parts = await post(`${server.url}/v1/chat/completions`, {
      model: 'scripted-model',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'y'.repeat(1001) }] }],
    });
    assert.equal(parts.status, 413);
    const ollama = await post(`${server.url}/api/chat`, { model: 'scripted-model', messages: long });
    assert.equal(ollama.status, 413);
    const generate = await post(`${server.url}/api/generate`, {
      model: 'scripted-model',
      system: 'z'.repeat(600),
      prompt: 'z'.repeat(401),
    });
    assert.equal(generate.status, 413);
    assert.match((generate.body as OllamaError).error, /1001 characters/);
    const fits = await post(`${server.url}/api/generate`, {
      model: 'scripted-model',
      system: 'z'.repeat(600),
      prompt: 'z'.repeat(400),
      stream: false,
    });
    assert.equal(fits.status, 200, JSON.stringify(fits.body));
  });

  test('embeddings: at most max_inputs inputs and max_total_chars characters', async () => {
    const five = ['a', 'b', 'c', 'd', 'e'];
    const openaiOk = await post(`${server.url}/v1/embeddings`, { model: 'scripted-model', input: five });
    assert.equal(openaiOk.status, 200, JSON.stringify(openaiOk.body));
    const openai = await post(`${server.url}/v1/embeddings`, { model: 'scripted-model', input: [...five, 'f'] });
    assert.equal(openai.status, 413);
    const { error } = openai.body as OpenAiError;
    assert.deepEqual([error.code, error.param], ['request_limit_exceeded', 'input']);
    assert.match(error.message, /6 inputs/);

    const ollamaOk = await post(`${server.url}/api/embed`, { model: 'scripted-model', input: five });
    assert.equal(ollamaOk.status, 200, JSON.stringify(ollamaOk.body));
    const ollama = await post(`${server.url}/api/embed`, { model: 'scripted-model', input: [...five, 'f'] });
    assert.equal(ollama.status, 413);
    assert.equal((ollama.body as OllamaError).code, 'REQUEST_LIMIT_EXCEEDED');

    const longText = await post(`${server.url}/api/embed`, { model: 'scripted-model', input: 'w'.repeat(1001) });
    assert.equal(longText.status, 413);
    const legacy = await post(`${server.url}/api/embeddings`, { model: 'scripted-model', prompt: 'w'.repeat(1001) });
    assert.equal(legacy.status, 413);
    const openaiText = await post(`${server.url}/v1/embeddings`, { model: 'scripted-model', input: 'w'.repeat(1001) });
    assert.equal(openaiText.status, 413);
  });

  test('an over-long path parameter is answered in Plugboard format with the request id', async () => {
    const response = await fetch(`${server.url}/admin/plugins/${'p'.repeat(10_000)}/reload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(response.status, 414);
    const id = response.headers.get('x-request-id');
    assert.match(id ?? '', /^[0-9a-f-]{36}$/);
    const { error } = (await response.json()) as { error: { code: string; message: string; request_id: string } };
    assert.equal(error.code, 'URI_TOO_LONG');
    assert.equal(error.request_id, id);
    assert.ok(error.message.length < 400, 'the message does not echo the whole path');
  });

  test('a router error while the client still sends a body closes the connection', async () => {
    const request = openRaw(
      server.url,
      `POST /admin/plugins/${'p'.repeat(200)}/reload HTTP/1.1\r\nHost: plugboard\r\nContent-Length: 100\r\n\r\n`,
      '{',
    );
    const response = await within(request.response, 3000, 'response');
    assert.equal(response.status, 414);
    assert.equal(response.headers.connection, 'close');
    await within(request.closed, 2000, 'connection closed');
  });

  test('a path that is not valid percent-encoding is a 400 in the format of its API', async () => {
    const admin = await fetch(`${server.url}/admin/plugins/%E0%A4%A/reload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(admin.status, 400);
    assert.equal(((await admin.json()) as { error: { code: string } }).error.code, 'REQUEST_INVALID');
  });
});

describe('server.limits by default', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer([createScriptedBackend()]);
  });
  after(async () => {
    destroyRawConnections();
    await server.close();
  });

  test('a flood of tiny messages is refused before validation (no auth needed to try)', async () => {
    const flood = messages(DEFAULT_SERVER_SETTINGS.maxMessages + 1, 'a');
    const response = await post(`${server.url}/api/chat`, { model: 'scripted-model', messages: flood });
    assert.equal(response.status, 413);
    assert.match((response.body as OllamaError).error, /server\.limits\.max_messages/);
  });
});

describe('server settings from the config section', () => {
  test('the body and limits keys become settings', () => {
    const settings = serverSettingsFrom(
      serverSchema.parse({
        body_timeout: 5,
        body_min_rate_kb: 8,
        max_pending_bodies: 10,
        limits: { max_messages: 3, max_inputs: 4, max_total_chars: 500 },
      }),
      {},
    );
    assert.equal(settings.bodyTimeoutMs, 5000);
    assert.equal(settings.bodyMinRateBytes, 8 * 1024);
    assert.equal(settings.maxPendingBodies, 10);
    assert.deepEqual([settings.maxMessages, settings.maxInputs, settings.maxTotalChars], [3, 4, 500]);
  });

  test('left out, they have the defaults', () => {
    const settings = serverSettingsFrom(serverSchema.parse({}), {});
    for (const key of [
      'bodyTimeoutMs',
      'bodyMinRateBytes',
      'maxPendingBodies',
      'maxMessages',
      'maxInputs',
      'maxTotalChars',
    ] as const) {
      assert.equal(settings[key], DEFAULT_SERVER_SETTINGS[key], key);
    }
    assert.equal(settings.bodyTimeoutMs, 30_000);
  });

  test('nonsense values are config errors', () => {
    assert.equal(serverSchema.safeParse({ body_timeout: 0 }).success, false);
    assert.equal(serverSchema.safeParse({ max_pending_bodies: 0 }).success, false);
    assert.equal(serverSchema.safeParse({ limits: { max_messages: 1.5 } }).success, false);
    assert.equal(serverSchema.safeParse({ limits: { max_mesages: 10 } }).success, false);
  });
});
