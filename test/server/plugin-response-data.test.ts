/**
 * A plugin adds data for the client with `call.setResponseData` (RAG's citations, the tools
 * that ran): it reaches the client as the reply's `plugboard` object on every chat API,
 * streamed or not — in the completion, in the last SSE chunk, in Ollama's `done` line —
 * through the official clients too. Values that are not JSON and the server's own key are
 * refused, and a request whose plugins set nothing has no `plugboard` object.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { defineFeatureExtension } from '../../src/index.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

const refusals: boolean[] = [];
const citer = defineFeatureExtension({
  metadata: { name: 'citer', version: '1.0.0' },
  extend(context, call) {
    if (context.messages.at(-1)?.content === 'plain') return context;
    call.setResponseData('citations', [{ source: 1, document: 'handbook.md', page: 3 }]);
    call.setResponseData('citations', [{ source: 1, document: 'handbook.md', page: 4 }]); // replaces
    refusals.push(
      call.setResponseData('degraded', ['forged']),
      call.setResponseData('bad', { at: new Date() } as never),
      call.setResponseData('', 1),
    );
    return context;
  },
});

const EXPECTED = { citations: [{ source: 1, document: 'handbook.md', page: 4 }] };

let server: TestServer;
before(async () => {
  server = await startTestServer([createScriptedBackend(), citer]);
});
after(() => server.close());

async function post(path: string, body: unknown): Promise<string> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return text;
}

describe('data plugins set for the client', () => {
  test('OpenAI completion: the plugboard object; refused keys and values left out', async () => {
    const body = JSON.parse(
      await post('/v1/chat/completions', { model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }] }),
    );
    assert.deepEqual(body.plugboard, EXPECTED);
    assert.deepEqual(refusals.slice(-3), [false, false, false], 'degraded, a Date and an empty key are refused');
  });

  test('OpenAI stream: on the last chunk only', async () => {
    const text = await post('/v1/chat/completions', {
      model: 'scripted-model',
      stream: true,
      messages: [{ role: 'user', content: 'hi there friend' }],
    });
    const events = text
      .split('\n\n')
      .filter((event) => event.startsWith('data: {'))
      .map((event) => JSON.parse(event.slice(6)));
    assert.ok(events.length > 2, 'several chunks');
    assert.deepEqual(events.at(-1).plugboard, EXPECTED);
    assert.ok(
      events.slice(0, -1).every((event) => event.plugboard === undefined),
      'only the last chunk carries it',
    );
  });

  test('Ollama chat and generate, streamed or not: on the done line', async () => {
    for (const [path, body] of [
      ['/api/chat', { model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }], stream: false }],
      ['/api/chat', { model: 'scripted-model', messages: [{ role: 'user', content: 'hi you' }] }],
      ['/api/generate', { model: 'scripted-model', prompt: 'hi', stream: false }],
      ['/api/generate', { model: 'scripted-model', prompt: 'hi you' }],
    ] as const) {
      const lines = (await post(path, body))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      assert.deepEqual(lines.at(-1).plugboard, EXPECTED, `${path} ${JSON.stringify(body)}`);
      assert.equal(lines.at(-1).done, true);
      assert.ok(
        lines.slice(0, -1).every((line) => line.plugboard === undefined),
        'only the last line carries it',
      );
    }
  });

  test('nothing set: no plugboard object', async () => {
    const body = JSON.parse(
      await post('/v1/chat/completions', { model: 'scripted-model', messages: [{ role: 'user', content: 'plain' }] }),
    );
    assert.equal(body.plugboard, undefined);
  });

  test('the official clients hand the data over', async () => {
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused' });
    const completion = await openai.chat.completions.create({
      model: 'scripted-model',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.deepEqual((completion as unknown as { plugboard: unknown }).plugboard, EXPECTED);
    const ollama = new Ollama({ host: server.url });
    const reply = await ollama.chat({ model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }] });
    assert.deepEqual((reply as unknown as { plugboard: unknown }).plugboard, EXPECTED);
  });
});
