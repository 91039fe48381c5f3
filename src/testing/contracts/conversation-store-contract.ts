import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Message } from '../../core/model/message.ts';
import {
  type Conversation,
  type ConversationStore,
  MAX_LIST_LIMIT,
  MAX_PRINCIPAL_LENGTH,
  MAX_TITLE_LENGTH,
  type StoredMessage,
} from '../../core/stores/conversation-store.ts';
import { expectStoreError } from './expect-store-error.ts';

/**
 * What {@link testConversationStoreContract} needs: how to make a store and how to let it go.
 *
 * @example
 * ```ts
 * testConversationStoreContract({ name: 'postgres', create: () => new PgConversationStore(pool) });
 * ```
 */
export interface ConversationStoreContractOptions {
  /** Shown in the suite's name. */
  readonly name: string;
  /** A store for one test. It may share a database with other runs: tests use random principals. */
  readonly create: () => ConversationStore | Promise<ConversationStore>;
  /** Called after each test, e.g. to close a connection. */
  readonly dispose?: (store: ConversationStore) => void | Promise<void>;
}

/** One test's world: a store and two random principals whose conversations are removed after. */
type World = { readonly store: ConversationStore; readonly principal: string; readonly other: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Long enough for any clock to tick, so `updatedAt` orders operations. */
const TICK = 10;

/**
 * Registers the contract every {@link ConversationStore} must pass, as `node:test` tests:
 * conversations, principal isolation, messages (equality, `Date`s, atomic and concurrent
 * appends, ranges), summaries, listing (order, paging, search) and argument checks. Safe
 * against a shared database: each test uses random principals and deletes what it made.
 *
 * @example
 * ```ts
 * import { testConversationStoreContract } from 'plugboard/testing';
 * testConversationStoreContract({ name: 'sqlite', create: () => new SqliteConversationStore(':memory:') });
 * ```
 */
export function testConversationStoreContract(options: ConversationStoreContractOptions): void {
  const storeTest = (title: string, body: (world: World) => Promise<void>) => it(title, () => inWorld(options, body));

  describe(`ConversationStore contract: ${options.name}`, () => {
    describe('conversations', () => {
      storeTest('create returns an empty conversation with a UUID and Dates', async ({ store, principal }) => {
        const created = await store.create(principal);
        assert.match(created.id, UUID);
        assert.equal(created.principal, principal);
        assert.equal(created.title, undefined);
        assert.equal(created.messageCount, 0);
        assert.deepEqual(created.metadata, {});
        assert.equal(created.summary, undefined);
        assertDates(created, 'create');
        const another = await store.create(principal);
        assert.notEqual(another.id, created.id);
      });

      storeTest('create keeps the title and JSON metadata, and get returns the same', async ({ store, principal }) => {
        const metadata = { model: 'llama3.2', tags: ['a', 'b'], nested: { n: 1.5, flag: true, none: null }, ü: '日本' };
        const created = await store.create(principal, { title: 'Trip to Lisbon 🇵🇹', metadata });
        assert.equal(created.title, 'Trip to Lisbon 🇵🇹');
        assert.deepEqual(created.metadata, metadata);
        assert.deepEqual(await store.get(principal, created.id), created);
      });

      storeTest('get of an unknown id is undefined', async ({ store, principal }) => {
        assert.equal(await store.get(principal, randomUUID()), undefined);
        assert.equal(await store.get(principal, 'not-a-uuid'), undefined);
      });

      storeTest('rename changes the title and bumps updatedAt', async ({ store, principal }) => {
        const created = await store.create(principal, { title: 'Old' });
        await sleep(TICK);
        const renamed = await store.rename(principal, created.id, 'New');
        assert.equal(renamed?.title, 'New');
        assert.ok(renamed.updatedAt.getTime() > created.updatedAt.getTime(), 'updatedAt moved forward');
        assert.deepEqual(renamed.createdAt, created.createdAt);
        assert.equal((await store.get(principal, created.id))?.title, 'New');
        assert.equal(await store.rename(principal, randomUUID(), 'Nobody'), undefined);
      });

      storeTest('delete removes the conversation and its messages', async ({ store, principal }) => {
        const { id } = await store.create(principal);
        await store.append(principal, id, [{ role: 'user', content: 'gone soon' }]);
        assert.equal(await store.delete(principal, id), true);
        assert.equal(await store.get(principal, id), undefined);
        await expectNotFound(() => store.messages(principal, id));
        assert.deepEqual((await store.list(principal, { search: 'gone soon' })).items, []);
        assert.equal(await store.delete(principal, id), false);
      });

      storeTest('another principal can neither see nor change a conversation', async ({ store, principal, other }) => {
        const { id } = await store.create(principal, { title: 'Private' });
        await store.append(principal, id, [{ role: 'user', content: 'secret' }]);
        assert.equal(await store.get(other, id), undefined);
        assert.deepEqual((await store.list(other)).items, []);
        assert.deepEqual((await store.list(other, { search: 'secret' })).items, []);
        assert.equal(await store.rename(other, id, 'Mine now'), undefined);
        assert.equal(await store.delete(other, id), false);
        assert.equal(await store.setSummary(other, id, { text: 'stolen', throughSequence: 0 }), undefined);
        await expectNotFound(() => store.append(other, id, [{ role: 'user', content: 'x' }]));
        await expectNotFound(() => store.messages(other, id));
        const mine = await store.get(principal, id);
        assert.equal(mine?.title, 'Private');
        assert.equal(mine.messageCount, 1);
        assert.equal(mine.summary, undefined);
      });
    });

    describe('messages', () => {
      storeTest('append numbers messages from 1, contiguously across calls', async ({ store, principal }) => {
        const { id } = await store.create(principal);
        const first = await store.append(principal, id, [user('one'), user('two')]);
        const second = await store.append(principal, id, [user('three')]);
        assert.deepEqual(sequences([...first, ...second]), [1, 2, 3]);
        assert.deepEqual(contents(await store.messages(principal, id)), ['one', 'two', 'three']);
        assert.ok([...first, ...second].every((stored) => stored.conversationId === id));
      });

      storeTest('messages come back equal, frozen, with Date timestamps', async ({ store, principal }) => {
        const { id } = await store.create(principal);
        const toolCalls = [{ id: 'call_1', name: 'weather', arguments: '{"city":"Lisbon"}' }];
        const metadata = { model: 'llama3.2', tokens: 12, nested: { ok: true, none: null } };
        const sent: Message[] = [
          { role: 'system', content: '' },
          { role: 'user', content: 'Look 👀 ü 日本', images: ['data:image/png;base64,iVBORw0KGgo='], name: 'bo' },
          { role: 'assistant', content: 'Checking', toolCalls, thinking: 'They want the weather', metadata },
          { role: 'tool', content: '{"temp":21}', toolCallId: 'call_1', name: 'weather' },
        ];
        const returned = await store.append(principal, id, sent);
        for (const stored of [returned, await store.messages(principal, id)].flat()) {
          assertDate(stored.createdAt, `message ${stored.sequence} createdAt`);
          assert.deepStrictEqual(stored.message, sent[stored.sequence - 1]);
          assert.ok(Object.isFrozen(stored) && Object.isFrozen(stored.message), 'the stored message is frozen');
        }
      });

      storeTest('append bumps updatedAt and messageCount', async ({ store, principal }) => {
        const created = await store.create(principal);
        await sleep(TICK);
        await store.append(principal, created.id, [user('a'), user('b')]);
        const after = await store.get(principal, created.id);
        assert.equal(after?.messageCount, 2);
        assert.ok(after.updatedAt.getTime() > created.updatedAt.getTime(), 'updatedAt moved forward');
      });

      storeTest('append of an empty batch stores nothing', async ({ store, principal }) => {
        const { id } = await store.create(principal);
        assert.deepEqual(await store.append(principal, id, []), []);
        assert.equal((await store.get(principal, id))?.messageCount, 0);
      });

      storeTest('append to an unknown conversation is STORE_NOT_FOUND', async ({ store, principal }) => {
        await expectNotFound(() => store.append(principal, randomUUID(), [user('x')]));
      });

      storeTest('append is atomic: an invalid message in a batch stores none', async ({ store, principal }) => {
        const { id } = await store.create(principal);
        const invalid = [
          { role: 'robot', content: 'beep' },
          { role: 'user', content: 'x', metadata: { f: Number.NaN } },
        ];
        for (const bad of invalid) {
          const batch = [user('valid first'), bad as unknown as Message, user('valid last')];
          await expectInvalid(() => store.append(principal, id, batch), /messages\[1\]/);
        }
        assert.deepEqual(await store.messages(principal, id), []);
        assert.equal((await store.get(principal, id))?.messageCount, 0);
      });

      storeTest('concurrent appends give each batch consecutive sequences, no gaps', async ({ store, principal }) => {
        const { id } = await store.create(principal);
        const batches = Array.from({ length: 10 }, (_, b) => [user(`${b}.0`), user(`${b}.1`), user(`${b}.2`)]);
        const results = await Promise.all(batches.map((batch) => store.append(principal, id, batch)));
        for (const [b, result] of results.entries()) {
          const first = result[0]?.sequence ?? Number.NaN;
          assert.deepEqual(sequences(result), [first, first + 1, first + 2], `batch ${b} is consecutive`);
          assert.deepEqual(contents(result), [`${b}.0`, `${b}.1`, `${b}.2`]);
        }
        const all = await store.messages(principal, id);
        assert.deepEqual(
          sequences(all),
          Array.from({ length: 30 }, (_, index) => index + 1),
        );
        const appended = new Map(results.flat().map((stored) => [stored.sequence, stored.message.content]));
        assert.ok(
          all.every((stored) => appended.get(stored.sequence) === stored.message.content),
          'reads = appends',
        );
        assert.equal((await store.get(principal, id))?.messageCount, 30);
      });

      storeTest('messages() selects by afterSequence and last, oldest first', async ({ store, principal }) => {
        const { id } = await store.create(principal);
        await store.append(principal, id, ['1', '2', '3', '4', '5', '6'].map(user));
        const pick = async (range: { afterSequence?: number; last?: number }) =>
          sequences(await store.messages(principal, id, range));
        assert.deepEqual(await pick({ afterSequence: 4 }), [5, 6]);
        assert.deepEqual(await pick({ last: 2 }), [5, 6]);
        assert.deepEqual(await pick({ last: 10 }), [1, 2, 3, 4, 5, 6]);
        assert.deepEqual(await pick({ afterSequence: 2, last: 3 }), [4, 5, 6]);
        assert.deepEqual(await pick({ afterSequence: 3, last: 10 }), [4, 5, 6]);
        assert.deepEqual(await pick({ afterSequence: 6 }), []);
        assert.deepEqual(await pick({ afterSequence: 0 }), [1, 2, 3, 4, 5, 6]);
      });
    });

    describe('summaries', () => {
      storeTest('setSummary stores the summary with a Date and bumps updatedAt', async ({ store, principal }) => {
        const created = await store.create(principal);
        await store.append(principal, created.id, [user('a'), user('b'), user('c')]);
        await sleep(TICK);
        const summary = { text: 'They said a and b.', throughSequence: 2 };
        const summarised = await store.setSummary(principal, created.id, summary);
        assert.equal(summarised?.summary?.text, 'They said a and b.');
        assert.equal(summarised.summary.throughSequence, 2);
        assertDate(summarised.summary.updatedAt, 'summary.updatedAt');
        assert.ok(summarised.updatedAt.getTime() > created.updatedAt.getTime(), 'updatedAt moved forward');
        assert.deepEqual((await store.get(principal, created.id))?.summary, summarised.summary);
        assert.equal(await store.setSummary(principal, randomUUID(), { text: 'x', throughSequence: 0 }), undefined);
      });

      storeTest('setSummary past the last message is STORE_INVALID_ARGUMENT', async ({ store, principal }) => {
        const { id } = await store.create(principal);
        await store.append(principal, id, [user('only')]);
        const call = () => store.setSummary(principal, id, { text: 'x', throughSequence: 2 });
        await expectInvalid(call, /throughSequence/);
        assert.equal((await store.get(principal, id))?.summary, undefined);
      });
    });

    describe('listing', () => {
      storeTest('list returns the most recently updated first', async ({ store, principal }) => {
        const make = async (title: string) => {
          await sleep(TICK);
          return (await store.create(principal, { title })).id;
        };
        const [a, b, c] = [await make('a'), await make('b'), await make('c')];
        const order = async () => ids(await store.list(principal));
        assert.deepEqual(await order(), [c, b, a]);
        await sleep(TICK);
        await store.append(principal, a, [user('bump')]);
        assert.deepEqual(await order(), [a, c, b]);
        await sleep(TICK);
        await store.rename(principal, b, 'renamed');
        assert.deepEqual(await order(), [b, a, c]);
        await sleep(TICK);
        await store.setSummary(principal, c, { text: 'nothing yet', throughSequence: 0 });
        assert.deepEqual(await order(), [c, b, a]);
      });

      storeTest('list pages through more than a page without duplicates or gaps', async ({ store, principal }) => {
        const created = new Set<string>();
        for (let index = 0; index < 25; index++) created.add((await store.create(principal)).id);
        const paged: Conversation[] = [];
        const sizes: number[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.list(principal, { limit: 10, ...(cursor === undefined ? {} : { cursor }) });
          sizes.push(page.items.length);
          paged.push(...page.items);
          cursor = page.nextCursor;
        } while (cursor !== undefined && sizes.length < 10);
        assert.deepEqual(sizes, [10, 10, 5]);
        const pagedIds = ids({ items: paged });
        assert.deepEqual(new Set(pagedIds), created, 'every conversation exactly once');
        assert.equal(pagedIds.length, 25);
        assert.deepEqual(pagedIds, ids(await store.list(principal, { limit: MAX_LIST_LIMIT })));
        for (const [index, item] of paged.entries()) {
          assertDates(item, `list item ${index}`);
          const next = paged[index + 1];
          if (next === undefined) continue;
          const time = item.updatedAt.getTime() - next.updatedAt.getTime();
          assert.ok(time > 0 || (time === 0 && item.id > next.id), `items ${index} and ${index + 1} are in order`);
        }
        assert.equal((await store.list(principal)).items.length, 20, 'the default limit is 20');
      });

      storeTest('list searches titles and message content, case-insensitively', async ({ store, principal }) => {
        const titled = (await store.create(principal, { title: 'Trip to Lisbon' })).id;
        const mentioned = (await store.create(principal, { title: 'Groceries' })).id;
        await store.append(principal, mentioned, [user('I miss the tarts of LISBON')]);
        await store.append(principal, (await store.create(principal, { title: 'Work' })).id, [user('nothing here')]);
        await store.create(principal);
        const found = async (search: string) => new Set(ids(await store.list(principal, { search })));
        assert.deepEqual(await found('lisbon'), new Set([titled, mentioned]));
        assert.deepEqual(await found('LiSbOn'), new Set([titled, mentioned]));
        assert.deepEqual(await found('tarts of'), new Set([mentioned]));
        assert.deepEqual(await found('nowhere'), new Set());
        const firstPage = await store.list(principal, { search: 'lisbon', limit: 1 });
        assert.ok(firstPage.nextCursor !== undefined, 'search results page too');
        const secondPage = await store.list(principal, { search: 'lisbon', limit: 1, cursor: firstPage.nextCursor });
        assert.deepEqual(new Set([...ids(firstPage), ...ids(secondPage)]), new Set([titled, mentioned]));
      });

      storeTest('list search takes % and _ literally', async ({ store, principal }) => {
        for (const title of ['100% done', '1000 things', 'a_b', 'axb']) await store.create(principal, { title });
        const titles = async (search: string) => (await store.list(principal, { search })).items.map((c) => c.title);
        assert.deepEqual(await titles('100%'), ['100% done']);
        assert.deepEqual(await titles('a_b'), ['a_b']);
      });

      storeTest('timestamps are Dates in every result', async ({ store, principal }) => {
        const { id } = await store.create(principal, { title: 'dates' });
        assertDates(await store.rename(principal, id, 'still dates'), 'rename');
        const [stored] = await store.append(principal, id, [user('x')]);
        assertDate(stored?.createdAt, 'append createdAt');
        assertDate((await store.messages(principal, id))[0]?.createdAt, 'messages createdAt');
        const summarised = await store.setSummary(principal, id, { text: 's', throughSequence: 1 });
        assertDates(summarised, 'setSummary');
        assertDate(summarised?.summary?.updatedAt, 'summary.updatedAt');
        assertDates(await store.get(principal, id), 'get');
        assertDates((await store.list(principal)).items[0], 'list');
        assertDate((await store.list(principal)).items[0]?.summary?.updatedAt, 'list summary.updatedAt');
      });
    });

    describe('argument validation', () => {
      storeTest('a bad principal or id is refused by every method', async ({ store, principal }) => {
        const { id } = await store.create(principal);
        const summary = { text: 's', throughSequence: 0 };
        const byId = (who: string, which: string) => [
          () => store.get(who, which),
          () => store.delete(who, which),
          () => store.messages(who, which),
          () => store.rename(who, which, 't'),
          () => store.append(who, which, []),
          () => store.setSummary(who, which, summary),
        ];
        for (const bad of ['', 'p'.repeat(MAX_PRINCIPAL_LENGTH + 1), 42, undefined] as string[]) {
          for (const call of [() => store.create(bad), () => store.list(bad), ...byId(bad, id)]) {
            await expectInvalid(call, /principal/, `principal ${String(bad).slice(0, 9)}`);
          }
        }
        for (const bad of ['', 42, undefined] as string[]) {
          for (const call of byId(principal, bad)) await expectInvalid(call, /id/, `id ${String(bad)}`);
        }
      });

      storeTest('bad titles and metadata are refused', async ({ store, principal }) => {
        const { id } = await store.create(principal, { title: 'kept' });
        for (const title of ['', '   ', 't'.repeat(MAX_TITLE_LENGTH + 1), 42] as string[]) {
          await expectInvalid(() => store.create(principal, { title }), /title/);
          await expectInvalid(() => store.rename(principal, id, title), /title/);
        }
        const badMetadata: unknown[] = [[], 'text', { f: () => 1 }, { at: new Date() }, { n: Number.NaN }];
        for (const metadata of badMetadata as Record<string, never>[]) {
          await expectInvalid(() => store.create(principal, { metadata }), /metadata/);
        }
        assert.equal((await store.list(principal)).items.length, 1, 'nothing was created');
        assert.equal((await store.get(principal, id))?.title, 'kept');
      });

      storeTest('bad list options are refused', async ({ store, principal }) => {
        for (const limit of [0, MAX_LIST_LIMIT + 1, 1.5, '10'] as number[]) {
          await expectInvalid(() => store.list(principal, { limit }), /limit/);
        }
        for (const cursor of ['garbage', '', 42] as string[]) {
          await expectInvalid(() => store.list(principal, { cursor }), /cursor/);
        }
        await expectInvalid(() => store.list(principal, { search: 42 as unknown as string }), /search/);
      });

      storeTest('bad messages and message options are refused', async ({ store, principal }) => {
        const { id } = await store.create(principal);
        const append = (messages: unknown) => store.append(principal, id, messages as Message[]);
        await expectInvalid(() => append('not a list'), /messages/);
        for (const bad of [
          { role: 'robot', content: 'x' },
          { role: 'user' },
          { role: 'user', content: 'x', extra: 1 },
        ]) {
          await expectInvalid(() => append([bad]), /messages\[0\]/);
        }
        const dated = { role: 'user', content: 'x', metadata: { at: new Date() } };
        await expectInvalid(() => append([dated]), /messages\[0\]\.metadata/);
        for (const range of [{ afterSequence: -1 }, { afterSequence: 1.5 }, { last: 0 }, { last: -1 }]) {
          await expectInvalid(() => store.messages(principal, id, range), /afterSequence|last/);
        }
      });

      storeTest('a bad summary is refused', async ({ store, principal }) => {
        const { id } = await store.create(principal);
        const set = (summary: unknown) =>
          store.setSummary(principal, id, summary as { text: string; throughSequence: number });
        await expectInvalid(() => set({ text: 42, throughSequence: 0 }), /text/);
        for (const throughSequence of [-1, 1.5, '0', 1]) {
          await expectInvalid(() => set({ text: 's', throughSequence }), /throughSequence/);
        }
      });
    });
  });
}

function user(content: string): Message {
  return { role: 'user', content };
}

const sequences = (messages: readonly StoredMessage[]) => messages.map((stored) => stored.sequence);
const contents = (messages: readonly StoredMessage[]) => messages.map((stored) => stored.message.content);
const ids = (page: { readonly items: readonly Conversation[] }) => page.items.map((item) => item.id);

/** Runs `body` with fresh principals and deletes their conversations, whatever happened. */
async function inWorld(options: ConversationStoreContractOptions, body: (world: World) => Promise<void>) {
  const store = await options.create();
  const world = { store, principal: `contract-${randomUUID()}`, other: `contract-${randomUUID()}` };
  try {
    await body(world);
  } finally {
    try {
      for (const principal of [world.principal, world.other]) await removeConversations(store, principal);
    } finally {
      await options.dispose?.(store);
    }
  }
}

async function removeConversations(store: ConversationStore, principal: string): Promise<void> {
  for (let round = 0; round < 20; round++) {
    const { items } = await store.list(principal, { limit: MAX_LIST_LIMIT });
    if (items.length === 0) return;
    for (const item of items) await store.delete(principal, item.id);
  }
}

/** Asserts a real, current Date: not a string (SQLite), not a number, not Invalid Date, not 1970. */
function assertDate(value: unknown, what: string): asserts value is Date {
  assert.ok(value instanceof Date, `${what} is a Date, got ${typeof value}: ${String(value)}`);
  assert.ok(Math.abs(value.getTime() - Date.now()) < 60_000, `${what} is about now, got ${String(value)}`);
}

function assertDates(conversation: Conversation | undefined, what: string): asserts conversation is Conversation {
  assert.ok(conversation !== undefined, `${what} returned a conversation`);
  assertDate(conversation.createdAt, `${what}: createdAt`);
  assertDate(conversation.updatedAt, `${what}: updatedAt`);
  assert.ok(conversation.updatedAt.getTime() >= conversation.createdAt.getTime(), `${what}: updatedAt ≥ createdAt`);
}

/** Asserts that `action` fails with a `STORE_INVALID_ARGUMENT` PlugboardError whose message matches. */
function expectInvalid(action: () => unknown, mentions: RegExp, what = ''): Promise<void> {
  return expectStoreError(action, 'STORE_INVALID_ARGUMENT', mentions, what);
}

/** Asserts that `action` fails with `STORE_NOT_FOUND`. */
function expectNotFound(action: () => unknown): Promise<void> {
  return expectStoreError(action, 'STORE_NOT_FOUND', /./);
}
