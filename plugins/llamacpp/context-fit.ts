/**
 * A conversation cut to fit a model's context, oldest turns first. LlamaChat's own context
 * shift would instead cut into, or drop, the last user message itself, and the model would
 * answer a question it never saw.
 */
import type { ChatHistoryItem } from 'node-llama-cpp';
import { PlugboardError } from '../../src/index.ts';

/** A conversation that fits, with its length in tokens. */
export interface FittedHistory {
  readonly history: ChatHistoryItem[];
  readonly promptTokens: number;
}

/**
 * `history` as it fits `contextSize` tokens with room for at least one token of reply. When it
 * is too long, the oldest turns go (whole, from a user message on, so roles still alternate),
 * keeping the system messages at the start and everything from the last user message on.
 *
 * @param promptTokens the length of a history as the model would read it
 * @throws PlugboardError `REQUEST_INVALID` (400) when even the system messages and the last
 * user message leave no room for a reply.
 * @example
 * ```ts
 * const { history: fitted, promptTokens } = fitToContext(history, 4096, countTokens, 'llamacpp');
 * ```
 */
export function fitToContext(
  history: readonly ChatHistoryItem[],
  contextSize: number,
  promptTokens: (history: readonly ChatHistoryItem[]) => number,
  backend: string,
): FittedHistory {
  const limit = contextSize - 1;
  const whole = [...history];
  const wholeTokens = promptTokens(whole);
  if (wholeTokens < limit) return { history: whole, promptTokens: wholeTokens };
  let start = 0;
  while (start < whole.length && whole[start]!.type === 'system') start++;
  let lastUser = whole.length - 1;
  while (lastUser > start && whole[lastUser]!.type !== 'user') lastUser--;
  for (let cut = start + 1; cut <= lastUser; cut++) {
    if (whole[cut]!.type !== 'user') continue;
    const shortened = [...whole.slice(0, start), ...whole.slice(cut)];
    const tokens = promptTokens(shortened);
    if (tokens < limit) return { history: shortened, promptTokens: tokens };
  }
  throw new PlugboardError(
    'REQUEST_INVALID',
    `${backend}: the prompt (${wholeTokens} tokens) does not fit the context of ${contextSize} tokens, even without the earlier turns — shorten the last message or the system prompt, or raise context_size`,
    { plugin: backend, details: { param: 'messages', promptTokens: wholeTokens, contextSize } },
  );
}
