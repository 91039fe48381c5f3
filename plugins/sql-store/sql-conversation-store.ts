/**
 * The core's ConversationStore (src/core/stores/conversation-store.ts) in SQLite or PostgreSQL,
 * one implementation for both through kysely: it passes the same contract suite as the
 * in-memory store, with the same argument checks (the core's validators).
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { deepFreeze } from '../../src/core/util/deep-freeze.ts';
import {
  assertConversationRef,
  assertPrincipal,
  assertSummaryInRange,
  assertTitle,
  type Conversation,
  type ConversationListOptions,
  type ConversationPage,
  type ConversationStore,
  conversationNotFound,
  decodeConversationCursor,
  encodeConversationCursor,
  type JsonValue,
  type Message,
  type MessageRange,
  type NewConversation,
  type StoredMessage,
  validateListOptions,
  validateMessageRange,
  validateMessages,
  validateNewConversation,
  validateSummary,
} from '../../src/index.ts';
import {
  containsIgnoringCase,
  forUpdate,
  type SqlDatabase,
  table,
  timestamp,
  toDate,
  toNumber,
} from './sql-database.ts';
import { guard } from './store-failure.ts';

/** A conversations row as either driver returns it (times: ISO text from SQLite, Date from pg). */
interface ConversationRow {
  readonly id: string;
  readonly principal: string;
  readonly title: string | null;
  readonly created_at: Date | string;
  readonly updated_at: Date | string;
  readonly message_count: number | string;
  readonly metadata: string;
  readonly summary_text: string | null;
  readonly summary_through: number | string | null;
  readonly summary_updated_at: Date | string | null;
}

interface MessageRow {
  readonly sequence: number | string;
  readonly created_at: Date | string;
  readonly message: string;
}

/** Rows per multi-row INSERT: far below both databases' bound-parameter limits. */
const INSERT_CHUNK = 200;

/**
 * Conversations in SQL. Appends are one transaction each, whose first statement bumps the
 * conversation's `message_count` (`UPDATE … RETURNING`): that row lock (PostgreSQL) or write
 * lock (SQLite) serialises concurrent appends, so their sequences never repeat or skip, and the
 * commit (WAL with `synchronous = FULL` on SQLite) puts them on disk before the call returns.
 *
 * @example
 * ```ts
 * const store = new SqlConversationStore(database);
 * const { id } = await store.create('user:42', { title: 'Trip planning' });
 * await store.append('user:42', id, [{ role: 'user', content: 'Flights to Lisbon?' }]);
 * ```
 */
export class SqlConversationStore implements ConversationStore {
  readonly #database: SqlDatabase;
  readonly #conversations;
  readonly #messages;

  constructor(database: SqlDatabase) {
    this.#database = database;
    this.#conversations = table(database, 'conversations');
    this.#messages = table(database, 'messages');
  }

  async create(principal: string, input?: NewConversation): Promise<Conversation> {
    assertPrincipal(principal);
    const { title, metadata } = validateNewConversation(input);
    const now = Date.now();
    const id = randomUUID();
    const at = timestamp(this.#database, now);
    await guard(this.#database, 'create', () =>
      sql`insert into ${this.#conversations} (id, principal, title, created_at, updated_at, message_count, metadata)
        values (${id}, ${principal}, ${title ?? null}, ${at}, ${at}, 0, ${JSON.stringify(metadata)})`.execute(
        this.#database.db,
      ),
    );
    const created = new Date(now);
    return Object.freeze({
      id,
      principal,
      title,
      createdAt: created,
      updatedAt: new Date(now),
      messageCount: 0,
      metadata,
      summary: undefined,
    });
  }

  async get(principal: string, id: string): Promise<Conversation | undefined> {
    assertConversationRef(principal, id);
    const { rows } = await guard(this.#database, 'get', () =>
      sql<ConversationRow>`select * from ${this.#conversations} where principal = ${principal} and id = ${id}`.execute(
        this.#database.db,
      ),
    );
    return rows[0] === undefined ? undefined : toConversation(rows[0]);
  }

  async list(principal: string, options?: ConversationListOptions): Promise<ConversationPage> {
    assertPrincipal(principal);
    const { search, limit, cursor: cursorText } = validateListOptions(options);
    const cursor = cursorText === undefined ? undefined : decodeConversationCursor(cursorText);
    const conditions = [sql`c.principal = ${principal}`];
    if (cursor !== undefined) {
      const at = timestamp(this.#database, cursor.updatedAtMs);
      conditions.push(sql`(c.updated_at < ${at} or (c.updated_at = ${at} and c.id < ${cursor.id}))`);
    }
    if (search !== undefined && search !== '') {
      const inTitle = containsIgnoringCase(this.#database, sql.ref('c.title'), search);
      const inMessage = containsIgnoringCase(this.#database, sql.ref('m.content'), search);
      conditions.push(
        sql`(${inTitle} or exists (select 1 from ${this.#messages} as m where m.conversation_id = c.id and ${inMessage}))`,
      );
    }
    const { rows } = await guard(this.#database, 'list', () =>
      sql<ConversationRow>`select c.* from ${this.#conversations} as c where ${sql.join(conditions, sql` and `)}
        order by c.updated_at desc, c.id desc limit ${limit + 1}`.execute(this.#database.db),
    );
    const items = rows.slice(0, limit).map(toConversation);
    const last = items.at(-1);
    const nextCursor =
      rows.length > limit && last !== undefined
        ? encodeConversationCursor({ updatedAtMs: last.updatedAt.getTime(), id: last.id })
        : undefined;
    return Object.freeze({ items: Object.freeze(items), nextCursor });
  }

  async rename(principal: string, id: string, title: string): Promise<Conversation | undefined> {
    assertConversationRef(principal, id);
    assertTitle(title);
    const { rows } = await guard(this.#database, 'rename', () =>
      sql<ConversationRow>`update ${this.#conversations} set title = ${title}, ${this.#touch(Date.now())}
        where principal = ${principal} and id = ${id} returning *`.execute(this.#database.db),
    );
    return rows[0] === undefined ? undefined : toConversation(rows[0]);
  }

  async delete(principal: string, id: string): Promise<boolean> {
    assertConversationRef(principal, id);
    return guard(this.#database, 'delete', () =>
      this.#database.db.transaction().execute(async (transaction) => {
        const { rows } = await sql<{ id: string }>`delete from ${this.#conversations}
          where principal = ${principal} and id = ${id} returning id`.execute(transaction);
        if (rows.length === 0) return false;
        // PostgreSQL cascades; a shared SQLite connection may have foreign keys off.
        await sql`delete from ${this.#messages} where conversation_id = ${id}`.execute(transaction);
        return true;
      }),
    );
  }

  async append(principal: string, id: string, messages: readonly Message[]): Promise<readonly StoredMessage[]> {
    assertConversationRef(principal, id);
    const batch = validateMessages(messages); // all checked before the first write
    if (batch.length === 0) {
      if ((await this.get(principal, id)) === undefined) throw conversationNotFound(principal, id);
      return Object.freeze([]);
    }
    const now = Date.now();
    return guard(this.#database, 'append', () =>
      this.#database.db.transaction().execute(async (transaction) => {
        // First statement: takes the conversation's row (or SQLite's write) lock until commit.
        const { rows } = await sql<{ message_count: number | string }>`update ${this.#conversations}
          set message_count = message_count + ${batch.length}, ${this.#touch(now)}
          where principal = ${principal} and id = ${id} returning message_count`.execute(transaction);
        if (rows[0] === undefined) throw conversationNotFound(principal, id);
        const first = toNumber(rows[0].message_count) - batch.length + 1;
        const at = timestamp(this.#database, now);
        const stored = batch.map((message, index) => ({ sequence: first + index, message }));
        for (let start = 0; start < stored.length; start += INSERT_CHUNK) {
          const values = stored
            .slice(start, start + INSERT_CHUNK)
            .map(
              ({ sequence, message }) =>
                sql`(${id}, ${sequence}, ${at}, ${message.content}, ${JSON.stringify(message)})`,
            );
          await sql`insert into ${this.#messages} (conversation_id, sequence, created_at, content, message)
            values ${sql.join(values)}`.execute(transaction);
        }
        return Object.freeze(
          stored.map(({ sequence, message }) =>
            Object.freeze({ conversationId: id, sequence, createdAt: new Date(now), message }),
          ),
        );
      }),
    );
  }

  async messages(principal: string, id: string, options?: MessageRange): Promise<readonly StoredMessage[]> {
    assertConversationRef(principal, id);
    const { afterSequence, last } = validateMessageRange(options);
    if ((await this.get(principal, id)) === undefined) throw conversationNotFound(principal, id);
    const { rows } = await guard(this.#database, 'messages', () => {
      const base = sql`select sequence, created_at, message from ${this.#messages}
        where conversation_id = ${id} and sequence > ${afterSequence}`;
      const query =
        last === undefined
          ? sql<MessageRow>`${base} order by sequence`
          : sql<MessageRow>`select * from (${base} order by sequence desc limit ${last}) as recent order by sequence`;
      return query.execute(this.#database.db);
    });
    return Object.freeze(
      rows.map((row) =>
        Object.freeze({
          conversationId: id,
          sequence: toNumber(row.sequence),
          createdAt: toDate(row.created_at),
          message: deepFreeze(JSON.parse(row.message) as Message),
        }),
      ),
    );
  }

  async setSummary(
    principal: string,
    id: string,
    summary: { readonly text: string; readonly throughSequence: number },
  ): Promise<Conversation | undefined> {
    assertConversationRef(principal, id);
    const { text, throughSequence } = validateSummary(summary);
    const now = Date.now();
    return guard(this.#database, 'setSummary', () =>
      this.#database.db.transaction().execute(async (transaction) => {
        const { rows } = await sql<{ message_count: number | string; updated_at: Date | string }>`
          select message_count, updated_at from ${this.#conversations}
          where principal = ${principal} and id = ${id}${forUpdate(this.#database)}`.execute(transaction);
        if (rows[0] === undefined) return undefined;
        assertSummaryInRange(throughSequence, toNumber(rows[0].message_count));
        // The summary's time is the conversation's new updated_at (never behind the old one).
        const at = timestamp(this.#database, Math.max(now, toDate(rows[0].updated_at).getTime()));
        const updated = await sql<ConversationRow>`update ${this.#conversations}
          set summary_text = ${text}, summary_through = ${throughSequence}, summary_updated_at = ${at}, updated_at = ${at}
          where id = ${id} returning *`.execute(transaction);
        return toConversation(updated.rows[0]!);
      }),
    );
  }

  /** `updated_at = now`, never backwards (the wall clock may be set back). */
  #touch(now: number) {
    const at = timestamp(this.#database, now);
    return sql`updated_at = case when updated_at > ${at} then updated_at else ${at} end`;
  }
}

function toConversation(row: ConversationRow): Conversation {
  const summary =
    row.summary_text === null || row.summary_updated_at === null
      ? undefined
      : Object.freeze({
          text: row.summary_text,
          throughSequence: toNumber(row.summary_through),
          updatedAt: toDate(row.summary_updated_at),
        });
  return Object.freeze({
    id: row.id,
    principal: row.principal,
    title: row.title ?? undefined,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    messageCount: toNumber(row.message_count),
    metadata: deepFreeze(JSON.parse(row.metadata) as Record<string, JsonValue>),
    summary,
  });
}
