/**
 * What of a request is new to its conversation. Clients of a conversation send only the new
 * message; some re-send the whole history anyway (they were written for stateless APIs). The
 * rule, also in the README: the longest run of the request's non-system messages, from its
 * first one and not including its last one, that equals the same number of most recent stored
 * messages is history the client re-sent — it is not stored again.
 */
import type { Message, StoredMessage } from '../../src/index.ts';

/** A request's messages, split. */
export interface RequestParts {
  /** The request's system messages, in order: the system prompt, sent first and never stored. */
  readonly system: readonly Message[];
  /** The request's other messages, in order. */
  readonly turn: readonly Message[];
}

/**
 * Splits a request into its system prompt and the rest.
 *
 * @example
 * ```ts
 * splitRequest([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }]);
 * // { system: [the system message], turn: [the user message] }
 * ```
 */
export function splitRequest(messages: readonly Message[]): RequestParts {
  const system: Message[] = [];
  const turn: Message[] = [];
  for (const message of messages) (message.role === 'system' ? system : turn).push(message);
  return { system, turn };
}

/**
 * How many of `turn`'s first messages the client re-sent from the stored conversation (0 when
 * none). `recent` is the conversation's most recent stored messages (oldest first), and
 * `messageCount` how many it has in all: when the re-sent history is longer than `recent`,
 * its last `recent.length` messages must equal `recent` and the conversation must be at
 * least that long. The last message of `turn` is always new.
 *
 * @example
 * ```ts
 * // stored: [u1, a1]; the client sends [u1, a1, u2]
 * resentHistoryLength([u1, a1, u2], [u1, a1], 2); // 2: only u2 is new
 * ```
 */
export function resentHistoryLength(
  turn: readonly Message[],
  recent: readonly StoredMessage[],
  messageCount: number,
): number {
  if (recent.length === 0) return 0;
  for (let length = Math.min(turn.length - 1, messageCount); length > 0; length--) {
    const compared = Math.min(length, recent.length);
    let equal = true;
    for (let index = 0; index < compared && equal; index++) {
      const sent = turn[length - compared + index]!;
      const stored = recent[recent.length - compared + index]!.message;
      equal = sameMessage(sent, stored);
    }
    if (equal) return length;
  }
  return 0;
}

/**
 * Whether a message a client sent is one stored: the same role, content, tool call id and
 * tool calls (name and arguments, compared as JSON so that `{"a": 1}` and `{"a":1}` agree: an
 * Ollama client sends arguments as an object). Reasoning, images and metadata are not
 * compared: clients drop or re-encode them.
 */
export function sameMessage(sent: Message, stored: Message): boolean {
  if (sent.role !== stored.role || sent.content !== stored.content) return false;
  if ((sent.toolCallId ?? '') !== (stored.toolCallId ?? '')) return false;
  const sentCalls = sent.toolCalls ?? [];
  const storedCalls = stored.toolCalls ?? [];
  if (sentCalls.length !== storedCalls.length) return false;
  return sentCalls.every(
    (call, index) =>
      call.name === storedCalls[index]!.name &&
      canonicalArguments(call.arguments) === canonicalArguments(storedCalls[index]!.arguments),
  );
}

function canonicalArguments(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
}
