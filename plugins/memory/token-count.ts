/**
 * Token counts for the context budget. gpt-tokenizer's o200k_base is loaded on the first
 * conversation request (its tables take ~0.5 s and ~100 MB, which a server that never sees a
 * conversation id should not pay); until it is loaded, and if it cannot be, characters / 4.
 * Either way it is an estimate of the model's own count: the budget keeps `reserve_tokens` spare.
 */
import type { Logger, Message } from '../../src/index.ts';
import type { TokenizerKind } from './config.ts';

/** Counts the tokens of a text. */
export type CountTokens = (text: string) => number;

/** Tokens a chat template adds around each message (OpenAI's figure; other templates add 3–6). */
export const MESSAGE_OVERHEAD = 3;

/** Tokens that open the reply, once per prompt. */
export const REPLY_PRIMING = 3;

/**
 * `ceil(length / 4)`: the usual rule of thumb for English text.
 *
 * @example
 * ```ts
 * charsEstimate('Hello, world!'); // 4
 * ```
 */
export function charsEstimate(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * The tokens one message costs in a prompt: its content, name and tool calls, plus the
 * template's overhead. Images are not counted.
 *
 * @example
 * ```ts
 * messageTokens(charsEstimate, { role: 'user', content: 'Hello, world!' }); // 7
 * ```
 */
export function messageTokens(count: CountTokens, message: Message): number {
  let total = MESSAGE_OVERHEAD + count(message.content);
  if (message.name !== undefined) total += count(message.name);
  for (const call of message.toolCalls ?? []) total += count(call.name) + count(call.arguments);
  return total;
}

/** Special-token strings in the user's text (`<|endoftext|>`) are counted as text, not refused. */
const AS_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * The configured counter, loaded once on first use; never rejects (a failed load is logged
 * once and characters / 4 are used from then on).
 *
 * @example
 * ```ts
 * const tokens = new TokenCounter('gpt', logger);
 * const count = await tokens.get();
 * count('Hello');
 * ```
 */
export class TokenCounter {
  readonly #logger: Logger;
  #loading: Promise<CountTokens> | undefined;
  #ready: CountTokens | undefined;

  constructor(kind: TokenizerKind, logger: Logger) {
    this.#logger = logger;
    if (kind === 'chars') this.#ready = charsEstimate;
  }

  get(): Promise<CountTokens> {
    if (this.#ready !== undefined) return Promise.resolve(this.#ready);
    this.#loading ??= this.#load();
    return this.#loading;
  }

  async #load(): Promise<CountTokens> {
    try {
      const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
      this.#ready = (text) => (text.length === 0 ? 0 : countTokens(text, AS_TEXT));
    } catch (error) {
      this.#logger.warn(
        { reason: error instanceof Error ? error.message : String(error) },
        'memory: gpt-tokenizer could not be loaded; the context budget counts characters / 4',
      );
      this.#ready = charsEstimate;
    }
    return this.#ready;
  }
}
