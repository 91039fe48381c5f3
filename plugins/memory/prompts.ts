/**
 * The prompts memory sends to the model for itself (summaries, titles), and the transcript
 * form of stored messages they quote.
 */
import type { Message } from '../../src/index.ts';

/** How the summary is shown to the model of a chat: a system message after the system prompt. */
export function summaryMessage(text: string): Message {
  return { role: 'system', content: `Summary of the earlier part of this conversation:\n${text}` };
}

/** The instructions of a summary request. */
export const SUMMARY_INSTRUCTIONS = [
  'You keep a running summary of a conversation between a user and an assistant.',
  'Rewrite the summary so that it also covers the new messages.',
  'Keep facts, names, numbers, decisions, the user’s preferences and open questions; drop small talk.',
  'Write plain prose in the language of the conversation, in the third person. Answer with the summary only.',
].join(' ');

/**
 * The user message of a summary request: the previous summary (if any) and the new part of
 * the transcript.
 *
 * @example
 * ```ts
 * summaryRequest(undefined, 'User: I live in Lisbon.\nAssistant: Noted.');
 * ```
 */
export function summaryRequest(previous: string | undefined, transcript: string): string {
  const head = previous === undefined ? 'There is no summary yet.' : `The summary so far:\n${previous}`;
  return `${head}\n\nNew messages:\n${transcript}\n\nThe updated summary:`;
}

/** The instructions of a title request. */
export const TITLE_INSTRUCTIONS =
  'Write a title for this conversation: at most six words, in its language, no quotes, no final punctuation. Answer with the title only.';

const ROLE_NAMES: Readonly<Record<Message['role'], string>> = {
  system: 'System',
  user: 'User',
  assistant: 'Assistant',
  tool: 'Tool',
};

/**
 * One message as a transcript line, its content cut at `maxChars` characters (a pasted
 * document should not crowd out the rest).
 *
 * @example
 * ```ts
 * transcriptLine({ role: 'user', content: 'Hi' }, 1000); // 'User: Hi'
 * ```
 */
export function transcriptLine(message: Message, maxChars: number): string {
  const content = message.content.length > maxChars ? `${message.content.slice(0, maxChars)} […]` : message.content;
  const name = message.role === 'tool' && message.name !== undefined ? ` (${message.name})` : '';
  const calls = (message.toolCalls ?? []).map((call) => `[called ${call.name}(${call.arguments.slice(0, 200)})]`);
  return `${ROLE_NAMES[message.role]}${name}: ${[content, ...calls].filter(Boolean).join(' ')}`;
}
