import type {
  ChatCompletionContentPart,
  ChatCompletionMessageFunctionToolCall,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { Message } from '../../src/index.ts';

/**
 * Plugboard messages as OpenAI chat messages.
 *
 * - A user message with `images` becomes text + `image_url` parts; raw base64 (what Ollama
 *   clients send) is wrapped in a `data:` URL with the type read from its first bytes.
 *   Without images `content` stays a plain string, which every compatible server accepts.
 * - An assistant message keeps its `tool_calls`; its `content` is null when it only called tools.
 *   Its `thinking` is not sent back: OpenAI ignores it and DeepSeek refuses it.
 * - A `tool` message needs the `tool_call_id` of the call it answers. Clients of the Ollama API
 *   send none (and their calls may have empty ids): calls without an id get one, and a tool
 *   message without one answers the oldest open call of the same tool name (else the oldest
 *   open call), so the pairing OpenAI requires holds.
 *
 * @example
 * ```ts
 * toOpenAiMessages([createMessage({ role: 'user', content: 'Hi' })]); // [{ role: 'user', content: 'Hi' }]
 * ```
 */
export function toOpenAiMessages(messages: readonly Message[]): ChatCompletionMessageParam[] {
  const open: { id: string; name: string }[] = [];
  let generated = 0;
  return messages.map((message): ChatCompletionMessageParam => {
    const name = message.name === undefined ? {} : { name: message.name };
    switch (message.role) {
      case 'system':
        return { role: 'system', content: message.content, ...name };
      case 'user':
        return { role: 'user', content: userContent(message), ...name };
      case 'assistant': {
        const toolCalls = (message.toolCalls ?? []).map((call): ChatCompletionMessageFunctionToolCall => {
          const id = call.id === '' ? `call_${++generated}` : call.id;
          open.push({ id, name: call.name });
          return { id, type: 'function', function: { name: call.name, arguments: call.arguments } };
        });
        return {
          role: 'assistant',
          content: message.content === '' && toolCalls.length > 0 ? null : message.content,
          ...name,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        };
      }
      default: {
        const id = answeredCall(open, message) ?? `call_${++generated}`;
        return { role: 'tool', tool_call_id: id, content: message.content };
      }
    }
  });
}

/** The id of the call a tool message answers, removing that call from the open ones. */
function answeredCall(open: { id: string; name: string }[], message: Message): string | undefined {
  let index = -1;
  if (message.toolCallId) {
    index = open.findIndex((call) => call.id === message.toolCallId);
    if (index < 0) return message.toolCallId;
  } else {
    index = open.findIndex((call) => call.name === message.name);
    if (index < 0) index = open.length > 0 ? 0 : -1;
  }
  if (index < 0) return undefined;
  return open.splice(index, 1)[0]!.id;
}

function userContent(message: Message): string | ChatCompletionContentPart[] {
  const images = message.images ?? [];
  if (images.length === 0) return message.content;
  const parts: ChatCompletionContentPart[] = [];
  if (message.content !== '') parts.push({ type: 'text', text: message.content });
  for (const image of images) parts.push({ type: 'image_url', image_url: { url: imageUrl(image) } });
  return parts;
}

/** Magic numbers of the image types vision models take, as the base64 text they start with. */
const BASE64_SIGNATURES: readonly (readonly [string, string])[] = [
  ['iVBORw0KGgo', 'image/png'],
  ['/9j/', 'image/jpeg'],
  ['R0lGOD', 'image/gif'],
  ['UklGR', 'image/webp'],
];

/**
 * An image as OpenAI wants it: `data:` and http(s) URLs as they are, raw base64 as a
 * `data:` URL (PNG when the type cannot be told).
 *
 * @example
 * ```ts
 * imageUrl('iVBORw0KGgoAAA…'); // 'data:image/png;base64,iVBORw0KGgoAAA…'
 * ```
 */
export function imageUrl(image: string): string {
  if (/^(data:|https?:\/\/)/i.test(image)) return image;
  const data = image.replace(/\s+/g, '');
  const type = BASE64_SIGNATURES.find(([prefix]) => data.startsWith(prefix))?.[1] ?? 'image/png';
  return `data:${type};base64,${data}`;
}
