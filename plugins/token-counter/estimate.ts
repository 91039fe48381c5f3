/**
 * Estimates of a request's prompt and a reply's completion tokens from their text, for
 * backends that report no counts, and for the per-request limit (checked before any backend
 * is asked).
 */
import type { ChatContext, Message } from '../../src/index.ts';
import type { TextTokenizer } from './tokenizer.ts';

/**
 * Tokens a chat template adds around each message (role and separators). 3 is OpenAI's figure
 * for its chat format (openai-cookbook, "How to count tokens with tiktoken"); other models'
 * templates add 3–6, so it is an estimate too.
 */
export const MESSAGE_OVERHEAD = 3;

/** Tokens that open the reply (`<|start|>assistant<|message|>`), counted once per chat prompt. */
export const REPLY_PRIMING = 3;

/**
 * The estimated prompt of a request: each message's text (content, author name, tool calls),
 * the overhead per message, the tool definitions (sent to the model as JSON), and the reply's
 * opening. For embeddings, the inputs only (no template). Images are not counted.
 *
 * @example
 * ```ts
 * promptEstimate(tokenizer, context); // 12 for "Hello, world!" with o200k_base
 * ```
 */
export function promptEstimate(tokenizer: TextTokenizer, context: ChatContext): number {
  if (context.operation === 'embeddings') {
    return context.messages.reduce((sum, message) => sum + tokenizer.count(message.content), 0);
  }
  let total = REPLY_PRIMING;
  for (const message of context.messages) {
    total += MESSAGE_OVERHEAD + tokenizer.count(message.content);
    if (message.name !== undefined) total += tokenizer.count(message.name);
    total += toolCallTokens(tokenizer, message);
  }
  const tools = context.options.tools;
  if (tools !== undefined && tools.length > 0) total += tokenizer.count(JSON.stringify(tools));
  return total;
}

/**
 * The estimated completion of a reply: its text, its reasoning (thinking models are billed for
 * it) and its tool calls.
 *
 * @example
 * ```ts
 * completionEstimate(tokenizer, response.message);
 * ```
 */
export function completionEstimate(tokenizer: TextTokenizer, message: Message): number {
  return (
    tokenizer.count(message.content) +
    (message.thinking === undefined ? 0 : tokenizer.count(message.thinking)) +
    toolCallTokens(tokenizer, message)
  );
}

function toolCallTokens(tokenizer: TextTokenizer, message: Message): number {
  let total = 0;
  for (const call of message.toolCalls ?? []) total += tokenizer.count(call.name) + tokenizer.count(call.arguments);
  return total;
}
