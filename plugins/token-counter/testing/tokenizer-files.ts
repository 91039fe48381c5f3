/**
 * Hugging Face `tokenizer.json` files made on the spot, for the token counter's tests and its
 * benchmark: nothing is downloaded.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const special = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

/**
 * A tiny BPE tokenizer with whitespace pre-tokenization: the letters `l o w e r n s t i d` and
 * merges up to the words `lower`, `newest` and `widest`, so `"lower newest widest"` is 3 tokens
 * and `"rewol"` is 5 (one per letter); anything else is `[UNK]`, one per character.
 */
export function tinyBpeTokenizer(): Record<string, unknown> {
  const pieces = ['l', 'o', 'w', 'e', 'r', 'n', 's', 't', 'i', 'd'];
  const merged = ['lo', 'low', 'er', 'lower', 'ne', 'new', 'es', 'est', 'newest', 'wi', 'wid', 'widest'];
  const vocab: Record<string, number> = { '[UNK]': 0 };
  for (const token of [...pieces, ...merged]) vocab[token] = Object.keys(vocab).length;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '[UNK]')],
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: null,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '[UNK]',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: ['l o', 'lo w', 'e r', 'low er', 'n e', 'ne w', 'e s', 'es t', 'new est', 'w i', 'wi d', 'wid est'],
    },
  };
}

/**
 * The tokenizer of the tiny GGUF model (test/support/tiny-gguf.ts) as a `tokenizer.json`: the
 * same 260 tokens (`<unk>`, `<s>`, `</s>`, the 256 byte tokens, `▁`), spaces written as `▁`,
 * every other byte its own token. It counts a text exactly as llama.cpp does with that model —
 * what pointing `tokenizer_file` at a model's own tokenizer.json gives.
 */
export function tinyGgufTokenizer(): Record<string, unknown> {
  const tokens = ['<unk>', '<s>', '</s>'];
  for (let byte = 0; byte < 256; byte++) tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
  tokens.push('\u2581');
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' },
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab: Object.fromEntries(tokens.map((token, index) => [token, index])),
      merges: [],
    },
  };
}

/** Writes `json` as `tokenizer.json` in a fresh temporary folder; returns its path. */
export async function writeTokenizerFile(json: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'plugboard-token-counter-'));
  const file = join(dir, 'tokenizer.json');
  await writeFile(file, JSON.stringify(json));
  return file;
}
