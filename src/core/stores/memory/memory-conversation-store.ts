import { randomUUID } from 'node:crypto';
import type { Message } from '../../model/message.ts';
import { type ConversationCursor, decodeConversationCursor, encodeConversationCursor } from '../conversation-cursor.ts';
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
  type MessageRange,
  type NewConversation,
  type StoredMessage,
  validateListOptions,
  validateMessageRange,
  validateMessages,
  validateNewConversation,
  validateSummary,
} from '../conversation-store.ts';
import type { JsonValue } from '../json.ts';

/** A message as kept: its time as a number, so no caller can change a stored Date. */
interface MessageRecord {
  readonly sequence: number;
  readonly createdAtMs: number;
  readonly message: Message;
}

interface ConversationRecord {
  readonly id: string;
  readonly principal: string;
  title: string | undefined;
  readonly createdAtMs: number;
  updatedAtMs: number;
  readonly metadata: Readonly<Record<string, JsonValue>>;
  summary: { readonly text: string; readonly throughSequence: number; readonly updatedAtMs: number } | undefined;
  /** `messages[i].sequence === i + 1`: sequences are the positions, so they cannot have gaps. */
  readonly messages: MessageRecord[];
}

/**
 * The in-memory {@link ConversationStore}: the default when no plugin provides one. Private
 * to the process and lost on restart. Every method validates its arguments and then changes
 * state without awaiting, so each call is atomic (JavaScript runs one call at a time).
 * `list` scans the principal's conversations (and, with `search`, their messages): fine for
 * the thousands a development server holds.
 *
 * @example
 * ```ts
 * const store = new MemoryConversationStore();
 * const { id } = await store.create('user:42', { title: 'Trip planning' });
 * await store.append('user:42', id, [{ role: 'user', content: 'Flights to Lisbon?' }]);
 * ```
 */
export class MemoryConversationStore implements ConversationStore {
  readonly #conversations = new Map<string, ConversationRecord>();
  readonly #idsByPrincipal = new Map<string, Set<string>>();

  async create(principal: string, input?: NewConversation): Promise<Conversation> {
    assertPrincipal(principal);
    const { title, metadata } = validateNewConversation(input);
    const now = Date.now();
    const record: ConversationRecord = {
      id: randomUUID(),
      principal,
      title,
      createdAtMs: now,
      updatedAtMs: now,
      metadata,
      summary: undefined,
      messages: [],
    };
    this.#conversations.set(record.id, record);
    const ids = this.#idsByPrincipal.get(principal) ?? new Set<string>();
    ids.add(record.id);
    this.#idsByPrincipal.set(principal, ids);
    return toConversation(record);
  }

  async get(principal: string, id: string): Promise<Conversation | undefined> {
    assertConversationRef(principal, id);
    const record = this.#find(principal, id);
    return record === undefined ? undefined : toConversation(record);
  }

  async list(principal: string, options?: ConversationListOptions): Promise<ConversationPage> {
    assertPrincipal(principal);
    const { search, limit, cursor: cursorText } = validateListOptions(options);
    const cursor = cursorText === undefined ? undefined : decodeConversationCursor(cursorText);
    const needle = search?.toLowerCase();
    const matching: ConversationRecord[] = [];
    for (const id of this.#idsByPrincipal.get(principal) ?? []) {
      const record = this.#conversations.get(id)!;
      if (cursor !== undefined && !isAfterCursor(record, cursor)) continue;
      if (needle !== undefined && !mentions(record, needle)) continue;
      matching.push(record);
    }
    matching.sort(mostRecentFirst);
    const items = matching.slice(0, limit);
    const last = items.at(-1);
    const nextCursor =
      matching.length > limit && last !== undefined
        ? encodeConversationCursor({ updatedAtMs: last.updatedAtMs, id: last.id })
        : undefined;
    return Object.freeze({ items: Object.freeze(items.map(toConversation)), nextCursor });
  }

  async rename(principal: string, id: string, title: string): Promise<Conversation | undefined> {
    assertConversationRef(principal, id);
    assertTitle(title);
    const record = this.#find(principal, id);
    if (record === undefined) return undefined;
    record.title = title;
    touch(record);
    return toConversation(record);
  }

  async delete(principal: string, id: string): Promise<boolean> {
    assertConversationRef(principal, id);
    if (this.#find(principal, id) === undefined) return false;
    this.#conversations.delete(id);
    const ids = this.#idsByPrincipal.get(principal)!;
    ids.delete(id);
    if (ids.size === 0) this.#idsByPrincipal.delete(principal);
    return true;
  }

  async append(principal: string, id: string, messages: readonly Message[]): Promise<readonly StoredMessage[]> {
    assertConversationRef(principal, id);
    const batch = validateMessages(messages); // all checked before the first one is stored
    const record = this.#find(principal, id);
    if (record === undefined) throw conversationNotFound(principal, id);
    if (batch.length === 0) return Object.freeze([]);
    const now = Date.now();
    const added = batch.map((message, index) => ({
      sequence: record.messages.length + index + 1,
      createdAtMs: now,
      message,
    }));
    record.messages.push(...added);
    touch(record);
    return Object.freeze(added.map((message) => toStoredMessage(record.id, message)));
  }

  async messages(principal: string, id: string, options?: MessageRange): Promise<readonly StoredMessage[]> {
    assertConversationRef(principal, id);
    const { afterSequence, last } = validateMessageRange(options);
    const record = this.#find(principal, id);
    if (record === undefined) throw conversationNotFound(principal, id);
    const after = record.messages.slice(afterSequence); // sequence n sits at index n - 1
    const selected = last === undefined ? after : after.slice(-last);
    return Object.freeze(selected.map((message) => toStoredMessage(record.id, message)));
  }

  async setSummary(
    principal: string,
    id: string,
    summary: { readonly text: string; readonly throughSequence: number },
  ): Promise<Conversation | undefined> {
    assertConversationRef(principal, id);
    const { text, throughSequence } = validateSummary(summary);
    const record = this.#find(principal, id);
    if (record === undefined) return undefined;
    assertSummaryInRange(throughSequence, record.messages.length);
    record.summary = { text, throughSequence, updatedAtMs: touch(record) };
    return toConversation(record);
  }

  /** Drops every conversation. */
  async close(): Promise<void> {
    this.#conversations.clear();
    this.#idsByPrincipal.clear();
  }

  /** The record, only when it belongs to `principal`: another's is as good as absent. */
  #find(principal: string, id: string): ConversationRecord | undefined {
    const record = this.#conversations.get(id);
    return record?.principal === principal ? record : undefined;
  }
}

/** Bumps `updatedAt`, never backwards (the wall clock may be set back); returns it. */
function touch(record: ConversationRecord): number {
  record.updatedAtMs = Math.max(Date.now(), record.updatedAtMs);
  return record.updatedAtMs;
}

/** The list order: most recently updated first, then greater id first. */
function mostRecentFirst(a: ConversationRecord, b: ConversationRecord): number {
  if (a.updatedAtMs !== b.updatedAtMs) return b.updatedAtMs - a.updatedAtMs;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** True when `record` sorts after the cursor's position, i.e. belongs to a later page. */
function isAfterCursor(record: ConversationRecord, cursor: ConversationCursor): boolean {
  return (
    record.updatedAtMs < cursor.updatedAtMs || (record.updatedAtMs === cursor.updatedAtMs && record.id < cursor.id)
  );
}

function mentions(record: ConversationRecord, needle: string): boolean {
  if (record.title?.toLowerCase().includes(needle)) return true;
  return record.messages.some(({ message }) => message.content.toLowerCase().includes(needle));
}

/** A fresh, frozen view: new Date objects each time, so callers cannot change stored times. */
function toConversation(record: ConversationRecord): Conversation {
  const summary = record.summary;
  return Object.freeze({
    id: record.id,
    principal: record.principal,
    title: record.title,
    createdAt: new Date(record.createdAtMs),
    updatedAt: new Date(record.updatedAtMs),
    messageCount: record.messages.length,
    metadata: record.metadata,
    summary:
      summary === undefined
        ? undefined
        : Object.freeze({
            text: summary.text,
            throughSequence: summary.throughSequence,
            updatedAt: new Date(summary.updatedAtMs),
          }),
  });
}

function toStoredMessage(conversationId: string, record: MessageRecord): StoredMessage {
  return Object.freeze({
    conversationId,
    sequence: record.sequence,
    createdAt: new Date(record.createdAtMs),
    message: record.message,
  });
}
