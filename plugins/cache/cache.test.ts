/**
 * The cache in the manager (memory store): the second identical deterministic request is a
 * hit, whole or streamed, with its header, metadata and stored usage; the key is taken after
 * input processors; a hit passes the output processors as a fresh reply (the raw reply is
 * stored, so nothing is processed twice); the client's Cache-Control and the bypass header;
 * TTL expiry; the entry size limit; what is never stored (errors, tool calls, tool loops,
 * sampled and truncated replies, degraded requests, requests a hook changed, two requests
 * under one id); and the metrics it records.
 */

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import redactEmails from '../../examples/plugins/redact-emails.plugin.ts';
import {
  defineFeatureExtension,
  defineMessageProcessor,
  definePlugin,
  lastUserMessage,
  type PluginManager,
  updateContext,
  withContent,
} from '../../src/index.ts';
import { createScriptedBackend, type ScriptedBackendOptions, startManager } from '../../src/testing/index.ts';
import { createCachePlugin } from './cache.plugin.ts';
import { ask, request } from './testing/ask.ts';
import { metricsProvider, type RecordingMetrics, recordingMetrics } from './testing/recording-metrics.ts';

/** A manager with a scripted backend, the cache (with `config`), recording metrics and `extra` plugins. */
async function withCache(
  options: {
    readonly config?: Record<string, unknown>;
    readonly backend?: ScriptedBackendOptions;
    readonly plugins?: readonly unknown[];
    readonly now?: () => number;
  },
  run: (
    manager: PluginManager,
    backend: ReturnType<typeof createScriptedBackend>,
    metrics: RecordingMetrics,
  ) => Promise<void>,
) {
  const backend = createScriptedBackend(options.backend);
  const metrics = recordingMetrics();
  const cache = () => createCachePlugin(options.now === undefined ? {} : { now: options.now });
  const manager = await startManager([
    backend,
    metricsProvider(metrics),
    ...(options.plugins ?? []),
    [cache, { config: options.config ?? {} }],
  ]);
  try {
    assert.equal(manager.getPluginStatus().plugins.cache?.state, 'ACTIVE');
    await run(manager, backend, metrics);
  } finally {
    await manager.shutdown();
  }
}

/** Appends a mark to every reply: not idempotent, so a reply processed twice would show it twice. */
const stamp = defineMessageProcessor({
  metadata: { name: 'stamp', version: '1.0.0' },
  direction: 'output',
  processMessage: (message) => withContent(message, `${message.content} [checked]`),
});

describe('hit and miss', () => {
  for (const stream of [false, true]) {
    test(`${stream ? 'streamed' : 'whole'}: the second identical request is a hit, with header, metadata and the stored usage`, async () => {
      await withCache({ backend: { reply: 'Paris is the capital.' } }, async (manager, backend, metrics) => {
        const first = await ask(manager, request('capital of France?'), stream);
        assert.equal(first.headers.get('x-plugboard-cache'), 'miss');
        assert.equal(first.response.metadata.cache, 'miss');
        const second = await ask(manager, request('capital of France?'), stream);
        assert.equal(backend.calls.length, 1, 'the hit did not call the backend');
        assert.equal(second.headers.get('x-plugboard-cache'), 'hit');
        assert.match(second.headers.get('age') ?? '', /^\d+$/);
        assert.equal(second.text, first.text);
        assert.equal(second.response.message.content, 'Paris is the capital.');
        assert.equal(second.response.metadata.cache, 'hit');
        assert.equal(second.response.metadata.answeredBy, 'cache');
        assert.deepEqual(second.response.usage, first.response.usage, 'the usage the reply cost when it was made');
        assert.equal(second.response.finishReason, 'stop');
        if (stream) {
          assert.equal(second.chunks.at(-1)?.finishReason, 'stop');
          assert.deepEqual(second.chunks.at(-1)?.usage, first.response.usage);
        }
        assert.equal(metrics.value('cache_requests_total', { result: 'miss' }), 1);
        assert.equal(metrics.value('cache_requests_total', { result: 'hit' }), 1);
        assert.equal(metrics.value('cache_stores_total', { result: 'stored' }), 1);
        const bytes = metrics.value('cache_stored_bytes_total');
        assert.ok(bytes > 'Paris is the capital.'.length, `${bytes} bytes`);
        assert.equal(metrics.value('cache_served_bytes_total'), bytes);
        assert.equal(metrics.value('cache_memory_entries'), 1);
        assert.equal(metrics.value('cache_memory_bytes'), bytes);
        const health = (await manager.getHealth()).plugins.cache?.health;
        assert.equal(health?.status, 'healthy');
        assert.deepEqual(health?.details?.entries, 1);
      });
    });
  }

  test('a streamed reply is recorded and replayed to a whole request, and the other way round', async () => {
    await withCache({ backend: { chunking: 3 } }, async (manager, backend) => {
      const streamed = await ask(manager, request('one'), true);
      assert.ok(streamed.chunks.length > 3);
      assert.equal((await ask(manager, request('one'), false)).text, streamed.text);
      const whole = await ask(manager, request('two'), false);
      const replayed = await ask(manager, request('two'), true);
      assert.equal(replayed.text, whole.text);
      assert.equal(replayed.headers.get('x-plugboard-cache'), 'hit');
      assert.equal(backend.calls.length, 2);
    });
  });

  test('different requests miss: another message, model option or principal', async () => {
    await withCache({}, async (manager, backend) => {
      await ask(manager, request('a'));
      await ask(manager, request('b'));
      await ask(manager, request('a', { options: { temperature: 0, maxTokens: 5 } }));
      await ask(manager, request('a', { principal: { id: 'alice' } }));
      await ask(manager, request('a', { principal: { id: 'bob' } }));
      assert.equal(backend.calls.length, 5);
      await ask(manager, request('a', { principal: { id: 'bob' } }));
      assert.equal(backend.calls.length, 5);
    });
  });

  test('the model’s reasoning is stored and replayed with the text, streamed or not', async () => {
    await withCache(
      { backend: { reply: { content: '42.', thinking: 'Six times seven.' } } },
      async (manager, backend) => {
        await ask(manager, request('q', { options: { temperature: 0, think: true } }), true);
        const whole = await ask(manager, request('q', { options: { temperature: 0, think: true } }));
        assert.equal(whole.headers.get('x-plugboard-cache'), 'hit');
        assert.equal(whole.response.message.thinking, 'Six times seven.');
        const streamed = await ask(manager, request('q', { options: { temperature: 0, think: true } }), true);
        assert.equal(streamed.chunks.map((chunk) => chunk.thinking ?? '').join(''), 'Six times seven.');
        assert.equal(streamed.text, '42.');
        assert.equal(backend.calls.length, 1);
      },
    );
  });

  test('per_principal: false shares entries between principals', async () => {
    await withCache({ config: { per_principal: false } }, async (manager, backend) => {
      await ask(manager, request('a', { principal: { id: 'alice' } }));
      const bob = await ask(manager, request('a', { principal: { id: 'bob' } }));
      assert.equal(bob.headers.get('x-plugboard-cache'), 'hit');
      assert.equal(backend.calls.length, 1);
    });
  });
});

describe('the pipeline around a hit', () => {
  for (const stream of [false, true]) {
    test(`${stream ? 'streamed' : 'whole'}: a hit passes the output processors once, on the raw reply; the key is taken after input processors`, async () => {
      await withCache(
        {
          backend: { reply: (context) => `Write to ${lastUserMessage(context)?.content} or ann@example.org` },
          plugins: [redactEmails, stamp],
        },
        async (manager, backend) => {
          const first = await ask(manager, request('bob@example.com'), stream);
          assert.equal(first.text, 'Write to [email] or [email] [checked]');
          // Another address, redacted to the same request by the input processor: a hit.
          const second = await ask(manager, request('carol@example.net'), stream);
          assert.equal(second.headers.get('x-plugboard-cache'), 'hit');
          assert.equal(backend.calls.length, 1);
          assert.equal(second.text, first.text, 'redacted again, stamped once');
        },
      );
    });
  }

  test('the cached raw reply with an e-mail address is redacted on replay', async () => {
    await withCache(
      { backend: { reply: 'mail ann@example.org' }, plugins: [redactEmails] },
      async (manager, backend) => {
        assert.equal((await ask(manager, request('hi'), true)).text, 'mail [email]');
        const hit = await ask(manager, request('hi'), true);
        assert.equal(hit.text, 'mail [email]');
        assert.equal(hit.headers.get('x-plugboard-cache'), 'hit');
        assert.equal(backend.calls.length, 1);
      },
    );
  });
});

describe('what the client asks', () => {
  const counting: ScriptedBackendOptions = { reply: (_context, call) => `reply ${call}` };

  test('Cache-Control: no-store — neither looked up nor stored', async () => {
    await withCache({ backend: counting }, async (manager, backend) => {
      const noStore = { client: { headers: { 'cache-control': 'no-store' } } };
      const first = await ask(manager, request('q', noStore));
      assert.equal(first.headers.get('x-plugboard-cache'), 'bypass');
      assert.equal(first.response.metadata.cache, 'bypass');
      assert.equal((await ask(manager, request('q'))).headers.get('x-plugboard-cache'), 'miss', 'nothing was stored');
      assert.equal(backend.calls.length, 2);
    });
  });

  test('the bypass header — neither looked up nor stored; its name is configurable', async () => {
    await withCache({ backend: counting, config: { header: 'X-Cache' } }, async (manager, backend) => {
      await ask(manager, request('q'));
      const bypassed = await ask(manager, request('q', { client: { headers: { 'x-cache': 'BYPASS' } } }));
      assert.equal(bypassed.headers.get('x-cache'), 'bypass');
      assert.equal(bypassed.text, 'reply 2');
      assert.equal((await ask(manager, request('q'))).text, 'reply 1', 'the bypassed reply did not replace the entry');
      assert.equal(backend.calls.length, 2);
    });
  });

  test('Cache-Control: no-cache (or the header’s refresh) — not looked up, but the fresh reply is stored', async () => {
    await withCache({ backend: counting }, async (manager, backend, metrics) => {
      await ask(manager, request('q'));
      const refreshed = await ask(
        manager,
        request('q', { client: { headers: { 'cache-control': 'max-age=0, No-Cache' } } }),
      );
      assert.equal(refreshed.headers.get('x-plugboard-cache'), 'refresh');
      assert.equal(refreshed.text, 'reply 2');
      assert.equal((await ask(manager, request('q'))).text, 'reply 2', 'the refreshed reply replaced the entry');
      await ask(manager, request('q', { client: { headers: { 'x-plugboard-cache': 'refresh' } } }));
      assert.equal((await ask(manager, request('q'))).text, 'reply 3');
      assert.equal(backend.calls.length, 3);
      assert.equal(metrics.value('cache_requests_total', { result: 'refresh' }), 2);
    });
  });

  test('honor_cache_control: false ignores Cache-Control (the bypass header still works)', async () => {
    await withCache({ backend: counting, config: { honor_cache_control: false } }, async (manager, backend) => {
      await ask(manager, request('q'));
      const ignored = await ask(manager, request('q', { client: { headers: { 'cache-control': 'no-store' } } }));
      assert.equal(ignored.headers.get('x-plugboard-cache'), 'hit');
      const bypassed = await ask(manager, request('q', { client: { headers: { 'x-plugboard-cache': 'bypass' } } }));
      assert.equal(bypassed.headers.get('x-plugboard-cache'), 'bypass');
      assert.equal(backend.calls.length, 2);
    });
  });
});

describe('deterministic requests only', () => {
  test('a request without temperature 0 or a seed is skipped (a sample); a seed makes it deterministic', async () => {
    await withCache({}, async (manager, backend, metrics) => {
      const sampled = () => ask(manager, request('q', { options: { temperature: 0.7 } }));
      assert.equal((await sampled()).headers.get('x-plugboard-cache'), 'skip');
      assert.equal((await sampled()).response.metadata.cache, 'skip');
      const unset = await manager.chat(request('q', { options: { temperature: undefined } }));
      assert.equal(unset.metadata.cache, 'skip', 'no temperature: the backend’s default, a sample');
      assert.equal(backend.calls.length, 3);
      const seeded = () => ask(manager, request('q', { options: { temperature: 1, seed: 7 } }));
      await seeded();
      assert.equal((await seeded()).headers.get('x-plugboard-cache'), 'hit');
      assert.equal(backend.calls.length, 4);
      assert.equal(metrics.value('cache_requests_total', { result: 'skip' }), 3);
    });
  });

  test('cache_sampled: true caches sampled requests too', async () => {
    await withCache({ config: { cache_sampled: true } }, async (manager, backend) => {
      await ask(manager, request('q', { options: { temperature: 0.7 } }));
      assert.equal(
        (await ask(manager, request('q', { options: { temperature: 0.7 } }))).headers.get('x-plugboard-cache'),
        'hit',
      );
      assert.equal(backend.calls.length, 1);
    });
  });
});

describe('expiry and size', () => {
  test('an entry expires after ttl_seconds', async () => {
    let now = 1_000_000;
    await withCache({ config: { ttl_seconds: 60 }, now: () => now }, async (manager, backend) => {
      await ask(manager, request('q'));
      now += 59_000;
      assert.equal((await ask(manager, request('q'))).headers.get('x-plugboard-cache'), 'hit');
      now += 2_000;
      assert.equal((await ask(manager, request('q'))).headers.get('x-plugboard-cache'), 'miss');
      assert.equal(backend.calls.length, 2);
    });
  });

  test('a reply larger than max_entry_bytes is not stored', async () => {
    await withCache(
      { config: { max_entry_bytes: 200 }, backend: { reply: (context) => lastUserMessage(context)!.content } },
      async (manager, backend, metrics) => {
        await ask(manager, request('x'.repeat(300)));
        await ask(manager, request('x'.repeat(300)));
        assert.equal(backend.calls.length, 2);
        assert.equal(metrics.value('cache_stores_total', { result: 'too_large' }), 2);
        await ask(manager, request('small'));
        await ask(manager, request('small'));
        assert.equal(backend.calls.length, 3);
      },
    );
  });

  test('memory_max_bytes bounds the memory store: the least recently used entries go', async () => {
    await withCache(
      {
        config: { memory_max_bytes: 1024, max_entry_bytes: 512 },
        backend: { reply: (c) => `${lastUserMessage(c)!.content}${'.'.repeat(300)}` },
      },
      async (manager, backend, metrics) => {
        for (const question of ['a', 'b', 'c', 'd']) await ask(manager, request(question));
        assert.ok(metrics.value('cache_memory_bytes') <= 1024);
        assert.equal(metrics.value('cache_memory_entries'), 2);
        assert.equal((await ask(manager, request('d'))).headers.get('x-plugboard-cache'), 'hit');
        assert.equal((await ask(manager, request('a'))).headers.get('x-plugboard-cache'), 'miss');
        assert.equal(backend.calls.length, 5);
      },
    );
  });
});

describe('never stored', () => {
  test('errors: a failed backend call, a stream cut midway', async () => {
    await withCache(
      {
        backend: {
          fail: (call) =>
            call === 1
              ? { error: new Error('down') }
              : call === 2
                ? { error: new Error('cut'), afterChunks: 1 }
                : undefined,
        },
      },
      async (manager, backend, metrics) => {
        await assert.rejects(ask(manager, request('q')));
        await assert.rejects(ask(manager, request('q'), true));
        assert.equal((await ask(manager, request('q'))).headers.get('x-plugboard-cache'), 'miss');
        assert.equal((await ask(manager, request('q'))).headers.get('x-plugboard-cache'), 'hit');
        assert.equal(backend.calls.length, 3);
        assert.equal(metrics.value('cache_stores_total', { result: 'stored' }), 1);
      },
    );
  });

  test('a stream the client left midway (aborted)', async () => {
    await withCache({ backend: { chunking: 2, chunkDelayMs: 1 } }, async (manager, backend) => {
      const stream = manager.stream(request('a long story', { stream: true }));
      for await (const _ of stream) break;
      await stream.response.catch(() => undefined);
      assert.equal((await ask(manager, request('a long story'))).headers.get('x-plugboard-cache'), 'miss');
      assert.equal(backend.calls.length, 2);
    });
  });

  test('a reply with tool calls', async () => {
    const toolCalls = [{ id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' }];
    await withCache({ backend: { reply: { content: '', toolCalls } } }, async (manager, backend, metrics) => {
      const tools = { temperature: 0, tools: [{ name: 'weather' }] };
      for (const stream of [false, true]) await ask(manager, request('weather?', { options: tools }), stream);
      assert.equal(backend.calls.length, 2);
      assert.equal(metrics.value('cache_stores_total', { result: 'tool_calls' }), 2);
    });
  });

  test('a reply that took several model turns (a tool loop)', async () => {
    const loop = defineFeatureExtension({
      metadata: { name: 'loop', version: '1.0.0' },
      extend: (context) => context,
      continueConversation: (turn, context) =>
        turn.turn === 1
          ? updateContext(context, {
              messages: [...context.messages, turn.message, { role: 'user', content: 'and then?' }],
            })
          : undefined,
    });
    await withCache({ plugins: [loop] }, async (manager, backend, metrics) => {
      await ask(manager, request('q'));
      await ask(manager, request('q'));
      assert.equal(backend.calls.length, 4);
      assert.equal(metrics.value('cache_stores_total', { result: 'multi_turn' }), 2);
    });
  });

  test('a truncated reply (finish reason length), unless cache_truncated', async () => {
    const backend: ScriptedBackendOptions = { reply: { content: 'cut sho', finishReason: 'length' } };
    await withCache({ backend }, async (manager, scripted, metrics) => {
      await ask(manager, request('q'));
      await ask(manager, request('q'));
      assert.equal(scripted.calls.length, 2);
      assert.equal(metrics.value('cache_stores_total', { result: 'truncated' }), 2);
    });
    await withCache({ backend, config: { cache_truncated: true } }, async (manager, scripted) => {
      await ask(manager, request('q'));
      const hit = await ask(manager, request('q'));
      assert.equal(hit.text, 'cut sho');
      assert.equal(scripted.calls.length, 1);
      // A hit says why the stored reply ended, as the original did.
      assert.equal(hit.response.finishReason, 'length');
    });
  });

  test('a reply that ended otherwise (content_filter, error)', async () => {
    await withCache(
      { backend: { reply: { content: 'no', finishReason: 'content_filter' } } },
      async (manager, backend, metrics) => {
        await ask(manager, request('q'));
        await ask(manager, request('q'));
        assert.equal(backend.calls.length, 2);
        assert.equal(metrics.value('cache_stores_total', { result: 'unfinished' }), 2);
      },
    );
  });

  test('a degraded request: a plugin was bypassed (a failed retrieval)', async () => {
    let failing = true;
    const retrieval = defineFeatureExtension({
      metadata: { name: 'retrieval', version: '1.0.0' },
      extend: (context) => {
        if (failing) throw new Error('index down');
        return context;
      },
    });
    await withCache({ plugins: [retrieval] }, async (manager, backend, metrics) => {
      await ask(manager, request('q'));
      assert.equal(metrics.value('cache_stores_total', { result: 'degraded' }), 1);
      failing = false;
      assert.equal((await ask(manager, request('q'))).headers.get('x-plugboard-cache'), 'miss');
      assert.equal((await ask(manager, request('q'))).headers.get('x-plugboard-cache'), 'hit');
      assert.equal(backend.calls.length, 2);
    });
  });

  test('a request a beforeModelCall hook changed after the lookup', async () => {
    const clock = definePlugin({
      metadata: { name: 'clock', version: '1.0.0' },
      onBeforeModelCall: ({ context }) =>
        updateContext(context, {
          messages: [{ role: 'system', content: `It is ${Date.now()}` }, ...context.messages],
        }),
    });
    await withCache({ plugins: [clock] }, async (manager, backend, metrics) => {
      await ask(manager, request('q'));
      await ask(manager, request('q'));
      assert.equal(backend.calls.length, 2);
      assert.equal(metrics.value('cache_stores_total', { result: 'changed' }), 2);
    });
  });

  test('a reply from a fallback backend (the key names the backend that failed)', async () => {
    const primary = createScriptedBackend({ name: 'primary', fail: () => ({ error: new Error('down') }) });
    const metrics = recordingMetrics();
    const fallback = createScriptedBackend({ name: 'fallback', reply: 'from the fallback' });
    const manager = await startManager([
      [primary, { backend: { fallback: 'fallback', retries: 0 } }],
      fallback,
      metricsProvider(metrics),
      [createCachePlugin, { config: {} }],
    ]);
    try {
      for (let index = 0; index < 2; index++) {
        const reply = await ask(manager, request('q', { model: 'primary/scripted-model' }));
        assert.equal(reply.text, 'from the fallback');
      }
      assert.equal(fallback.calls.length, 2);
      assert.equal(metrics.value('cache_stores_total', { result: 'changed' }), 2);
    } finally {
      await manager.shutdown();
    }
  });

  test('two requests at once under one request id: neither is stored', async () => {
    await withCache({ backend: { latencyMs: 20 } }, async (manager, backend) => {
      const [first, second] = await Promise.all([
        ask(manager, request('mine', { requestId: 'same-id' })),
        ask(manager, request('yours', { requestId: 'same-id' })),
      ]);
      assert.equal(first.headers.get('x-plugboard-cache'), 'miss');
      assert.equal(second.headers.get('x-plugboard-cache'), 'skip');
      assert.equal(first.text, 'You said: mine');
      assert.equal(second.text, 'You said: yours');
      await ask(manager, request('mine'));
      await ask(manager, request('yours'));
      assert.equal(backend.calls.length, 4);
    });
  });
});
