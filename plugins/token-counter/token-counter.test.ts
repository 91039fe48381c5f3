/**
 * The token counter in the manager: the backend's own counts are marked as such and need no
 * tokenizer; a backend without counts gets an estimate in `usage` and `metadata.tokens`, the
 * same streamed or not, which the logging plugin's record carries too; budgets refuse with 429
 * once spent and pass again in the next window; per-request limits refuse before the backend;
 * anonymous callers follow the policy; two instances on one store share a budget; an answer no
 * backend gave is not charged; embeddings are counted; a store outage follows on_store_error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ChatContext,
  createDefaultLogger,
  createMessage,
  createSilentLogger,
  defineMiddleware,
  definePlugin,
  isPlugboardError,
  type KeyValueStore,
  keyValueStoreRef,
  MemoryKeyValueStore,
  type PlugboardError,
  type PluginManager,
  respond,
  updateContext,
} from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';
import createLoggingPlugin from '../logging/logging.plugin.ts';
import { createRecorder } from '../logging/testing/recorder.ts';
import { promptEstimate } from './estimate.ts';
import { createTokenRecorder, type TokenRecorder } from './testing/recorder.ts';
import { createTokenCounterPlugin, type TokenCounterPluginOptions, tokensOf } from './token-counter.plugin.ts';
import { LazyTokenizer } from './tokenizer.ts';

/** Sets the principal from the `x-user` header, as the auth plugin would. */
const fakeAuth = defineMiddleware({
  metadata: { name: 'fake-auth', version: '1.0.0', priority: 'CRITICAL' },
  processRequest: (context) => {
    const user = context.client?.headers?.['x-user'];
    return user === undefined ? context : updateContext(context, { principal: { id: user } });
  },
});

const as = (user: string | undefined, content = 'hi', extra: Partial<Parameters<typeof chatRequest>[1]> = {}) =>
  chatRequest(content, {
    client: { address: '127.0.0.1', headers: user === undefined ? {} : { 'x-user': user } },
    ...extra,
  });

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => assert.fail('expected a refusal'),
    (error: unknown) => error as PlugboardError,
  );

/** A token counter with a recorder (and options), as a manager entry. */
function counter(config: unknown, recorder: TokenRecorder, options: TokenCounterPluginOptions = {}) {
  return [() => createTokenCounterPlugin({ onRecorded: recorder.onRecorded, ...options }), { config }] as const;
}

async function withManager(plugins: unknown[], run: (manager: PluginManager) => Promise<void>): Promise<void> {
  const manager = await startManager(plugins);
  try {
    const status = manager.getPluginStatus().plugins.token_counter;
    assert.equal(status?.state, 'ACTIVE', JSON.stringify(status?.lastError));
    await run(manager);
  } finally {
    await manager.shutdown();
  }
}

test('the backend’s own counts are marked as such, and no tokenizer is loaded for them', async () => {
  const recorder = createTokenRecorder();
  // The scripted backend reports word counts: "hi" → 1 prompt token, "You said: hi" → 3.
  await withManager([createScriptedBackend(), counter({}, recorder)], async (manager) => {
    const response = await manager.chat(as('alice'));
    assert.deepEqual(response.usage, { promptTokens: 1, completionTokens: 3 });
    assert.deepEqual(tokensOf(response), { prompt: 1, completion: 3, source: 'backend' });
    const [record] = await recorder.until(1);
    assert.deepEqual(
      { ...record, requestId: undefined },
      {
        requestId: undefined,
        operation: 'chat',
        model: 'scripted-model',
        backend: 'scripted',
        principal: null,
        prompt: 1,
        completion: 3,
        source: 'backend',
        charged: false,
      },
    );
    const health = await manager.getHealth();
    const details = health.plugins.token_counter?.health.details as { tokenizer?: string } | undefined;
    assert.match(details?.tokenizer ?? '', /^not loaded/);
  });
});

test('a backend without counts: usage is an estimate, marked, and the same streamed or not', async () => {
  const recorder = createTokenRecorder();
  const reply = 'The quick brown fox jumps over the lazy dog, twice: once, and again.';
  for (const chunking of [1, 5]) {
    const backend = createScriptedBackend({ usage: false, reply, chunking });
    await withManager([backend, counter({}, recorder)], async (manager) => {
      const request = as('alice', 'Tell me about foxes, please.');
      const whole = await manager.chat(request);
      const streamed = await collectStream(manager.stream({ ...request, stream: true }));
      assert.equal(streamed.text, reply);
      assert.deepEqual(streamed.response.usage, whole.usage, `chunking ${chunking}`);
      assert.deepEqual(tokensOf(streamed.response), tokensOf(whole));
      const tokens = tokensOf(whole);
      assert.equal(tokens?.source, 'estimate');
      assert.equal(tokens?.tokenizer, 'gpt-tokenizer:o200k_base');
      // The same numbers as the tokenizer gives directly.
      const o200k = await new LazyTokenizer({ kind: 'gpt', encoding: 'o200k_base' }, 4, createSilentLogger()).get();
      assert.equal(tokens?.prompt, promptEstimate(o200k, backend.calls[0]!));
      assert.equal(tokens?.completion, o200k.count(reply));
      assert.deepEqual(whole.usage, { promptTokens: tokens?.prompt, completionTokens: tokens?.completion });
    });
  }
  const records = await recorder.until(4);
  assert.ok(records.every((record) => record.source === 'estimate' && record.tokenizer === 'gpt-tokenizer:o200k_base'));
});

test('tokenizer: chars marks its estimate as chars', async () => {
  const recorder = createTokenRecorder();
  const backend = createScriptedBackend({ usage: false, reply: '12345678' });
  await withManager([backend, counter({ tokenizer: 'chars', chars_per_token: 4 }, recorder)], async (manager) => {
    const response = await manager.chat(as('alice'));
    assert.deepEqual(tokensOf(response), { prompt: 3 + 3 + 1, completion: 2, source: 'estimate', tokenizer: 'chars' });
  });
});

test('the logging plugin’s record carries the estimated tokens (processResponse runs before requestEnd)', async () => {
  const records = createRecorder();
  const backend = createScriptedBackend({ usage: false, reply: 'four words right here' });
  await withManager(
    [backend, counter({}, createTokenRecorder()), [() => createLoggingPlugin({ sink: records.sink }), {}]],
    async (manager) => {
      const response = await manager.chat(as('alice'));
      const [record] = await records.until(1);
      assert.ok(response.usage !== undefined);
      assert.deepEqual(record?.tokens, {
        prompt: response.usage.promptTokens,
        completion: response.usage.completionTokens,
        total: response.usage.promptTokens + response.usage.completionTokens,
      });
    },
  );
});

test('a budget is spent, then 429 with the limit, the use, the reset time and Retry-After; the next window passes', async () => {
  const recorder = createTokenRecorder();
  const clock = { now: Date.parse('2026-03-04T10:20:30Z') };
  const config = { budgets: { per_principal: [{ name: 'hourly', tokens: 10, per_seconds: 3600 }] } };
  await withManager(
    [createScriptedBackend(), fakeAuth, counter(config, recorder, { now: () => clock.now })],
    async (manager) => {
      const headers = new Map<string, string>();
      const responseHeaders = (name: string, value: string) => {
        headers.set(name, value);
        return true;
      };
      await manager.chat(as('alice'), { responseHeaders }); // 4 tokens
      assert.equal(headers.get('x-token-budget-limit'), '10');
      assert.equal(headers.get('x-token-budget-remaining'), '10');
      assert.equal(headers.get('x-token-budget-reset'), '2370');
      await recorder.until(1);
      await manager.chat(as('alice'), { responseHeaders }); // 8
      assert.equal(headers.get('x-token-budget-remaining'), '6');
      await recorder.until(2);
      await manager.chat(as('alice')); // 12: started under budget, not cut
      await recorder.until(3);
      assert.ok(recorder.records.every((record) => record.charged && record.principal === 'alice'));

      const error = await refusal(manager.chat(as('alice')));
      assert.ok(isPlugboardError(error, 'token_counter/BUDGET_EXCEEDED'), String(error));
      assert.equal(error.status, 429);
      assert.equal(
        error.message,
        'Token budget "hourly" exceeded: 12 of 10 tokens used in this 3600-second window per principal. ' +
          'Resets at 2026-03-04T11:00:00.000Z (in 2370 s).',
      );
      assert.equal(error.headers?.['retry-after'], '2370');
      assert.doesNotMatch(error.message, /alice/, 'the message never names the caller');
      await manager.chat(as('bob')); // bob has his own budget

      clock.now = Date.parse('2026-03-04T11:00:00Z');
      await manager.chat(as('alice'));
    },
  );
});

test('per request: a prompt over max_prompt_tokens is 413 before the backend; max_tokens over the limit is 400, absent it is the limit', async () => {
  const recorder = createTokenRecorder();
  const backend = createScriptedBackend();
  const config = { budgets: { per_request: { max_prompt_tokens: 50, max_completion_tokens: 64 } } };
  await withManager([backend, counter(config, recorder)], async (manager) => {
    const long = 'word '.repeat(200);
    const error = await refusal(manager.chat(as('alice', long)));
    assert.ok(isPlugboardError(error, 'token_counter/PROMPT_TOO_LARGE'), String(error));
    assert.equal(error.status, 413);
    assert.match(
      error.message,
      /^The prompt is estimated at \d+ tokens \(gpt-tokenizer:o200k_base\); the limit per request is 50\.$/,
    );
    assert.equal(backend.calls.length, 0, 'the backend was not asked');

    const asked = await refusal(manager.chat(as('alice', 'hi', { options: { maxTokens: 65 } })));
    assert.ok(isPlugboardError(asked, 'token_counter/COMPLETION_TOO_LARGE'), String(asked));
    assert.equal(asked.status, 400);
    assert.equal(
      asked.message,
      'The request asks for up to 65 completion tokens (max_tokens); the limit per request is 64.',
    );

    await manager.chat(as('alice', 'hi'));
    assert.equal(backend.calls[0]?.options.maxTokens, 64, 'the limit caps a request that set none');
    await manager.chat(as('alice', 'hi', { options: { maxTokens: 10 } }));
    assert.equal(backend.calls[1]?.options.maxTokens, 10, 'a smaller max_tokens is kept');
  });
});

test('anonymous callers: one shared budget, or one per address, or none', async () => {
  const budget = (anonymous: string) => ({ budgets: { anonymous, per_principal: [{ tokens: 4, per_seconds: 3600 }] } });
  const from = (address: string) => chatRequest('hi', { client: { address } });

  let recorder = createTokenRecorder();
  await withManager([createScriptedBackend(), counter(budget('shared'), recorder)], async (manager) => {
    await manager.chat(from('10.0.0.1'));
    await recorder.until(1);
    const error = await refusal(manager.chat(from('10.0.0.2')));
    assert.match(error.message, /per anonymous callers \(shared\)/);
  });

  recorder = createTokenRecorder();
  await withManager([createScriptedBackend(), counter(budget('per_ip'), recorder)], async (manager) => {
    await manager.chat(from('10.0.0.1'));
    await recorder.until(1);
    await manager.chat(from('10.0.0.2'));
    const error = await refusal(manager.chat(from('10.0.0.1')));
    assert.match(error.message, /per ip \(no principal\)/);
  });

  recorder = createTokenRecorder();
  await withManager([createScriptedBackend(), counter(budget('exempt'), recorder)], async (manager) => {
    for (let index = 0; index < 3; index++) await manager.chat(from('10.0.0.1'));
    await recorder.until(3);
    assert.ok(recorder.records.every((record) => !record.charged));
  });
});

test('two instances on one key-value store share a budget', async () => {
  // What a Redis provider of keyValueStoreRef gives several servers: here, one store object.
  const shared: KeyValueStore = new MemoryKeyValueStore();
  const provider = definePlugin({
    metadata: { name: 'shared-store', version: '1.0.0', provides: [keyValueStoreRef] },
    initialize(_config, call) {
      call.provide(keyValueStoreRef, shared);
    },
  });
  const config = { budgets: { per_principal: [{ tokens: 8, per_seconds: 3600 }] } };
  const recorder = createTokenRecorder();
  const first = await startManager([createScriptedBackend(), fakeAuth, provider, counter(config, recorder)]);
  const second = await startManager([createScriptedBackend(), fakeAuth, provider, counter(config, recorder)]);
  try {
    await first.chat(as('alice')); // 4
    await recorder.until(1);
    await second.chat(as('alice')); // 8
    await recorder.until(2);
    const error = await refusal(first.chat(as('alice')));
    assert.ok(isPlugboardError(error, 'token_counter/BUDGET_EXCEEDED'));
    assert.match(error.message, /8 of 8 tokens used/);
    await refusal(second.chat(as('alice')));
  } finally {
    await first.shutdown();
    await second.shutdown();
  }
});

test('an answer no backend gave (a cache hit) is counted but not charged', async () => {
  const recorder = createTokenRecorder();
  const cache = defineMiddleware({
    metadata: { name: 'toy-cache', version: '1.0.0' },
    answerRequest: (context: ChatContext) =>
      context.messages.at(-1)?.content === 'cached?'
        ? respond(createMessage({ role: 'assistant', content: 'from the cache' }))
        : undefined,
  });
  const config = { tokenizer: 'chars', budgets: { per_principal: [{ tokens: 1000, per_seconds: 60 }] } };
  await withManager([createScriptedBackend(), fakeAuth, cache, counter(config, recorder)], async (manager) => {
    const response = await manager.chat(as('alice', 'cached?'));
    assert.equal(tokensOf(response)?.source, 'estimate');
    await manager.chat(as('alice', 'fresh'));
    const [hit, miss] = await recorder.until(2);
    assert.equal(hit?.charged, false);
    assert.equal(miss?.charged, true);
  });
});

test('embeddings are counted: the backend’s prompt count, or an estimate of the inputs', async () => {
  const recorder = createTokenRecorder();
  const counting = createScriptedBackend({ models: ['embedder'] });
  // The same backend, but its embed reports no count.
  const quiet = {
    ...createScriptedBackend({ name: 'silent', models: ['quiet-embedder'] }),
    embed: (request: { model: string; input: readonly string[] }) => ({
      model: request.model,
      embeddings: request.input.map(() => [1, 0]),
    }),
  };
  await withManager([counting, quiet, counter({ tokenizer: 'chars' }, recorder)], async (manager) => {
    const embeddings = (model: string) =>
      chatRequest(
        [
          { role: 'user', content: 'one two three' },
          { role: 'user', content: 'four' },
        ],
        { operation: 'embeddings', model },
      );
    await manager.embed(embeddings('embedder'));
    await manager.embed(embeddings('quiet-embedder'));
    const [counted, estimated] = await recorder.until(2);
    assert.deepEqual(
      [counted?.operation, counted?.prompt, counted?.completion, counted?.source],
      ['embeddings', 4, 0, 'backend'],
    );
    assert.deepEqual(
      [estimated?.prompt, estimated?.completion, estimated?.source, estimated?.tokenizer],
      [Math.ceil(13 / 4) + 1, 0, 'estimate', 'chars'],
    );
  });
});

test('a store outage: open lets requests through unbudgeted, closed refuses them with 503', async () => {
  const failing: KeyValueStore = {
    get: () => Promise.reject(new Error('store down')),
    set: () => Promise.reject(new Error('store down')),
    setIfAbsent: () => Promise.reject(new Error('store down')),
    delete: () => Promise.reject(new Error('store down')),
    increment: () => Promise.reject(new Error('store down')),
    ttl: () => Promise.reject(new Error('store down')),
    withPrefix: () => failing,
  };
  const provider = definePlugin({
    metadata: { name: 'failing-store', version: '1.0.0', provides: [keyValueStoreRef] },
    initialize(_config, call) {
      call.provide(keyValueStoreRef, failing);
    },
  });
  for (const policy of ['open', 'closed'] as const) {
    const recorder = createTokenRecorder();
    const config = { on_store_error: policy, budgets: { per_principal: [{ tokens: 5, per_seconds: 60 }] } };
    await withManager([createScriptedBackend(), fakeAuth, provider, counter(config, recorder)], async (manager) => {
      if (policy === 'open') {
        await manager.chat(as('alice'));
        const [record] = await recorder.until(1);
        assert.equal(record?.charged, false);
        const health = await manager.getHealth();
        assert.equal(health.plugins.token_counter?.health.status, 'degraded');
        assert.match(health.plugins.token_counter?.health.message ?? '', /store down; budgets are not enforced/);
      } else {
        const error = await refusal(manager.chat(as('alice')));
        assert.ok(isPlugboardError(error, 'token_counter/STORE_UNAVAILABLE'), String(error));
        assert.equal(error.status, 503);
      }
    });
  }
});

test('preload loads the tokenizer at start, in the background; each request has one log line with its counts', async () => {
  const lines: Record<string, unknown>[] = [];
  let loaded: () => void = () => {};
  const tokenizerLoaded = new Promise<void>((resolve) => {
    loaded = resolve;
  });
  const logger = createDefaultLogger('debug', 'json', {
    write(line: string) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      lines.push(entry);
      if (entry.message === 'token counter: tokenizer loaded') loaded();
    },
  });
  const recorder = createTokenRecorder();
  const manager = await startManager(
    [createScriptedBackend(), fakeAuth, counter({ preload: true, log_level: 'info' }, recorder)],
    { logger },
  );
  try {
    await tokenizerLoaded;
    const health = await manager.getHealth();
    const details = health.plugins.token_counter?.health.details as { tokenizer?: string } | undefined;
    assert.equal(details?.tokenizer, 'gpt-tokenizer:o200k_base', 'loaded without any request');
    const response = await manager.chat(as('alice'));
    await recorder.until(1);
    const line = lines.find((entry) => entry.message === 'token counter: tokens counted');
    assert.deepEqual(
      { ...line, timestamp: undefined },
      {
        level: 'INFO',
        timestamp: undefined,
        plugin: 'token_counter',
        request_id: response.requestId,
        operation: 'chat',
        model: 'scripted-model',
        backend: 'scripted',
        principal: 'alice',
        prompt_tokens: 1,
        completion_tokens: 3,
        source: 'backend',
        charged: false,
        message: 'token counter: tokens counted',
      },
    );
  } finally {
    await manager.shutdown();
  }
});
