/**
 * `POST /api/generate` through the official `ollama` client: the prompt runs as a chat
 * (system + user message) through the pipeline, answered whole or streamed as `response`
 * pieces with a final line carrying `context`, counts and durations.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type GenerateResponse, Ollama } from 'ollama';
import type { ChatContext } from '../../src/index.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

const backend = createScriptedBackend({
  models: ['scripted-model'],
  reply: (context) =>
    context.options.think
      ? { thinking: 'Pondering.', content: 'Done thinking.' }
      : `You said: ${context.messages.at(-1)?.content ?? ''}`,
});

let server: TestServer;
let client: Ollama;

before(async () => {
  server = await startTestServer([backend]);
  client = new Ollama({ host: server.url });
});
after(() => server.close());

function lastCall(): ChatContext {
  const call = backend.calls.at(-1);
  assert.ok(call, 'the backend was called');
  return call;
}

async function collect(parts: AsyncIterable<GenerateResponse>): Promise<GenerateResponse[]> {
  const lines: GenerateResponse[] = [];
  for await (const part of parts) lines.push(part);
  return lines;
}

describe('POST /api/generate', () => {
  test('without streaming: system and prompt become a conversation; one response object', async () => {
    const response = await client.generate({
      model: 'scripted-model',
      system: 'Be brief.',
      prompt: 'Why is the sky blue?',
    });
    assert.equal(response.model, 'scripted-model');
    assert.equal(response.response, 'You said: Why is the sky blue?');
    assert.equal(response.done, true);
    assert.equal(response.done_reason, 'stop');
    assert.deepEqual(response.context, []);
    assert.equal(response.prompt_eval_count, 7);
    assert.equal(response.eval_count, 7);
    assert.ok(Number.isInteger(response.total_duration) && response.total_duration > 0);
    assert.deepEqual(
      lastCall().messages.map((message) => [message.role, message.content]),
      [
        ['system', 'Be brief.'],
        ['user', 'Why is the sky blue?'],
      ],
    );
    assert.equal(lastCall().stream, false);
  });

  test('streaming: response pieces, then a done line with context, counts and durations', async () => {
    const lines = await collect(
      await client.generate({ model: 'scripted-model', prompt: 'count to three', stream: true }),
    );
    const final = lines.at(-1)!;
    const pieces = lines.slice(0, -1);
    assert.ok(pieces.length > 1);
    for (const piece of pieces) {
      assert.equal(piece.done, false);
      assert.equal(typeof piece.response, 'string');
      assert.ok(!('context' in piece), 'only the final line has context');
    }
    assert.equal(pieces.map((piece) => piece.response).join(''), 'You said: count to three');
    assert.equal(final.done, true);
    assert.equal(final.done_reason, 'stop');
    assert.equal(final.response, '');
    assert.deepEqual(final.context, []);
    assert.equal(final.eval_count, 5);
    assert.ok(Number.isInteger(final.eval_duration) && final.eval_duration >= 0);
    assert.equal(lastCall().stream, true);
  });

  test('raw skips the system prompt, as Ollama skips all templating', async () => {
    await client.generate({ model: 'scripted-model', system: 'ignored', prompt: '[INST] hi [/INST]', raw: true });
    assert.deepEqual(
      lastCall().messages.map((message) => message.role),
      ['user'],
    );
  });

  test('images, format, options and keep_alive reach the chat context', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } } };
    await client.generate({
      model: 'scripted-model',
      prompt: 'describe',
      images: ['aGVsbG8='],
      format: schema,
      keep_alive: 30,
      options: { num_predict: 10, mirostat: 2 },
    });
    const seen = lastCall();
    assert.deepEqual(seen.messages[0]?.images, ['aGVsbG8=']);
    assert.deepEqual(seen.options, {
      maxTokens: 10,
      extra: { mirostat: 2 },
      responseFormat: { type: 'json_schema', schema },
      keepAlive: 30,
    });
  });

  test('think: reasoning arrives as `thinking`, apart from the response', async () => {
    const whole = await client.generate({ model: 'scripted-model', prompt: 'q', think: true });
    assert.equal(whole.thinking, 'Pondering.');
    assert.equal(whole.response, 'Done thinking.');
    const lines = await collect(
      await client.generate({ model: 'scripted-model', prompt: 'q', think: true, stream: true }),
    );
    assert.equal(lines.map((line) => line.thinking ?? '').join(''), 'Pondering.');
    assert.equal(lines.map((line) => line.response).join(''), 'Done thinking.');
  });

  test('an empty prompt loads the model without calling it', async () => {
    const before = backend.calls.length;
    const response = await client.generate({ model: 'scripted-model', prompt: '' });
    assert.equal(response.done, true);
    assert.equal(response.done_reason, 'load');
    assert.equal(response.response, '');
    assert.equal(backend.calls.length, before);
  });

  test('suffix (fill-in-the-middle) is refused with a 400 naming it', async () => {
    await assert.rejects(
      client.generate({ model: 'scripted-model', prompt: 'def f(', suffix: '  return x' }),
      (error: Error & { status_code?: number }) => error.status_code === 400 && /suffix/.test(error.message),
    );
  });

  test('an unknown model is a 404', async () => {
    await assert.rejects(
      client.generate({ model: 'missing', prompt: 'hi' }),
      (error: Error & { status_code?: number }) =>
        error.status_code === 404 && /scripted\/scripted-model/.test(error.message),
    );
  });
});
