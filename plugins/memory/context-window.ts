/**
 * Which stored messages go to the model: the most recent ones that fit the token budget after
 * the system prompt, the summary and the new turn. Messages are taken in groups that are never
 * split — an assistant message with tool calls and the tool results that answer it — and
 * contiguously from the newest back: the first group that does not fit ends the window.
 */
import type { Message, StoredMessage } from '../../src/index.ts';
import { type CountTokens, messageTokens, REPLY_PRIMING } from './token-count.ts';

/** What {@link chooseWindow} takes. */
export interface WindowInput {
  /** Sent whatever the budget: the system prompt and the summary message. */
  readonly fixed: readonly Message[];
  /** Stored messages not covered by the summary, before the new turn, oldest first. */
  readonly history: readonly StoredMessage[];
  /** The new turn, sent whatever the budget (the model must see what it is asked). */
  readonly turn: readonly Message[];
  /** The most tokens the whole prompt may take. */
  readonly budget: number;
  readonly count: CountTokens;
}

/** What {@link chooseWindow} chose. */
export interface Window {
  /** The stored messages sent, oldest first. */
  readonly included: readonly StoredMessage[];
  /**
   * The sequence of the newest history message left out (0 when none was): everything up to
   * it is only in the summary, or lost until a summary covers it.
   */
  readonly droppedThrough: number;
  /** The prompt's estimated tokens. */
  readonly tokens: number;
}

/**
 * Chooses the history that fits.
 *
 * @example
 * ```ts
 * const window = chooseWindow({ fixed: system, history, turn, budget: 3000, count });
 * const messages = [...system, ...window.included.map((stored) => stored.message), ...turn];
 * ```
 */
export function chooseWindow(input: WindowInput): Window {
  const { count, history } = input;
  let tokens = REPLY_PRIMING;
  for (const message of [...input.fixed, ...input.turn]) tokens += messageTokens(count, message);
  const groups = groupHistory(history, input.turn[0]);
  let start = history.length;
  for (let index = groups.length - 1; index >= 0; index--) {
    const group = groups[index]!;
    const cost = group.members.reduce((sum, stored) => sum + messageTokens(count, stored.message), 0);
    // The group whose tool results open the new turn goes whatever it costs.
    if (!group.answeredByTurn && (group.orphan || tokens + cost > input.budget)) break;
    tokens += cost;
    start = group.from;
  }
  return {
    included: history.slice(start),
    droppedThrough: start === 0 ? 0 : history[start - 1]!.sequence,
    tokens,
  };
}

interface Group {
  /** Index in the history of its first message. */
  readonly from: number;
  readonly members: readonly StoredMessage[];
  /** Tool results whose call is not in the history (it was summarized): never sent alone. */
  readonly orphan: boolean;
  /** An assistant's tool calls that the new turn's first messages answer. */
  readonly answeredByTurn: boolean;
}

function groupHistory(history: readonly StoredMessage[], firstOfTurn: Message | undefined): Group[] {
  const groups: { from: number; members: StoredMessage[]; orphan: boolean; answeredByTurn: boolean }[] = [];
  for (const [index, stored] of history.entries()) {
    const last = groups.at(-1);
    const joinsCall =
      stored.message.role === 'tool' &&
      last !== undefined &&
      (last.members[0]!.message.toolCalls?.length ?? 0) > 0 &&
      last.members.slice(1).every((member) => member.message.role === 'tool');
    if (joinsCall) last.members.push(stored);
    else groups.push({ from: index, members: [stored], orphan: stored.message.role === 'tool', answeredByTurn: false });
  }
  const last = groups.at(-1);
  if (last !== undefined && firstOfTurn?.role === 'tool' && (last.members[0]!.message.toolCalls?.length ?? 0) > 0) {
    last.answeredByTurn = true;
  }
  return groups;
}
