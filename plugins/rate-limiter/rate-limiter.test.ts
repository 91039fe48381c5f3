/**
 * The limiter in the manager (in memory): N requests pass and the N+1th is refused with 429,
 * the headers and a message naming the limit; the window starts over after `per_seconds`;
 * only limits whose `operations` match count; a token budget is spent from the replies'
 * usage (in processResponse) and then refuses new requests; a refused request does not use up
 * the caller's other limits; callers are counted apart.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ChatContext,
  createChatContext,
  defineMiddleware,
  isPlugboardError,
  type Operation,
  type PlugboardError,
  updateContext,
} from '../../src/index.ts';
import { chatRequest, createScriptedBackend, startManager } from '../../src/testing/index.ts';
import { rateLimiterConfigSchema } from './config.ts';
import { memoryStore } from './limiter-store.ts';
import createRateLimiterPlugin from './rate-limiter.plugin.ts';
import { RateLimiter } from './rate-limiter.ts';

/** Sets the principal from the `x-user` header, as the auth plugin would. */
const fakeAuth = defineMiddleware({
  metadata: { name: 'fake-auth', version: '1.0.0', priority: 'CRITICAL' },
  processRequest: (context) => {
    const user = context.client?.headers?.['x-user'];
    return user === undefined ? context : updateContext(context, { principal: { id: user } });
  },
});

const as = (user: string, content = 'hi') =>
  chatRequest(content, { client: { address: '127.0.0.1', headers: { 'x-user': user } } });
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => assert.fail('expected a refusal'),
    (error: unknown) => error as PlugboardError,
  );

async function withLimiter(config: unknown, run: (manager: Awaited<ReturnType<typeof startManager>>) => Promise<void>) {
  const backend = createScriptedBackend();
  const manager = await startManager([backend, fakeAuth, [createRateLimiterPlugin, { config }]]);
  try {
    assert.equal(manager.getPluginStatus().plugins.rate_limiter?.state, 'ACTIVE');
    await run(manager);
  } finally {
    await manager.shutdown();
  }
}

test('N pass, the N+1th is refused with 429, Retry-After, x-ratelimit-* and a message naming the limit', async () => {
  await withLimiter({ limits: [{ key: 'principal', requests: 3, per_seconds: 60 }] }, async (manager) => {
    for (let index = 0; index < 3; index++) await manager.chat(as('alice'));
    const error = await refusal(manager.chat(as('alice')));
    assert.ok(isPlugboardError(error, 'rate_limiter/LIMITED'), String(error));
    assert.equal(error.status, 429);
    assert.match(error.message, /^Rate limit exceeded: 3 requests per 60 seconds per principal\. Resets in \d+ s\.$/);
    assert.doesNotMatch(error.message, /alice/, 'the message never names the caller');
    const headers = error.headers ?? {};
    assert.equal(headers['x-ratelimit-limit'], '3');
    assert.equal(headers['x-ratelimit-remaining'], '0');
    const reset = Number(headers['x-ratelimit-reset']);
    assert.ok(reset >= 59 && reset <= 60, `reset ${reset}`);
    assert.equal(headers['retry-after'], headers['x-ratelimit-reset']);
    // Another caller has its own counter.
    await manager.chat(as('bob'));
  });
});

test('the window starts over after per_seconds', async () => {
  await withLimiter({ limits: [{ key: 'global', requests: 2, per_seconds: 1 }] }, async (manager) => {
    await manager.chat(as('alice'));
    await manager.chat(as('bob'));
    const error = await refusal(manager.chat(as('carol')));
    assert.equal(error.headers?.['retry-after'], '1');
    await sleep(1_100);
    await manager.chat(as('carol'));
  });
});

test('a token budget is spent from the replies’ usage and then refuses new requests', async () => {
  // The scripted backend reports usage as word counts: "hi" → 1 prompt token, "You said: hi" → 3.
  await withLimiter(
    { limits: [{ name: 'daily-tokens', key: 'principal', tokens: 10, per_seconds: 3600 }] },
    async (manager) => {
      await manager.chat(as('alice')); // 4 tokens
      await manager.chat(as('alice')); // 8
      await manager.chat(as('alice')); // 12: this one started under budget and is not cut
      const error = await refusal(manager.chat(as('alice')));
      assert.ok(isPlugboardError(error, 'rate_limiter/LIMITED'));
      assert.match(error.message, /^Token limit "daily-tokens" exceeded: 10 tokens per 3600 seconds per principal/);
      assert.equal(error.headers?.['x-ratelimit-limit'], '10');
      assert.equal(error.headers?.['x-ratelimit-remaining'], '0');
      await manager.chat(as('bob'));
    },
  );
});

test('streamed replies count their tokens too', async () => {
  await withLimiter({ limits: [{ key: 'principal', tokens: 4, per_seconds: 3600 }] }, async (manager) => {
    const stream = manager.stream(chatRequest('hi', { stream: true, client: { headers: { 'x-user': 'alice' } } }));
    for await (const _ of stream) {
      // drain
    }
    await stream.response;
    await refusal(manager.chat(as('alice')));
  });
});

/** Runs the limiter directly, for operations the manager's chat does not take. */
async function admitted(limiter: RateLimiter, operation: Operation): Promise<boolean> {
  const context: ChatContext = createChatContext({ messages: [], operation, principal: { id: 'alice' } });
  return (await limiter.admit(context)) === undefined;
}

test('only the limits whose operations match count a request; without operations, every one counts', async () => {
  const config = rateLimiterConfigSchema.parse({
    limits: [
      { name: 'chats', key: 'principal', requests: 1, per_seconds: 60, operations: ['chat', 'generate'] },
      { name: 'everything', key: 'principal', requests: 4, per_seconds: 60 },
    ],
  });
  const limiter = new RateLimiter(config, memoryStore());
  assert.equal(await admitted(limiter, 'chat'), true); // chats 1/1, everything 1/4
  assert.equal(await admitted(limiter, 'generate'), false); // chats refuses
  assert.equal(await admitted(limiter, 'models.list'), true); // everything 2/4 (the refusal was refunded)
  assert.equal(await admitted(limiter, 'embeddings'), true); // 3/4
  assert.equal(await admitted(limiter, 'models.show'), true); // 4/4
  assert.equal(await admitted(limiter, 'models.list'), false);
});

test('with several limits exceeded, the one that resets last decides Retry-After', async () => {
  const config = rateLimiterConfigSchema.parse({
    limits: [
      { key: 'principal', requests: 1, per_seconds: 10 },
      { key: 'global', requests: 1, per_seconds: 100 },
    ],
  });
  const limiter = new RateLimiter(config, memoryStore());
  const context = createChatContext({ messages: [], principal: { id: 'alice' } });
  assert.equal(await limiter.admit(context), undefined);
  const error = await limiter.admit(context);
  assert.match(error?.message ?? '', /1 requests per 100 seconds per global/);
  assert.ok(Number(error?.headers?.['retry-after']) > 90);
});
