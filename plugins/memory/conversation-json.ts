/**
 * Conversations and messages as the conversation API answers them: snake_case field names
 * like the OpenAI API's, dates as ISO 8601 strings, `null` for what is not set.
 */
import type { Conversation, JsonObject, JsonValue, StoredMessage } from '../../src/index.ts';

/**
 * A conversation's header.
 *
 * @example
 * ```ts
 * conversationJson(conversation);
 * // { id, object: 'conversation', title: 'Trip planning', created_at: '2025-…Z', updated_at, message_count: 4, metadata: {}, summary: null }
 * ```
 */
export function conversationJson(conversation: Conversation): JsonObject {
  const summary = conversation.summary;
  return {
    id: conversation.id,
    object: 'conversation',
    title: conversation.title ?? null,
    created_at: conversation.createdAt.toISOString(),
    updated_at: conversation.updatedAt.toISOString(),
    message_count: conversation.messageCount,
    metadata: conversation.metadata as JsonObject,
    summary:
      summary === undefined
        ? null
        : {
            text: summary.text,
            through_sequence: summary.throughSequence,
            updated_at: summary.updatedAt.toISOString(),
          },
  };
}

/**
 * One stored message. Tool calls are in the OpenAI shape (`{ id, type: 'function', function:
 * { name, arguments } }`); fields a message does not have are left out.
 *
 * @example
 * ```ts
 * messageJson(stored); // { sequence: 1, created_at: '2025-…Z', role: 'user', content: 'Hi' }
 * ```
 */
export function messageJson(stored: StoredMessage): JsonObject {
  const { message } = stored;
  const json: Record<string, JsonValue> = {
    sequence: stored.sequence,
    created_at: stored.createdAt.toISOString(),
    role: message.role,
    content: message.content,
  };
  if (message.name !== undefined) json.name = message.name;
  if (message.toolCalls?.length) {
    json.tool_calls = message.toolCalls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  if (message.toolCallId !== undefined) json.tool_call_id = message.toolCallId;
  if (message.thinking !== undefined) json.thinking = message.thinking;
  if (message.images?.length) json.images = [...message.images];
  return json;
}

/**
 * A conversation with its messages: what `GET /v1/conversations/:id` and the JSON export answer.
 *
 * @example
 * ```ts
 * fullConversationJson(conversation, messages); // { ...header, messages: [...] }
 * ```
 */
export function fullConversationJson(conversation: Conversation, messages: readonly StoredMessage[]): JsonObject {
  return { ...conversationJson(conversation), messages: messages.map(messageJson) };
}
