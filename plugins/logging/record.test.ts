/**
 * The record of each kind of request, through a real manager: a completed chat (principal,
 * client, model, backend, tokens, each step with its timing), the same streamed, a failed one
 * (the error code and where it came from), one a middleware rejected, one the client aborted,
 * an embeddings request and a model listing. Bodies only when `include_bodies` is on, cut at
 * `max_body_chars`. Records are awaited by count, never by time.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import {
  createChatContext,
  defineMiddleware,
  PlugboardError,
  type PluginManager,
  reject,
  updateContext,
} from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';
import { createLoggingPlugin } from './logging.plugin.ts';
import type { RequestRecord } from './record.ts';
import { createRecorder, type Recorder } from './testing/recorder.ts';

/** Sets the principal, as an auth middleware does. */
const signIn = defineMiddleware({
  metadata: { name: 'sign-in', version: '1.0.0', priority: 'CRITICAL' },
  processRequest: (context) => updateContext(context, { principal: { id: 'alice', roles: ['chat'] } }),
});

/** Refuses requests whose last message says "forbidden". */
const gate = defineMiddleware({
  metadata: { name: 'gate', version: '1.0.0' },
  processRequest: (context) =>
    context.messages.at(-1)?.content === 'forbidden'
      ? reject('REQUEST_REJECTED', 'not for you', { status: 403 })
      : context,
});

const client = { address: '203.0.113.9', headers: { 'user-agent': 'test-client/1.0' } };

let manager: PluginManager | undefined;
afterEach(() => manager?.shutdown());

async function start(config: Record<string, unknown> = {}, random?: () => number): Promise<Recorder> {
  const recorder = createRecorder();
  const backend = createScriptedBackend({
    fail: (_call, context) =>
      context.messages.at(-1)?.content === 'crash'
        ? { error: new PlugboardError('BACKEND_FAILED', 'the model crashed', { status: 502 }) }
        : undefined,
  });
  const logging = () => createLoggingPlugin({ sink: recorder.sink, ...(random ? { random } : {}) });
  manager = await startManager([backend, signIn, gate, [logging, { config }]]);
  return recorder;
}

/** The last of `count` records. */
async function nth(recorder: Recorder, count: number): Promise<RequestRecord> {
  return (await recorder.until(count))[count - 1]!;
}

describe('the record of a request', () => {
  test('a completed chat: who, from where, what, each step with its timing, tokens, outcome', async () => {
    const recorder = await start();
    const response = await manager!.chat(chatRequest('hello there', { client, model: 'scripted-model' }));
    const record = await nth(recorder, 1);
    assert.equal(record.request_id, response.requestId);
    assert.equal(record.operation, 'chat');
    assert.equal(record.outcome, 'completed');
    assert.equal(record.success, true);
    assert.equal(record.status, 200);
    assert.equal(record.error, undefined);
    assert.equal(record.principal, 'alice', 'the id only: roles and attributes stay out');
    assert.equal(record.client_address, '203.0.113.9');
    assert.equal(record.user_agent, 'test-client/1.0');
    assert.equal(record.model, 'scripted-model');
    assert.equal(record.backend, 'scripted');
    assert.equal(record.stream, false);
    assert.equal(record.finish_reason, 'stop');
    assert.equal(record.turns, 1);
    assert.deepEqual(record.tokens, {
      prompt: response.usage!.promptTokens,
      completion: response.usage!.completionTokens,
      total: response.usage!.promptTokens + response.usage!.completionTokens,
    });
    assert.ok(record.duration_ms >= 0);
    assert.deepEqual(
      record.steps.map(({ plugin, operation, outcome }) => ({ plugin, operation, outcome })),
      response.steps.map(({ plugin, operation, outcome }) => ({ plugin, operation, outcome })),
    );
    assert.ok(record.steps.some((step) => step.plugin === 'sign-in' && step.operation === 'processRequest'));
    assert.ok(record.steps.some((step) => step.plugin === 'scripted' && step.operation === 'chat'));
    for (const step of record.steps) assert.equal(typeof step.duration_ms, 'number');
    assert.equal(record.request_text, undefined, 'bodies are off by default');
    assert.equal(record.reply_text, undefined);
    assert.equal(recorder.records.length, 1, 'one record per request');
  });

  test('a streamed chat gets the same record, once the stream has ended', async () => {
    const recorder = await start();
    const whole = await manager!.chat(chatRequest('hello there', { client, model: 'scripted-model' }));
    const streamed = await collectStream(
      manager!.stream(chatRequest('hello there', { client, model: 'scripted-model', stream: true })),
    );
    const [a, b] = await recorder.until(2);
    assert.equal(b!.request_id, streamed.response.requestId);
    assert.equal(b!.stream, true);
    const comparable = ({ request_id, duration_ms, stream, steps, ...rest }: RequestRecord) => ({
      ...rest,
      steps: steps.map(({ duration_ms: _, ...step }) => step),
    });
    assert.deepEqual(comparable(b!), comparable(a!));
    assert.equal(whole.message.content, streamed.text);
  });

  test('a failed request: outcome failed, the error code, the plugin and the stage', async () => {
    const recorder = await start();
    await assert.rejects(manager!.chat(chatRequest('crash', { client })), { code: 'BACKEND_FAILED' });
    const record = await nth(recorder, 1);
    assert.equal(record.outcome, 'failed');
    assert.equal(record.success, false);
    assert.equal(record.status, 502);
    assert.deepEqual(record.error, {
      code: 'BACKEND_FAILED',
      plugin: 'scripted',
      stage: 'chat',
      message: 'the model crashed',
    });
    assert.equal(record.principal, 'alice');
    assert.equal(record.client_address, '203.0.113.9');
  });

  test('a rejected request: outcome rejected, the code and the middleware that refused', async () => {
    const recorder = await start();
    await assert.rejects(manager!.chat(chatRequest('forbidden', { client })), { code: 'REQUEST_REJECTED' });
    const record = await nth(recorder, 1);
    assert.equal(record.outcome, 'rejected');
    assert.equal(record.status, 403);
    assert.equal(record.error?.code, 'REQUEST_REJECTED');
    assert.equal(record.error?.plugin, 'gate');
    assert.equal(record.error?.message, 'not for you');
    assert.equal(record.principal, 'alice', 'the middleware before it had signed the caller in');
  });

  test('an aborted stream: outcome aborted, REQUEST_ABORTED', async () => {
    const recorder = await start();
    for await (const _chunk of manager!.stream(chatRequest('a long enough message to stream', { stream: true }))) {
      break; // the client goes away after the first chunk
    }
    const record = await nth(recorder, 1);
    assert.equal(record.outcome, 'aborted');
    assert.equal(record.error?.code, 'REQUEST_ABORTED');
    assert.equal(record.status, 499);
    assert.equal(record.stream, true);
  });

  test('an embeddings request: its operation, model and input tokens', async () => {
    const recorder = await start();
    await manager!.embed(
      createChatContext({
        operation: 'embeddings',
        model: 'scripted-model',
        messages: [{ role: 'user', content: 'a sentence to embed' }],
        client,
      }),
    );
    const record = await nth(recorder, 1);
    assert.equal(record.operation, 'embeddings');
    assert.equal(record.outcome, 'completed');
    assert.equal(record.model, 'scripted-model');
    assert.equal(record.principal, 'alice');
    assert.equal(record.client_address, '203.0.113.9');
    assert.equal(record.tokens?.prompt, 4);
    assert.deepEqual(record.steps, []);
  });

  test('a model listing: its operation and outcome', async () => {
    const recorder = await start();
    await manager!.runOperation(createChatContext({ operation: 'models.list', messages: [], client }), async () => ({
      value: await manager!.models.list(),
    }));
    const record = await nth(recorder, 1);
    assert.equal(record.operation, 'models.list');
    assert.equal(record.outcome, 'completed');
    assert.equal(record.principal, 'alice');
    assert.equal(record.tokens, undefined);
  });
});

describe('sampling', () => {
  test('sample_rate 0 logs only failures and rejections', async () => {
    const recorder = await start({ sample_rate: 0 });
    await manager!.chat(chatRequest('hello'));
    await manager!.chat(chatRequest('hello again'));
    await assert.rejects(manager!.chat(chatRequest('forbidden')));
    await assert.rejects(manager!.chat(chatRequest('crash')));
    const records = await recorder.until(2);
    // One more request that is always logged: had a completed one slipped through, it would come first.
    await assert.rejects(manager!.chat(chatRequest('forbidden')));
    await recorder.until(3);
    assert.deepEqual(
      records.map((record) => record.outcome),
      ['rejected', 'failed', 'rejected'],
    );
  });

  test('sample_rate keeps a completed request when the draw is below it', async () => {
    const draws = [0.2, 0.7, 0.49, 0.5];
    const recorder = await start({ sample_rate: 0.5 }, () => draws.shift()!);
    for (const text of ['one', 'two', 'three', 'four']) await manager!.chat(chatRequest(text));
    await assert.rejects(manager!.chat(chatRequest('forbidden')));
    const records = await recorder.until(3);
    assert.equal(draws.length, 0, 'one draw per completed request, none for the rejection');
    assert.deepEqual(
      records.map((record) => record.outcome),
      ['completed', 'completed', 'rejected'],
    );
  });

  test('always_log_errors: false samples failures like the rest', async () => {
    const recorder = await start({ sample_rate: 0, always_log_errors: false });
    await assert.rejects(manager!.chat(chatRequest('forbidden')));
    await manager!.chat(chatRequest('hello'));
    // Nothing is always kept here, so no later record can mark the end: shutdown waits for
    // every record in progress, after which the sink must still be empty.
    await manager!.shutdown();
    manager = undefined;
    assert.deepEqual(recorder.records, []);
  });
});

describe('bodies', () => {
  test('include_bodies adds the last user message and the reply', async () => {
    const recorder = await start({ include_bodies: true });
    await manager!.chat(
      chatRequest([
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
        { role: 'user', content: 'second question' },
      ]),
    );
    const record = await nth(recorder, 1);
    assert.equal(record.request_text, 'second question');
    assert.equal(record.reply_text, 'You said: second question');
  });

  test('max_body_chars cuts both, and says how long they were', async () => {
    const recorder = await start({ include_bodies: true, max_body_chars: 10 });
    const text = 'abcdefghijklmnopqrstuvwxyz';
    await manager!.chat(chatRequest(text));
    const record = await nth(recorder, 1);
    assert.equal(record.request_text, `abcdefghij…[truncated, ${text.length} chars]`);
    assert.equal(record.reply_text, `You said: …[truncated, ${`You said: ${text}`.length} chars]`);
  });
});
