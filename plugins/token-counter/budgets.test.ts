/**
 * Budgets over a key-value store: windows aligned to the epoch, who a budget counts (a
 * principal, anonymous callers together or by address, or nobody), a spent budget found by the
 * next check with the window's end, a new window starting from zero, only the budgets of the
 * request's operation charged, and a failing store reported once, by the policy.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ChatContext,
  createChatContext,
  createSilentLogger,
  isPlugboardError,
  type KeyValueStore,
  MemoryKeyValueStore,
  type Operation,
} from '../../src/index.ts';
import { BudgetBook, budgetHeaders, budgetRefusal, secondsUntil, subjectOf, windowOf } from './budgets.ts';
import type { BudgetConfig } from './config.ts';

const T0 = Date.parse('2026-03-04T10:20:30Z');
const logger = createSilentLogger();

const contextOf = (principal?: string, operation: Operation = 'chat', address = '10.0.0.7'): ChatContext =>
  createChatContext({
    operation,
    messages: [{ role: 'user', content: 'hi' }],
    ...(principal === undefined ? {} : { principal: { id: principal } }),
    client: { address },
  });

function book(budgets: BudgetConfig[], store: KeyValueStore = new MemoryKeyValueStore(), clock = { now: T0 }) {
  return new BudgetBook(budgets, store.withPrefix('token_counter:'), {
    anonymous: 'shared',
    onStoreError: 'open',
    logger,
    now: () => clock.now,
  });
}

test('windows are aligned to multiples of per_seconds since the epoch: a day is a UTC day', () => {
  assert.deepEqual(windowOf(86_400, T0), {
    start: Date.parse('2026-03-04T00:00:00Z'),
    end: Date.parse('2026-03-05T00:00:00Z'),
  });
  assert.deepEqual(windowOf(3600, T0), {
    start: Date.parse('2026-03-04T10:00:00Z'),
    end: Date.parse('2026-03-04T11:00:00Z'),
  });
  assert.equal(secondsUntil(T0 + 1, T0), 1);
  assert.equal(secondsUntil(T0 - 5, T0), 1, 'never 0: a client told 0 would come back at once');
});

test('who a budget counts: the principal; anonymous callers together, by address, or not at all', () => {
  assert.deepEqual(subjectOf(contextOf('alice'), 'exempt'), { id: 'principal:alice', described: 'principal' });
  assert.deepEqual(subjectOf(contextOf(), 'shared'), { id: 'anonymous', described: 'anonymous callers (shared)' });
  assert.deepEqual(subjectOf(contextOf(), 'per_ip'), { id: 'ip:10.0.0.7', described: 'ip (no principal)' });
  assert.equal(subjectOf(contextOf(), 'exempt'), undefined);
  // A principal named like the shared bucket does not share it.
  assert.notEqual(subjectOf(contextOf('anonymous'), 'shared')?.id, 'anonymous');
  assert.match(subjectOf(contextOf('x'.repeat(500)), 'shared')?.id ?? '', /^principal:sha256:[0-9a-f]{64}$/);
});

test('a budget is spent by charges, refused until its window ends, and starts over in the next', async () => {
  const clock = { now: T0 };
  const budgets = book([{ name: 'hourly', tokens: 100, per_seconds: 3600 }], undefined, clock);
  assert.deepEqual(await budgets.check(contextOf('alice')), {
    kind: 'within',
    described: 'principal',
    tightest: { name: 'hourly', limit: 100, used: 0, perSeconds: 3600, resetAt: Date.parse('2026-03-04T11:00:00Z') },
  });
  assert.equal(await budgets.charge(contextOf('alice'), 60), 'charged');
  const within = await budgets.check(contextOf('alice'));
  assert.equal(within.kind === 'within' && within.tightest.used, 60);
  await budgets.charge(contextOf('alice'), 45); // this request started under budget: it is not cut
  const over = await budgets.check(contextOf('alice'));
  assert.equal(over.kind, 'over');
  assert.equal(over.kind === 'over' && over.state.used, 105);
  assert.equal((await budgets.check(contextOf('bob'))).kind, 'within', 'another principal has its own');
  clock.now = Date.parse('2026-03-04T11:00:00Z');
  const next = await budgets.check(contextOf('alice'));
  assert.equal(next.kind === 'within' && next.tightest.used, 0, 'a new window starts from zero');
});

test('the refusal states the limit, the use and the reset time, with Retry-After', () => {
  const state = {
    name: 'daily',
    limit: 10_000,
    used: 10_250,
    perSeconds: 86_400,
    resetAt: Date.parse('2026-03-05T00:00:00Z'),
  };
  const error = budgetRefusal(state, 'principal', T0);
  assert.ok(isPlugboardError(error, 'token_counter/BUDGET_EXCEEDED'));
  assert.equal(error.status, 429);
  assert.equal(
    error.message,
    'Token budget "daily" exceeded: 10250 of 10000 tokens used in this 86400-second window per principal. ' +
      'Resets at 2026-03-05T00:00:00.000Z (in 49170 s).',
  );
  assert.deepEqual(error.headers, {
    'retry-after': '49170',
    'x-token-budget-limit': '10000',
    'x-token-budget-remaining': '0',
    'x-token-budget-reset': '49170',
  });
  assert.deepEqual(budgetHeaders({ ...state, used: 2500 }, T0)['x-token-budget-remaining'], '7500');
});

test('with several budgets, the tightest is reported, and the spent one resetting last refuses', async () => {
  const budgets = book([
    { name: 'minute', tokens: 50, per_seconds: 60 },
    { name: 'day', tokens: 1000, per_seconds: 86_400 },
    { name: 'embeddings', tokens: 10, per_seconds: 86_400, operations: ['embeddings'] },
  ]);
  await budgets.charge(contextOf('alice'), 40);
  const within = await budgets.check(contextOf('alice'));
  assert.equal(within.kind === 'within' && within.tightest.name, 'minute');
  await budgets.charge(contextOf('alice'), 970);
  const over = await budgets.check(contextOf('alice'));
  assert.equal(over.kind === 'over' && over.state.name, 'day', 'both are spent; the day resets last');
  // Only the budgets of the request's operation are charged and checked.
  const embedding = await budgets.check(contextOf('alice', 'embeddings'));
  assert.equal(embedding.kind, 'over', 'the day budget covers embeddings too');
  const other = book([{ name: 'embeddings', tokens: 10, per_seconds: 60, operations: ['embeddings'] }]);
  await other.charge(contextOf('alice', 'chat'), 500);
  assert.equal((await other.check(contextOf('alice', 'embeddings'))).kind, 'within');
  assert.deepEqual(await other.check(contextOf('alice', 'chat')), { kind: 'none' });
});

test('an exempt anonymous caller is neither checked nor charged', async () => {
  const store = new MemoryKeyValueStore();
  const budgets = new BudgetBook([{ tokens: 1, per_seconds: 60 }], store, {
    anonymous: 'exempt',
    onStoreError: 'open',
    logger,
  });
  assert.equal(await budgets.charge(contextOf(), 100), 'nothing');
  assert.deepEqual(await budgets.check(contextOf()), { kind: 'none' });
});

test('a failing store is reported once per outage, by the policy, and its recovery too', async () => {
  let failing = true;
  const memory = new MemoryKeyValueStore();
  const flaky: KeyValueStore = {
    ...memory,
    get: (key) => (failing ? Promise.reject(new Error('connection refused')) : memory.get(key)),
    increment: (key, delta, options) =>
      failing ? Promise.reject(new Error('connection refused')) : memory.increment(key, delta, options),
    ttl: (key) => memory.ttl(key),
    set: (key, value, options) => memory.set(key, value, options),
    setIfAbsent: (key, value, options) => memory.setIfAbsent(key, value, options),
    delete: (key) => memory.delete(key),
    withPrefix: () => flaky,
  };
  const lines: string[] = [];
  const recording = {
    ...logger,
    warn: (_fields: unknown, message: string) => lines.push(`warn ${message}`),
    info: (_fields: unknown, message: string) => lines.push(`info ${message}`),
  } as typeof logger;
  for (const policy of ['open', 'closed'] as const) {
    failing = true;
    lines.length = 0;
    const budgets = new BudgetBook([{ tokens: 10, per_seconds: 60 }], flaky, {
      anonymous: 'shared',
      onStoreError: policy,
      logger: recording,
    });
    assert.deepEqual(await budgets.check(contextOf('alice')), { kind: 'store_down', policy });
    assert.equal(await budgets.charge(contextOf('alice'), 5), 'failed');
    assert.deepEqual(await budgets.check(contextOf('alice')), { kind: 'store_down', policy });
    assert.match(budgets.down?.reason ?? '', /connection refused/);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, policy === 'open' ? /not enforced/ : /refused with 503/);
    failing = false;
    assert.equal((await budgets.check(contextOf('alice'))).kind, 'within');
    assert.equal(budgets.down, undefined);
    assert.match(lines[1] ?? '', /info token counter: the key-value store is back/);
  }
});
