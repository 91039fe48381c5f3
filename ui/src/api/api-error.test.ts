import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiErrorFrom, unreachable } from './api-error.ts';

// The banner shows what these return: the server's own message and hint, whatever the API's format.

test("Plugboard's and OpenAI's format: code (upper case), message and hint", async () => {
  const openAi = await apiErrorFrom(
    Response.json(
      {
        error: {
          message: 'No backend answered',
          type: 'server_error',
          code: 'backend_unavailable',
          hint: 'Start Ollama',
        },
      },
      { status: 503 },
    ),
  );
  assert.equal(openAi.status, 503);
  assert.equal(openAi.code, 'BACKEND_UNAVAILABLE');
  assert.equal(openAi.message, 'No backend answered');
  assert.equal(openAi.hint, 'Start Ollama');
});

test("Ollama's format: the error string is the message", async () => {
  const error = await apiErrorFrom(Response.json({ error: 'model "x" not found' }, { status: 404 }));
  assert.equal(error.code, 'NOT_FOUND');
  assert.equal(error.message, 'model "x" not found');
  assert.equal(error.hint, undefined);
});

test('a body that is not JSON: short text is the message, long text or nothing gives the status', async () => {
  assert.equal((await apiErrorFrom(new Response('Bad gateway', { status: 502 }))).message, 'Bad gateway');
  assert.equal((await apiErrorFrom(new Response('x'.repeat(500), { status: 500 }))).message, 'The server answered 500');
  const empty = await apiErrorFrom(new Response(null, { status: 401 }));
  assert.equal(empty.code, 'UNAUTHORIZED');
  assert.equal(empty.message, 'The server answered 401');
});

test('the whole body stays available (a form reads its issues)', async () => {
  const body = { error: { code: 'CONFIG_INVALID', message: 'bad', issues: [{ path: ['a'], message: 'too big' }] } };
  const error = await apiErrorFrom(Response.json(body, { status: 400 }));
  assert.deepEqual(error.body, body);
});

test('a server that does not answer: says what to do', () => {
  const error = unreachable(new TypeError('Failed to fetch'));
  assert.equal(error.status, 0);
  assert.match(error.message, /Failed to fetch/);
  assert.match(error.hint ?? '', /npm start/);
});
