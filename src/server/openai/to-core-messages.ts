import type { MessageInput } from '../../core/model/message.ts';
import type { OpenAiMessage } from './message-schema.ts';

/**
 * OpenAI request messages as Plugboard messages.
 *
 * - `developer` is OpenAI's newer name for `system`; Plugboard has one system role.
 * - Text parts are joined with a newline: backends take one string per message, and a
 *   newline keeps separately written parts from running into each other.
 * - `image_url` parts become `images` (their URL as given: `data:` or http(s)).
 * - Assistant `tool_calls` become `toolCalls`; a `tool` message gets the name of the call it
 *   answers (looked up by id), which backends such as Ollama want and OpenAI leaves out.
 * - An assistant's echoed `reasoning_content` becomes `thinking`.
 *
 * @example
 * ```ts
 * toCoreMessages([{ role: 'developer', content: 'Be brief.' }]); // [{ role: 'system', content: 'Be brief.' }]
 * ```
 */
export function toCoreMessages(messages: readonly OpenAiMessage[]): MessageInput[] {
  const toolNames = new Map<string, string>();
  return messages.map((message): MessageInput => {
    const name = message.role !== 'tool' && message.name != null ? { name: message.name } : {};
    switch (message.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: joinText(message.content), ...name };
      case 'user': {
        const images = message.content.flatMap((part) => (part.type === 'image_url' ? [part.image_url.url] : []));
        return {
          role: 'user',
          content: joinText(message.content),
          ...name,
          ...(images.length > 0 ? { images } : {}),
        };
      }
      case 'assistant': {
        const toolCalls = (message.tool_calls ?? []).map((call) => {
          toolNames.set(call.id, call.function.name);
          return { id: call.id, name: call.function.name, arguments: call.function.arguments };
        });
        return {
          role: 'assistant',
          content: joinText(message.content ?? []),
          ...name,
          ...(toolCalls.length > 0 ? { toolCalls } : {}),
          ...(message.reasoning_content ? { thinking: message.reasoning_content } : {}),
        };
      }
      default: {
        // `tool`: the only role left.
        const toolName = toolNames.get(message.tool_call_id);
        return {
          role: 'tool',
          content: joinText(message.content),
          toolCallId: message.tool_call_id,
          ...(toolName === undefined ? {} : { name: toolName }),
        };
      }
    }
  });
}

type Part = { readonly type: string; readonly text?: string; readonly refusal?: string };

function joinText(parts: readonly Part[]): string {
  const texts: string[] = [];
  for (const part of parts) {
    if (part.type === 'text' && part.text !== undefined) texts.push(part.text);
    else if (part.type === 'refusal' && part.refusal !== undefined) texts.push(part.refusal);
  }
  return texts.join('\n');
}
