import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import redactEmails from '../../examples/plugins/redact-emails.plugin.ts';
import {
  type ChatContext,
  defineFeatureExtension,
  defineMiddleware,
  lastUserMessage,
  type PluginManager,
  respond,
  updateContext,
} from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';

/** Adds a system note, as memory or retrieval would. */
const remember = defineFeatureExtension({
  metadata: { name: 'remember', version: '1.0.0' },
  extend: (context) =>
    updateContext(context, { messages: [{ role: 'system', content: 'the user likes tea' }, ...context.messages] }),
});

async function reply(manager: PluginManager, request: ChatContext, stream: boolean) {
  if (!stream) return manager.chat(request);
  const { response, chunks } = await collectStream(manager.stream(updateContext(request, { stream: true })));
  return { ...response, chunks };
}

describe('middleware answerRequest (a cache looks up the prepared, routed request)', () => {
  for (const stream of [false, true]) {
    test(`${stream ? 'stream' : 'chat'}: sees input processors', extensions' and routing's work; the answer passes output processors`, async () => {
      const seen: ChatContext[] = [];
      const backend = createScriptedBackend({ reply: 'unused' });
      const cache = defineMiddleware({
        metadata: { name: 'cache', version: '1.0.0' },
        answerRequest: (context) => {
          seen.push(context);
          return respond(
            { role: 'assistant', content: 'write to bob@example.com please' },
            { metadata: { cache: 'hit' } },
          );
        },
      });
      const manager = await startManager([backend, redactEmails, remember, cache]);
      try {
        const response = await reply(manager, chatRequest('mail alice@example.com'), stream);
        assert.equal(backend.calls.length, 0, 'no backend call for an answered request');
        const [context] = seen;
        assert.equal(lastUserMessage(context!)?.content, 'mail [email]', 'after input processors');
        assert.equal(context!.messages[0]?.content, 'the user likes tea', 'after extensions');
        assert.equal(context!.backend, backend.metadata.name, 'after routing');
        assert.equal(response.message.content, 'write to [email] please', 'output processors ran on the answer');
        assert.equal(response.metadata.answeredBy, 'cache');
        assert.equal(response.metadata.cache, 'hit');
        assert.equal(response.turns, 0);
        if ('chunks' in response) {
          const text = response.chunks.map((chunk) => chunk.content ?? '').join('');
          assert.equal(text, 'write to [email] please', 'the streamed chunks are the processed answer');
          assert.equal(response.chunks.at(-1)?.finishReason, 'stop');
        }
      } finally {
        await manager.shutdown();
      }
    });
  }

  test('undefined lets the model answer; a failing answerRequest is bypassed (fail-open) and the model answers', async () => {
    const backend = createScriptedBackend({ reply: 'from the model' });
    const miss = defineMiddleware({ metadata: { name: 'miss', version: '1.0.0' }, answerRequest: () => undefined });
    const broken = defineMiddleware({
      metadata: { name: 'broken', version: '1.0.0' },
      answerRequest: () => {
        throw new Error('cache down');
      },
    });
    const manager = await startManager([backend, miss, broken]);
    try {
      const response = await manager.chat(chatRequest('hi'));
      assert.equal(response.message.content, 'from the model');
      assert.equal(backend.calls.length, 1);
      const failed = response.steps.find((step) => step.plugin === 'broken');
      assert.equal(failed?.operation, 'answerRequest');
      assert.notEqual(failed?.outcome, 'success');
    } finally {
      await manager.shutdown();
    }
  });

  test('an answerRequest that returns anything but respond() or undefined is an invalid result', async () => {
    const backend = createScriptedBackend({ reply: 'from the model' });
    const wrong = defineMiddleware({
      metadata: { name: 'wrong', version: '1.0.0' },
      // @ts-expect-error: a context is not an answer
      answerRequest: (context) => context,
    });
    const manager = await startManager([backend, wrong]);
    try {
      const response = await manager.chat(chatRequest('hi'));
      assert.equal(response.message.content, 'from the model');
      const step = response.steps.find((each) => each.plugin === 'wrong');
      assert.equal(step?.operation, 'answerRequest');
      assert.equal(step?.errorCode, 'PLUGIN_INVALID_RESULT');
    } finally {
      await manager.shutdown();
    }
  });
});

describe('call.setResponseHeader', () => {
  test("headers set while serving go to the caller's sink; without a sink, or outside a request, they go nowhere", async () => {
    const backend = createScriptedBackend({ reply: 'ok' });
    const results: boolean[] = [];
    const tagger = defineMiddleware({
      metadata: { name: 'tagger', version: '1.0.0' },
      processRequest: (context, call) => {
        results.push(call.setResponseHeader('X-Quota-Remaining', '9'));
        return context;
      },
    });
    const manager = await startManager([backend, tagger]);
    try {
      const headers = new Map<string, string>();
      const sink = (prefix: string) => (name: string, value: string) => {
        headers.set(`${prefix}${name}`, value);
        return true;
      };
      await manager.chat(chatRequest('hi'), { responseHeaders: sink('') });
      assert.deepEqual([...headers], [['x-quota-remaining', '9']], 'names are lower-cased');
      await collectStream(
        manager.stream(chatRequest('hi', { stream: true }), {
          responseHeaders: sink('stream:'),
        }),
      );
      assert.equal(headers.get('stream:x-quota-remaining'), '9');
      await manager.chat(chatRequest('hi'));
      assert.deepEqual(results, [true, true, false], 'no sink: false');
    } finally {
      await manager.shutdown();
    }
  });
});

describe('respond() finish reasons', () => {
  test('an answer says why it ended (a cached cut reply: length); an unknown reason is an invalid result', async () => {
    const backend = createScriptedBackend({ reply: 'from the model' });
    let finishReason: unknown = 'length';
    const cache = defineMiddleware({
      metadata: { name: 'cache', version: '1.0.0' },
      answerRequest: () => respond({ role: 'assistant', content: 'cut sho' }, { finishReason } as never),
    });
    const manager = await startManager([backend, cache]);
    try {
      const cut = await manager.chat(chatRequest('q'));
      assert.equal(cut.finishReason, 'length');
      const streamed = await collectStream(manager.stream(chatRequest('q', { stream: true })));
      assert.equal(streamed.chunks.at(-1)?.finishReason, 'length');
      finishReason = 'bored';
      const fallback = await manager.chat(chatRequest('q'));
      assert.equal(fallback.message.content, 'from the model', 'the invalid answer is bypassed');
      assert.equal(fallback.steps.find((step) => step.plugin === 'cache')?.errorCode, 'PLUGIN_INVALID_RESULT');
    } finally {
      await manager.shutdown();
    }
  });
});
