/**
 * End to end through the real HTTP server, with the official `openai` and `ollama` clients:
 * an input card number is redacted before the backend sees it, an output secret split across
 * chunks is redacted in the SSE and the NDJSON stream (equal to the whole reply), and a
 * blocked category is a 422 in each API's error format, naming the category, not the value.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { type ChatContext, lastUserMessage } from '../../src/index.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import contentFilter from './content-filter.plugin.ts';

const CARD = '4111 1111 1111 1111';
const KEY = 'sk-proj-abc123DEF456ghi789JKL012mnoPQR345';
/** Longer than the window (96 characters held back), so that it streams in several pieces. */
const TAIL = ' Rotate it every ninety days, store it in a vault, and never paste it into a chat again.'.repeat(2);
const REPLY = `Use this key: ${KEY} and keep it secret.${TAIL}`;
const EXPECTED = `Use this key: [secret] and keep it secret.${TAIL}`;

const backend = createScriptedBackend({
  name: 'echo',
  models: ['echo'],
  reply: (context) => (lastUserMessage(context)?.content === 'key please' ? REPLY : 'ok'),
  // Three-character chunks: the key is split across a dozen of them.
  chunking: 3,
});
let server: TestServer;
let openai: OpenAI;
let ollama: Ollama;

before(async () => {
  server = await startTestServer([
    backend,
    [contentFilter, { config: { categories: { ssn: { action: 'block', direction: 'input' } } } }],
  ]);
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  ollama = new Ollama({ host: server.url });
});
after(() => server.close());

const lastCall = (): ChatContext => {
  const call = backend.calls.at(-1);
  assert.ok(call, 'the backend was called');
  return call;
};

describe('OpenAI API (/v1/chat/completions)', () => {
  test('an input card number is redacted before the backend sees it', async () => {
    await openai.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: `card ${CARD}` }] });
    assert.equal(lastUserMessage(lastCall())?.content, 'card [card]');
  });

  test('an output secret split across chunks is redacted in the SSE stream, as in the whole reply', async () => {
    const messages = [{ role: 'user' as const, content: 'key please' }];
    const whole = await openai.chat.completions.create({ model: 'echo', messages });
    assert.equal(whole.choices[0]?.message.content, EXPECTED);
    const stream = await openai.chat.completions.create({ model: 'echo', messages, stream: true });
    let text = '';
    let pieces = 0;
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content ?? '';
      text += content;
      if (content) pieces++;
    }
    assert.equal(text, EXPECTED);
    assert.ok(pieces > 1, 'streamed in pieces');
  });

  test('a blocked category is a 422 in OpenAI’s error format, naming the category', async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'SSN 123-45-6789' }] }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.UnprocessableEntityError, String(error));
        assert.equal(error.status, 422);
        assert.match(error.message, /contains ssn/);
        // The OpenAI format writes codes in lower case.
        assert.equal(error.code, 'content_filter/blocked');
        assert.ok(!error.message.includes('6789'));
        return true;
      },
    );
  });
});

describe('Ollama API (/api/chat)', () => {
  test('an input card number is redacted before the backend sees it', async () => {
    await ollama.chat({ model: 'echo', messages: [{ role: 'user', content: `card ${CARD}` }] });
    assert.equal(lastUserMessage(lastCall())?.content, 'card [card]');
  });

  test('an output secret split across chunks is redacted in the NDJSON stream, as in the whole reply', async () => {
    const messages = [{ role: 'user', content: 'key please' }];
    const whole = await ollama.chat({ model: 'echo', messages });
    assert.equal(whole.message.content, EXPECTED);
    let text = '';
    let pieces = 0;
    for await (const part of await ollama.chat({ model: 'echo', messages, stream: true })) {
      text += part.message.content;
      if (part.message.content) pieces++;
    }
    assert.equal(text, EXPECTED);
    assert.ok(pieces > 1, 'streamed in pieces');
  });

  test('a blocked category is a 422 in Ollama’s error format, naming the category', async () => {
    for (const stream of [false, true] as const) {
      await assert.rejects(
        (async () => {
          const reply = await ollama.chat({
            model: 'echo',
            messages: [{ role: 'user', content: 'SSN 123-45-6789' }],
            stream: stream as true,
          });
          for await (const _ of reply);
        })(),
        (error: Error & { status_code?: number }) => {
          assert.equal(error.status_code, 422);
          assert.match(error.message, /contains ssn/);
          assert.ok(!error.message.includes('6789'));
          return true;
        },
      );
    }
  });
});
