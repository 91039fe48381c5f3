import type { TokenizerName } from './config.ts';

/** Counts the tokens of a text. */
export type TokenCounter = (text: string) => number;

/** Special-token strings in a document (`<|endoftext|>`) are counted as text, not refused. */
const AS_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * A rough count: one token per 4 characters, the usual rule of thumb for English. Chunk
 * sizes made with it are estimates; it needs no tables (gpt-tokenizer's take ~0.5 s to load).
 *
 * @example
 * ```ts
 * estimateTokens('Refunds take five days.'); // 6
 * ```
 */
export const estimateTokens: TokenCounter = (text) => Math.ceil(text.length / 4);

/**
 * The counter chunk sizes are measured with, loaded on first use (only the encoding asked
 * for is imported).
 *
 * @example
 * ```ts
 * const count = await loadTokenCounter('cl100k_base');
 * count('Refunds take five days.'); // 5
 * ```
 */
export async function loadTokenCounter(name: TokenizerName): Promise<TokenCounter> {
  switch (name) {
    case 'estimate':
      return estimateTokens;
    case 'chars':
      // A token per character: byte-level models (and the tests' tiny one) count about that.
      return (text) => text.length;
    case 'cl100k_base': {
      const { countTokens } = await import('gpt-tokenizer/encoding/cl100k_base');
      return (text) => (text === '' ? 0 : countTokens(text, AS_TEXT));
    }
    case 'o200k_base': {
      const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
      return (text) => (text === '' ? 0 : countTokens(text, AS_TEXT));
    }
  }
}
