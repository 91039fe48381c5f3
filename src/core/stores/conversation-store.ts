import { PlugboardError } from '../errors/plugboard-error.ts';
import { formatIssues, type Message, messageSchema } from '../model/message.ts';
import { createServiceRef } from '../services/service-ref.ts';
import { deepFreeze } from '../util/deep-freeze.ts';
import { describeValue, frozenJsonObjectCopy, isPlainObject, type JsonValue } from './json.ts';
import { MemoryConversationStore } from './memory/memory-conversation-store.ts';

/**
 * A rolling summary of the older part of a conversation (conversation memory keeps it
 * instead of resending every message).
 *
 * @example
 * ```ts
 * { text: 'The user is planning a trip to Lisbon in May.', throughSequence: 40, updatedAt: new Date() }
 * ```
 */
export interface ConversationSummary {
  readonly text: string;
  /** The last message sequence the summary covers. */
  readonly throughSequence: number;
  readonly updatedAt: Date;
}

/**
 * A conversation as stored: its header, not its messages.
 *
 * @example
 * ```ts
 * const conversation = await store.create('user:42', { title: 'Trip planning' });
 * conversation.messageCount; // 0
 * ```
 */
export interface Conversation {
  /** A random UUID. */
  readonly id: string;
  /** Who owns it: only this principal sees it. */
  readonly principal: string;
  readonly title: string | undefined;
  readonly createdAt: Date;
  /** Bumped by append, rename and setSummary; never before `createdAt`. */
  readonly updatedAt: Date;
  readonly messageCount: number;
  readonly metadata: Readonly<Record<string, JsonValue>>;
  readonly summary: ConversationSummary | undefined;
}

/**
 * One message of a conversation with its place in it.
 *
 * @example
 * ```ts
 * const [first] = await store.messages('user:42', id);
 * first.sequence; // 1
 * ```
 */
export interface StoredMessage {
  readonly conversationId: string;
  /** 1-based and contiguous within the conversation. */
  readonly sequence: number;
  readonly createdAt: Date;
  /** Equal to the appended message, frozen. */
  readonly message: Message;
}

/**
 * One page of {@link ConversationStore.list}.
 *
 * @example
 * ```ts
 * let page = await store.list(principal);
 * while (page.nextCursor) page = await store.list(principal, { cursor: page.nextCursor });
 * ```
 */
export interface ConversationPage {
  readonly items: readonly Conversation[];
  /** Pass it back as `cursor` for the next page; `undefined` on the last page. */
  readonly nextCursor: string | undefined;
}

/**
 * What {@link ConversationStore.create} takes.
 *
 * @example
 * ```ts
 * { title: 'Trip planning', metadata: { model: 'llama3.2' } }
 * ```
 */
export interface NewConversation {
  /** 1–{@link MAX_TITLE_LENGTH} characters, not blank. */
  readonly title?: string;
  readonly metadata?: Record<string, JsonValue>;
}

/**
 * What {@link ConversationStore.list} takes.
 *
 * @example
 * ```ts
 * { search: 'lisbon', limit: 10 }
 * ```
 */
export interface ConversationListOptions {
  /** Case-insensitive substring of the title or of any message's content; `%` and `_` are literal. */
  readonly search?: string;
  /** 1–{@link MAX_LIST_LIMIT}, default {@link DEFAULT_LIST_LIMIT}. */
  readonly limit?: number;
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string;
}

/**
 * What {@link ConversationStore.messages} takes.
 *
 * @example
 * ```ts
 * { last: 20 } // the 20 most recent messages, oldest first
 * ```
 */
export interface MessageRange {
  /** Only messages with a greater sequence. */
  readonly afterSequence?: number;
  /** Only the most recent `last` of them (still oldest first). */
  readonly last?: number;
}

/**
 * Conversations and their messages, per principal (a user id, an API key's name …): another
 * principal's conversation is invisible (get → undefined, rename → undefined, delete →
 * false, append/messages → `STORE_NOT_FOUND`). Implementations: in memory (the default),
 * later SQLite and PostgreSQL; each must pass `testConversationStoreContract` from
 * `plugboard/testing`. Timestamps are `Date`s. Bad arguments are `STORE_INVALID_ARGUMENT`,
 * backend failures `STORE_FAILED`.
 *
 * @example
 * ```ts
 * const store = call.services.get(conversationStoreRef);
 * const conversation = await store.create(principal, { title: 'Trip planning' });
 * await store.append(principal, conversation.id, [{ role: 'user', content: 'Hi' }]);
 * const recent = await store.messages(principal, conversation.id, { last: 20 });
 * ```
 */
export interface ConversationStore {
  /** A new, empty conversation with a random UUID. */
  create(principal: string, input?: NewConversation): Promise<Conversation>;
  get(principal: string, id: string): Promise<Conversation | undefined>;
  /**
   * The principal's conversations, most recently updated first (ties: greater id first).
   * Paging with `cursor` is stable while nothing changes.
   */
  list(principal: string, options?: ConversationListOptions): Promise<ConversationPage>;
  rename(principal: string, id: string, title: string): Promise<Conversation | undefined>;
  /** Deletes the conversation and its messages; `false` when there was none to delete. */
  delete(principal: string, id: string): Promise<boolean>;
  /**
   * Appends messages (validated with the core message schema), atomically: all or none.
   * Concurrent appends never produce duplicate or missing sequences, and each call's
   * messages get consecutive sequences. An empty batch changes nothing.
   * @throws PlugboardError `STORE_NOT_FOUND` when the principal has no such conversation.
   */
  append(principal: string, id: string, messages: readonly Message[]): Promise<readonly StoredMessage[]>;
  /**
   * Messages, oldest first.
   * @throws PlugboardError `STORE_NOT_FOUND` when the principal has no such conversation.
   */
  messages(principal: string, id: string, options?: MessageRange): Promise<readonly StoredMessage[]>;
  /** Stores the summary (throughSequence 0–messageCount); `undefined` when there is no such conversation. */
  setSummary(
    principal: string,
    id: string,
    summary: { readonly text: string; readonly throughSequence: number },
  ): Promise<Conversation | undefined>;
}

/**
 * The conversation store service. Without a provider, consumers get a private
 * {@link MemoryConversationStore} (lost on restart).
 *
 * @example
 * ```ts
 * metadata: { name: 'conversation-memory', version: '1.0.0', consumes: [conversationStoreRef] },
 * ```
 */
export const conversationStoreRef = createServiceRef<ConversationStore>({
  id: 'plugboard.conversation-store',
  description: 'Conversations and their messages, per principal (in memory unless a plugin provides one)',
  members: ['create', 'get', 'list', 'rename', 'delete', 'append', 'messages', 'setSummary'],
  defaultFactory: () => new MemoryConversationStore(),
});

// Limits every implementation enforces, so that moving between stores brings no surprise.
export const MAX_PRINCIPAL_LENGTH = 256;
export const MAX_CONVERSATION_ID_LENGTH = 256;
export const MAX_TITLE_LENGTH = 500;
export const MAX_SEARCH_LENGTH = 500;
export const DEFAULT_LIST_LIMIT = 20;
export const MAX_LIST_LIMIT = 100;

/**
 * Checks a principal and a conversation id as every implementation must.
 *
 * @example
 * ```ts
 * async get(principal: string, id: string) { assertConversationRef(principal, id); … }
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` for a non-string, empty or too long one.
 */
export function assertConversationRef(principal: unknown, id: unknown): asserts id is string {
  assertPrincipal(principal);
  assertText(id, 'conversation id', MAX_CONVERSATION_ID_LENGTH);
}

/**
 * Checks a principal.
 *
 * @example
 * ```ts
 * assertPrincipal('user:42');
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` for a non-string, empty or too long principal.
 */
export function assertPrincipal(principal: unknown): asserts principal is string {
  assertText(principal, 'principal', MAX_PRINCIPAL_LENGTH);
}

/**
 * Checks a title: 1–{@link MAX_TITLE_LENGTH} characters, not blank.
 *
 * @example
 * ```ts
 * assertTitle('Trip planning');
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` otherwise.
 */
export function assertTitle(title: unknown): asserts title is string {
  assertText(title, 'title', MAX_TITLE_LENGTH);
  if (title.trim() === '') throw invalid('title must not be blank');
}

/**
 * Checks the input of {@link ConversationStore.create}; returns the title and a frozen copy of the metadata.
 *
 * @example
 * ```ts
 * const { title, metadata } = validateNewConversation(input);
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` naming the bad field.
 */
export function validateNewConversation(input: unknown): {
  title: string | undefined;
  metadata: Readonly<Record<string, JsonValue>>;
} {
  const { title, metadata = {} } = optionsObject(input, ['title', 'metadata'], 'input');
  if (title !== undefined) assertTitle(title);
  return { title: title as string | undefined, metadata: frozenJsonObjectCopy(metadata, 'metadata') };
}

/**
 * Checks the options of {@link ConversationStore.list} and fills in the defaults. The cursor
 * is only checked to be a non-empty string: its format is the implementation's, which
 * rejects one it did not make with {@link invalidCursor}.
 *
 * @example
 * ```ts
 * const { search, limit, cursor } = validateListOptions(options);
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` naming the bad option.
 */
export function validateListOptions(options: unknown): {
  search: string | undefined;
  limit: number;
  cursor: string | undefined;
} {
  const { search, limit = DEFAULT_LIST_LIMIT, cursor } = optionsObject(options, ['search', 'limit', 'cursor'], 'list');
  if (search !== undefined && (typeof search !== 'string' || search.length > MAX_SEARCH_LENGTH)) {
    throw invalid(`search must be a string of at most ${MAX_SEARCH_LENGTH} characters, got ${describeValue(search)}`);
  }
  if (cursor !== undefined && (typeof cursor !== 'string' || cursor === '')) throw invalidCursor(cursor);
  return { search, limit: wholeNumber(limit, 'limit', 1, MAX_LIST_LIMIT), cursor };
}

/**
 * The error for a cursor that is not the `nextCursor` of a previous page.
 *
 * @example
 * ```ts
 * const position = decode(cursor) ?? throwError(invalidCursor(cursor));
 * ```
 */
export function invalidCursor(cursor: unknown): PlugboardError {
  return invalid(`cursor must be the nextCursor of a previous page, got ${describeValue(cursor)}`);
}

/**
 * Checks a batch for {@link ConversationStore.append}, before anything is stored: each
 * message against the core message schema, and its metadata for JSON. Returns frozen copies
 * without `undefined` fields (which no database keeps).
 *
 * @example
 * ```ts
 * const batch = validateMessages(messages); // throws before the first write
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` naming the message and field.
 */
export function validateMessages(messages: unknown): readonly Message[] {
  if (!Array.isArray(messages)) throw invalid(`messages must be an array, got ${describeValue(messages)}`);
  return messages.map((message, index) => {
    const parsed = messageSchema.safeParse(message);
    if (!parsed.success) throw invalid(`messages[${index}] is not a valid message: ${formatIssues(parsed.error)}`);
    const copy: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(parsed.data)) {
      if (value !== undefined) copy[key] = value;
    }
    if (parsed.data.metadata !== undefined) {
      copy.metadata = frozenJsonObjectCopy(parsed.data.metadata, `messages[${index}].metadata`);
    }
    return deepFreeze(copy as unknown as Message);
  });
}

/**
 * Checks the options of {@link ConversationStore.messages}.
 *
 * @example
 * ```ts
 * const { afterSequence, last } = validateMessageRange(options);
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` naming the bad option.
 */
export function validateMessageRange(options: unknown): { afterSequence: number; last: number | undefined } {
  const { afterSequence = 0, last } = optionsObject(options, ['afterSequence', 'last'], 'message options');
  return {
    afterSequence: wholeNumber(afterSequence, 'afterSequence', 0),
    last: last === undefined ? undefined : wholeNumber(last, 'last', 1),
  };
}

/**
 * Checks the summary given to {@link ConversationStore.setSummary}; its range against the
 * conversation is checked by {@link assertSummaryInRange}.
 *
 * @example
 * ```ts
 * const { text, throughSequence } = validateSummary(summary);
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` naming the bad field.
 */
export function validateSummary(summary: unknown): { text: string; throughSequence: number } {
  if (summary === undefined) throw invalid('summary must be an object, got undefined');
  const { text, throughSequence } = optionsObject(summary, ['text', 'throughSequence'], 'summary');
  if (typeof text !== 'string') throw invalid(`summary.text must be a string, got ${describeValue(text)}`);
  return { text, throughSequence: wholeNumber(throughSequence, 'summary.throughSequence', 0) };
}

/**
 * Checks that a summary covers only messages that exist.
 *
 * @example
 * ```ts
 * assertSummaryInRange(summary.throughSequence, conversation.messageCount);
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` when `throughSequence` is past the last message.
 */
export function assertSummaryInRange(throughSequence: number, messageCount: number): void {
  if (throughSequence > messageCount) {
    throw invalid(
      `summary.throughSequence is ${throughSequence}, but the conversation has only ${messageCount} messages`,
    );
  }
}

/**
 * The error for a conversation the principal does not have.
 *
 * @example
 * ```ts
 * if (!record) throw conversationNotFound(principal, id);
 * ```
 */
export function conversationNotFound(principal: string, id: string): PlugboardError {
  return new PlugboardError('STORE_NOT_FOUND', `Principal "${principal}" has no conversation "${id}"`);
}

function assertText(value: unknown, what: string, maxLength: number): asserts value is string {
  if (typeof value !== 'string' || value === '') {
    throw invalid(`${what} must be a non-empty string, got ${describeValue(value)}`);
  }
  if (value.length > maxLength) throw invalid(`${what} must be at most ${maxLength} characters, got ${value.length}`);
}

/** `value` as an object with only `known` keys; `{}` for undefined (all options left out). */
function optionsObject(value: unknown, known: readonly string[], what: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw invalid(`${what} must be an object, got ${describeValue(value)}`);
  const unknown = Object.keys(value).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw invalid(`${what} has unknown keys ${unknown.join(', ')} (known: ${known.join(', ')})`);
  return value;
}

function wholeNumber(value: unknown, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw invalid(`${what} must be a whole number ${range}, got ${describeValue(value)}`);
  }
  return value;
}

function invalid(message: string): PlugboardError {
  return new PlugboardError('STORE_INVALID_ARGUMENT', message);
}
