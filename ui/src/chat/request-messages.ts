import type { ChatMessage } from './chat-types.ts';
import { splitThinking } from './think-split.ts';

/** A message of an OpenAI chat completion request. */
export type OpenAiMessage =
  | { readonly role: 'user'; readonly content: string | readonly UserContentPart[] }
  | { readonly role: 'assistant'; readonly content: string };

export type UserContentPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image_url'; readonly image_url: { readonly url: string } };

/**
 * The UI's messages as an OpenAI request sends them: a user message with images becomes
 * content parts (`text` then one `image_url` per image, as data URLs); an assistant message
 * goes back without its thinking (models are trained to see their earlier answers without
 * it), and only when it holds an answer: a failed reply holds none, and a reply that only
 * called tools is left out because this page runs no tools of its own (an assistant message
 * with tool calls and no tool results after it is refused by OpenAI-style servers).
 *
 * @example
 * ```ts
 * toOpenAiMessages([{ id: 'a', role: 'user', content: 'What is this?', images: ['data:image/png;base64,…'] }]);
 * // [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'data:…' } }] }]
 * ```
 */
export function toOpenAiMessages(messages: readonly ChatMessage[]): OpenAiMessage[] {
  const out: OpenAiMessage[] = [];
  for (const message of messages) {
    if (message.role === 'user') {
      const images = message.images ?? [];
      out.push(
        images.length === 0
          ? { role: 'user', content: message.content }
          : {
              role: 'user',
              content: [
                ...(message.content === '' ? [] : [{ type: 'text' as const, text: message.content }]),
                ...images.map((url) => ({ type: 'image_url' as const, image_url: { url } })),
              ],
            },
      );
      continue;
    }
    if (message.status === 'failed' || message.status === 'streaming') continue;
    const answer = splitThinking(message.content).answer;
    if (answer.trim() !== '') out.push({ role: 'assistant', content: answer });
  }
  return out;
}
