/**
 * A conversation as a file: JSON (what `GET /v1/conversations/:id` answers, indented) or
 * Markdown (a heading, then each message under its role, tool calls as JSON blocks).
 */
import type { Conversation, EndpointReply, StoredMessage } from '../../src/index.ts';
import { fullConversationJson } from './conversation-json.ts';

/** The export formats. */
export const EXPORT_FORMATS = ['json', 'markdown'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const HEADINGS = { system: 'System', user: 'User', assistant: 'Assistant', tool: 'Tool' } as const;

/**
 * The export as a download named after the conversation's id.
 *
 * @example
 * ```ts
 * exportConversation(conversation, messages, 'markdown');
 * // { text: '# Trip planning\n…', contentType: 'text/markdown', filename: 'conversation-4f1c….md' }
 * ```
 */
export function exportConversation(
  conversation: Conversation,
  messages: readonly StoredMessage[],
  format: ExportFormat,
): EndpointReply {
  if (format === 'json') {
    return {
      text: `${JSON.stringify(fullConversationJson(conversation, messages), null, 2)}\n`,
      contentType: 'application/json',
      filename: `conversation-${conversation.id}.json`,
    };
  }
  return {
    text: markdown(conversation, messages),
    contentType: 'text/markdown',
    filename: `conversation-${conversation.id}.md`,
  };
}

function markdown(conversation: Conversation, messages: readonly StoredMessage[]): string {
  const lines = [
    `# ${oneLine(conversation.title ?? 'Untitled conversation')}`,
    '',
    `- Conversation: \`${conversation.id}\``,
    `- Created: ${conversation.createdAt.toISOString()}`,
    `- Updated: ${conversation.updatedAt.toISOString()}`,
    `- Messages: ${conversation.messageCount}`,
  ];
  if (conversation.summary !== undefined) {
    lines.push('', '## Summary of earlier messages', '', conversation.summary.text);
  }
  for (const { message, sequence, createdAt } of messages) {
    const name = message.name === undefined ? '' : ` (${oneLine(message.name)})`;
    lines.push('', `## ${HEADINGS[message.role]}${name}`, '', `<sub>#${sequence} · ${createdAt.toISOString()}</sub>`);
    if (message.content !== '') lines.push('', message.content);
    for (const call of message.toolCalls ?? []) {
      lines.push('', `Tool call \`${oneLine(call.name)}\` (\`${call.id}\`):`, '', fence(call.arguments, 'json'));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** A fenced block longer than any run of backticks in the text, so the text cannot close it. */
function fence(text: string, language: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((match) => match[0].length));
  const marks = '`'.repeat(longest + 1);
  return `${marks}${language}\n${text}\n${marks}`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
