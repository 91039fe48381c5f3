/**
 * The tokenizers estimates are made with, loaded on first use: gpt-tokenizer's tables take
 * ~0.5 s and ~100 MB to load, and a server whose backends all report their own counts never
 * needs them (start-up time and memory are measured targets).
 */
import { access, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Logger } from '../../src/index.ts';
import type { Encoding, TokenCounterConfig } from './config.ts';
import { tokenCounterErrors } from './errors.ts';

/** Counts the tokens of a text. */
export interface TextTokenizer {
  /** What made the counts, for `metadata.tokens.tokenizer` and the log: `gpt-tokenizer:o200k_base`, `huggingface:tokenizer.json`, `chars`. */
  readonly name: string;
  count(text: string): number;
}

/**
 * The last resort: `ceil(length / charsPerToken)` UTF-16 code units. Its name says it is
 * only that (`chars`), so nobody mistakes it for a tokenizer's count.
 *
 * @example
 * ```ts
 * charsTokenizer(4).count('Hello, world!'); // 4
 * ```
 */
export function charsTokenizer(charsPerToken: number): TextTokenizer {
  return { name: 'chars', count: (text) => (text.length === 0 ? 0 : Math.ceil(text.length / charsPerToken)) };
}

/** Special-token strings in the user's text (`<|endoftext|>`) are counted as text, not refused. */
const AS_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * One of gpt-tokenizer's encodings. Each is imported by a literal specifier (not a template),
 * so the module and its types are known, and only the one asked for is ever loaded.
 */
async function gptCounter(encoding: Encoding): Promise<(text: string) => number> {
  const module = await (() => {
    switch (encoding) {
      case 'o200k_base':
        return import('gpt-tokenizer/encoding/o200k_base');
      case 'o200k_harmony':
        return import('gpt-tokenizer/encoding/o200k_harmony');
      case 'cl100k_base':
        return import('gpt-tokenizer/encoding/cl100k_base');
      case 'p50k_base':
        return import('gpt-tokenizer/encoding/p50k_base');
      case 'r50k_base':
        return import('gpt-tokenizer/encoding/r50k_base');
    }
  })();
  return (text) => (text.length === 0 ? 0 : module.countTokens(text, AS_TEXT));
}

/**
 * A Hugging Face `tokenizer.json` (with the `tokenizer_config.json` beside it, when there is
 * one), run by @huggingface/tokenizers in JavaScript: nothing is downloaded. Special tokens
 * (BOS, a chat template's markers) are not added: they are the per-message overhead.
 */
async function huggingfaceCounter(file: string): Promise<(text: string) => number> {
  const { Tokenizer } = await import('@huggingface/tokenizers');
  const json: unknown = JSON.parse(await readFile(file, 'utf8'));
  const configFile = join(dirname(file), 'tokenizer_config.json');
  const config: unknown = (await readable(configFile)) ? JSON.parse(await readFile(configFile, 'utf8')) : {};
  if (typeof json !== 'object' || json === null) throw new Error(`${file} is not a tokenizer.json object`);
  const tokenizer = new Tokenizer(json, typeof config === 'object' && config !== null ? config : {});
  return (text) => (text.length === 0 ? 0 : tokenizer.encode(text, { add_special_tokens: false }).ids.length);
}

async function readable(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** Which tokenizer the config asks for, resolved (`auto` decided). */
export type TokenizerChoice =
  | { readonly kind: 'gpt'; readonly encoding: Encoding }
  | { readonly kind: 'huggingface'; readonly file: string }
  | { readonly kind: 'chars' };

/**
 * What the config asks for: `auto` is `huggingface` with a `tokenizer_file`, else `gpt`. A
 * relative `tokenizer_file` is resolved against the working directory, as the logging
 * plugin's `file` is.
 */
export function tokenizerChoice(
  config: Pick<TokenCounterConfig, 'tokenizer' | 'encoding' | 'tokenizer_file'>,
): TokenizerChoice {
  const file = config.tokenizer_file === undefined ? undefined : resolve(config.tokenizer_file);
  if (config.tokenizer === 'chars') return { kind: 'chars' };
  if (file !== undefined && (config.tokenizer === 'huggingface' || config.tokenizer === 'auto')) {
    return { kind: 'huggingface', file };
  }
  return { kind: 'gpt', encoding: config.encoding };
}

/**
 * Loads the configured tokenizer once, on the first estimate (or at start with `preload`), and
 * falls back to {@link charsTokenizer} — logged once, shown in health — when it cannot be
 * loaded, so a broken tokenizer never fails a request.
 *
 * @example
 * ```ts
 * const tokenizers = new LazyTokenizer(tokenizerChoice(config), 4, logger);
 * const tokenizer = await tokenizers.get(); // loads on the first call only
 * tokenizer.count('Hello');
 * ```
 */
export class LazyTokenizer {
  readonly #choice: TokenizerChoice;
  readonly #fallback: TextTokenizer;
  readonly #logger: Logger;
  #loading: Promise<TextTokenizer> | undefined;
  #ready: TextTokenizer | undefined;
  #failure: string | undefined;

  constructor(choice: TokenizerChoice, charsPerToken: number, logger: Logger) {
    this.#choice = choice;
    this.#fallback = charsTokenizer(charsPerToken);
    this.#logger = logger;
    if (choice.kind === 'chars') this.#ready = this.#fallback;
  }

  /**
   * Checks what can be checked without loading anything: that a `tokenizer_file` is there.
   * @throws PlugboardError `token_counter/TOKENIZER_MISSING` when it cannot be read.
   */
  async check(): Promise<void> {
    if (this.#choice.kind !== 'huggingface') return;
    if (!(await readable(this.#choice.file))) {
      throw tokenCounterErrors.TOKENIZER_MISSING(`token_counter: tokenizer_file ${this.#choice.file} cannot be read`);
    }
  }

  /** The tokenizer when it is loaded, else `undefined` (nothing is started). */
  get loaded(): TextTokenizer | undefined {
    return this.#ready;
  }

  /** Why the configured tokenizer could not be loaded (estimates then use `chars`), or `undefined`. */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** The tokenizer, loading it on the first call. Never rejects. */
  get(): Promise<TextTokenizer> {
    if (this.#ready !== undefined) return Promise.resolve(this.#ready);
    this.#loading ??= this.#load();
    return this.#loading;
  }

  async #load(): Promise<TextTokenizer> {
    const choice = this.#choice;
    const started = performance.now();
    try {
      const count =
        choice.kind === 'gpt'
          ? await gptCounter(choice.encoding)
          : choice.kind === 'huggingface'
            ? await huggingfaceCounter(choice.file)
            : this.#fallback.count;
      const name =
        choice.kind === 'gpt'
          ? `gpt-tokenizer:${choice.encoding}`
          : choice.kind === 'huggingface'
            ? `huggingface:${basename(choice.file)}`
            : this.#fallback.name;
      this.#ready = { name, count };
      this.#logger.info(
        { tokenizer: name, load_ms: Math.round(performance.now() - started) },
        'token counter: tokenizer loaded',
      );
    } catch (error) {
      this.#failure = error instanceof Error ? error.message : String(error);
      this.#ready = this.#fallback;
      this.#logger.warn(
        { tokenizer: choice.kind, reason: this.#failure },
        'token counter: the tokenizer could not be loaded; estimates use characters / chars_per_token',
      );
    }
    return this.#ready;
  }
}
