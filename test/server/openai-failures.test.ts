/**
 * Failures and cancellation of the OpenAI chat API, seen through the official client: a
 * backend failing before any output is an HTTP error (502 APIError), one failing mid-stream
 * an in-band error event that makes the client's iteration throw, and a client that aborts
 * (whole or streamed request) aborts the backend call. No sleeps: tests wait on promises the
 * server's behaviour resolves.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { type ChatChunk, type ChatContext, defineBackend, lastUserMessage } from '../../src/index.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { type Deferred, deferred } from '../support/deferred.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

/** Fails as the user message says: `early` before output, `midway` after two chunks. */
const flaky = createScriptedBackend({
  name: 'flaky',
  models: ['flaky'],
  reply: 'one two three four five six seven eight nine ten',
  fail: (_call, context: ChatContext) => {
    const text = lastUserMessage(context)?.content;
    if (text === 'early') return { error: new Error('boom before output') };
    if (text === 'midway') return { error: new Error('boom midway'), afterChunks: 2 };
    return undefined;
  },
});

/**
 * A backend that, once called, yields one chunk (when streaming) and then waits for its
 * signal to abort. `entered` resolves on the call, `aborted` with the abort reason.
 */
function hangingBackend() {
  let entered: Deferred<void> = deferred();
  let aborted: Deferred<unknown> = deferred();
  const plugin = defineBackend({
    metadata: { name: 'hanging', version: '1.0.0' },
    listModels: () => [{ id: 'hang' }],
    chat: (context, call) => {
      entered.resolve();
      const untilAborted = new Promise<never>((_, reject) => {
        call.signal.addEventListener(
          'abort',
          () => {
            aborted.resolve(call.signal.reason);
            reject(call.signal.reason);
          },
          { once: true },
        );
      });
      untilAborted.catch(() => undefined);
      return context.stream ? firstThenWait(untilAborted) : untilAborted;
    },
  });
  return {
    plugin,
    /** Fresh promises for the next request. */
    reset() {
      entered = deferred();
      aborted = deferred();
    },
    get entered() {
      return entered.promise;
    },
    get aborted() {
      return aborted.promise;
    },
  };
}

async function* firstThenWait(until: Promise<never>): AsyncGenerator<ChatChunk> {
  yield { content: 'first' };
  await until;
}

const hanging = hangingBackend();
let server: TestServer;
let client: OpenAI;

before(async () => {
  // After an aborted request, Node's fetch (undici) opens a spare connection that never sends
  // a request; Node 20's server.close() does not count it as idle, so close() would wait the
  // whole shutdown timeout (30 s by default) for it. Reported to the server's owner.
  server = await startTestServer([flaky, hanging.plugin], { settings: { shutdownTimeoutMs: 1000 } });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(() => server.close());

describe('backend failures', () => {
  test('a failure before any output is an HTTP 502 APIError naming the plugin (not its exception text), streaming or not', async () => {
    for (const stream of [false, true]) {
      await assert.rejects(
        client.chat.completions.create({ model: 'flaky', messages: [{ role: 'user', content: 'early' }], stream }),
        (error: unknown) => {
          assert.ok(error instanceof OpenAI.APIError, String(error));
          assert.equal(error.status, 502, `stream: ${stream}`);
          // The plugin's own exception text stays in the log: the client gets what failed and where.
          assert.doesNotMatch(error.message, /boom/);
          assert.match(error.message, /Backend "flaky" failed: .*plugin "flaky", chat/);
          assert.equal(error.type, 'server_error');
          assert.equal(error.code, 'backend_failed');
          return true;
        },
      );
    }
  });

  test('a failure mid-stream makes the client’s iteration throw, after the first chunks', async () => {
    const stream = await client.chat.completions.create({
      model: 'flaky',
      messages: [{ role: 'user', content: 'midway' }],
      stream: true,
    });
    let text = '';
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })(),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.APIError, String(error));
        assert.doesNotMatch(error.message, /boom/);
        assert.match(error.message, /plugin "flaky", chat:stream/);
        return true;
      },
    );
    // Two chunks of four characters made it out before the failure.
    assert.equal(text, 'one two ');
  });

  test('the mid-stream error is an SSE data event with an OpenAI error object, and no [DONE]', async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'flaky', messages: [{ role: 'user', content: 'midway' }], stream: true }),
    });
    assert.equal(response.status, 200);
    const events = (await response.text()).split('\n\n').filter(Boolean);
    const last = events.at(-1) ?? '';
    assert.match(last, /^data: /);
    const body = JSON.parse(last.slice('data: '.length)) as { error: { message: string; type: string; code: string } };
    assert.doesNotMatch(body.error.message, /boom/, "the plugin's exception text is not sent");
    assert.match(body.error.message, /plugin "flaky"/);
    assert.equal(body.error.type, 'server_error');
    assert.equal(body.error.code, 'backend_failed');
    assert.ok(!events.includes('data: [DONE]'));
  });
});

describe('client aborts', () => {
  test('aborting a whole request aborts the backend call', { timeout: 10_000 }, async () => {
    hanging.reset();
    const controller = new AbortController();
    const request = client.chat.completions.create(
      { model: 'hang', messages: [{ role: 'user', content: 'wait' }] },
      { signal: controller.signal },
    );
    await hanging.entered;
    controller.abort();
    await assert.rejects(request, (error: unknown) => error instanceof OpenAI.APIUserAbortError);
    const reason = (await hanging.aborted) as { code?: string };
    assert.equal(reason.code, 'REQUEST_ABORTED');
  });

  test('leaving a stream after its first chunk aborts the backend stream', { timeout: 10_000 }, async () => {
    hanging.reset();
    const stream = await client.chat.completions.create({
      model: 'hang',
      messages: [{ role: 'user', content: 'wait' }],
      stream: true,
    });
    for await (const chunk of stream) {
      assert.equal(chunk.choices[0]?.delta.content, 'first');
      break; // The client aborts its request when the loop is left.
    }
    const reason = (await hanging.aborted) as { code?: string };
    assert.equal(reason.code, 'REQUEST_ABORTED');
  });
});
