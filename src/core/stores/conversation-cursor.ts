import { invalidCursor } from './conversation-store.ts';

/**
 * Where a page of `ConversationStore.list` ends: the sort key of its last item. Paging by key
 * rather than by offset means a conversation created or bumped meanwhile neither repeats nor
 * hides another. Every implementation uses this format, so a cursor means the same in each.
 *
 * @example
 * ```ts
 * const next = encodeConversationCursor({ updatedAtMs: last.updatedAt.getTime(), id: last.id });
 * ```
 */
export interface ConversationCursor {
  readonly updatedAtMs: number;
  readonly id: string;
}

/**
 * The opaque `nextCursor` text of a position.
 *
 * @example
 * ```ts
 * encodeConversationCursor({ updatedAtMs: 1764800000000, id: '4f1c…' }); // 'WzE3NjQ4…'
 * ```
 */
export function encodeConversationCursor(cursor: ConversationCursor): string {
  return Buffer.from(JSON.stringify([cursor.updatedAtMs, cursor.id])).toString('base64url');
}

/**
 * The position a cursor made by {@link encodeConversationCursor} names.
 *
 * @example
 * ```ts
 * const { updatedAtMs, id } = decodeConversationCursor(options.cursor);
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` for text that is not such a cursor.
 */
export function decodeConversationCursor(text: string): ConversationCursor {
  let position: unknown;
  try {
    position = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor(text);
  }
  if (!Array.isArray(position) || position.length !== 2) throw invalidCursor(text);
  const [updatedAtMs, id] = position as [unknown, unknown];
  if (!Number.isSafeInteger(updatedAtMs) || typeof id !== 'string' || id === '') throw invalidCursor(text);
  return { updatedAtMs: updatedAtMs as number, id };
}
