import { z } from 'zod';
import { PlugboardError } from '../errors/plugboard-error.ts';
import { deepFreeze } from '../util/deep-freeze.ts';

/** Who wrote a message. */
export type Role = 'system' | 'user' | 'assistant' | 'tool';

/** A tool call the model asked for. `arguments` is the JSON text the model produced. */
export interface ToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

/**
 * One chat message. Immutable: build changed copies with {@link updateMessage} or {@link withContent}.
 *
 * `images` hold base64 data, `data:` URLs or http(s) URLs.
 */
export interface Message {
  readonly role: Role;
  readonly content: string;
  readonly images?: readonly string[];
  readonly toolCalls?: readonly ToolCall[];
  /** For `tool` messages: the id of the call this message answers. */
  readonly toolCallId?: string;
  /** Optional author name (OpenAI `name`), or the tool's name for `tool` messages. */
  readonly name?: string;
  /** Reasoning text from models that think before answering. */
  readonly thinking?: string;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** The runtime schema of a ToolCall. */
export const toolCallSchema = z.strictObject({
  id: z.string(),
  name: z.string().min(1),
  arguments: z.string(),
});

/** The runtime schema of a Message; strict, so a misspelt key is reported rather than dropped. */
export const messageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string(),
  images: z.array(z.string()).optional(),
  toolCalls: z.array(toolCallSchema).optional(),
  toolCallId: z.string().optional(),
  name: z.string().optional(),
  thinking: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

/** Input accepted by {@link createMessage}. */
export type MessageInput = z.input<typeof messageSchema>;

/**
 * Validates and freezes a message.
 *
 * @example
 * ```ts
 * const question = createMessage({ role: 'user', content: 'What is a GGUF file?' });
 * ```
 * @throws PlugboardError `REQUEST_INVALID` naming each invalid field.
 */
export function createMessage(input: MessageInput): Message {
  const parsed = messageSchema.safeParse(input);
  if (!parsed.success) {
    throw new PlugboardError('REQUEST_INVALID', `Invalid message: ${formatIssues(parsed.error)}`, {
      details: { issues: parsed.error.issues },
    });
  }
  return deepFreeze(parsed.data as Message);
}

/**
 * A copy of `message` with `patch` applied.
 *
 * @example
 * ```ts
 * const shouted = updateMessage(message, { content: message.content.toUpperCase() });
 * ```
 */
export function updateMessage(message: Message, patch: Partial<Message>): Message {
  return createMessage({ ...message, ...patch } as MessageInput);
}

/**
 * A copy of `message` with new text content: the most common change a processor makes.
 *
 * @example
 * ```ts
 * processMessage: (message) => withContent(message, message.content.replaceAll('darn', '****')),
 * ```
 */
export function withContent(message: Message, content: string): Message {
  if (content === message.content) return message;
  return deepFreeze({ ...message, content });
}

/** Formats zod issues as `path: message; …` for error messages. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
