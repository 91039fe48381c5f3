/**
 * The tokenizers: `chars` is a marked estimate; gpt-tokenizer loads on the first use only and
 * counts OpenAI's way (special-token strings in a user's text are text); a Hugging Face
 * `tokenizer.json` (made here: nothing is downloaded) counts with its own vocabulary; a file
 * that is missing stops the plugin at start, one that cannot be loaded falls back to `chars`.
 * The estimates of a prompt and a completion add what a chat template adds.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { createChatContext, createMessage, createSilentLogger, isPlugboardError } from '../../src/index.ts';
import { completionEstimate, MESSAGE_OVERHEAD, promptEstimate, REPLY_PRIMING } from './estimate.ts';
import { tinyBpeTokenizer, writeTokenizerFile } from './testing/tokenizer-files.ts';
import { charsTokenizer, LazyTokenizer, tokenizerChoice } from './tokenizer.ts';

const logger = createSilentLogger();

test('chars: ceil(length / chars_per_token), 0 for nothing, and named as what it is', () => {
  const chars = charsTokenizer(4);
  assert.equal(chars.name, 'chars');
  assert.equal(chars.count(''), 0);
  assert.equal(chars.count('abc'), 1);
  assert.equal(chars.count('Hello, world!'), 4);
  assert.equal(charsTokenizer(3.5).count('1234567'), 2);
});

test('auto is huggingface with a tokenizer_file, gpt-tokenizer otherwise; a relative file is resolved', () => {
  assert.deepEqual(tokenizerChoice({ tokenizer: 'auto', encoding: 'o200k_base' }), {
    kind: 'gpt',
    encoding: 'o200k_base',
  });
  assert.deepEqual(tokenizerChoice({ tokenizer: 'gpt', encoding: 'cl100k_base' }), {
    kind: 'gpt',
    encoding: 'cl100k_base',
  });
  assert.deepEqual(tokenizerChoice({ tokenizer: 'auto', encoding: 'o200k_base', tokenizer_file: 'm/tokenizer.json' }), {
    kind: 'huggingface',
    file: join(process.cwd(), 'm/tokenizer.json'),
  });
  assert.deepEqual(tokenizerChoice({ tokenizer: 'chars', encoding: 'o200k_base' }), { kind: 'chars' });
});

test('gpt-tokenizer is loaded on the first estimate, once, and counts as OpenAI does', async () => {
  const tokenizers = new LazyTokenizer({ kind: 'gpt', encoding: 'o200k_base' }, 4, logger);
  assert.equal(tokenizers.loaded, undefined, 'nothing loaded before the first estimate');
  const [first, second] = await Promise.all([tokenizers.get(), tokenizers.get()]);
  assert.equal(first, second, 'one load for concurrent callers');
  assert.equal(first.name, 'gpt-tokenizer:o200k_base');
  assert.equal(tokenizers.loaded, first);
  // Reference counts of o200k_base (tiktoken): "Hello, world!" is Hello / , / world / !
  assert.equal(first.count('Hello, world!'), 4);
  assert.equal(first.count(''), 0);
  // A special token's text in a user's message is text, not a refusal (gpt-tokenizer's default throws).
  assert.ok(first.count('say <|endoftext|> now') > 3);
  assert.equal(tokenizers.failure, undefined);
});

test('cl100k_base is another encoding, with other counts', async () => {
  const o200k = await new LazyTokenizer({ kind: 'gpt', encoding: 'o200k_base' }, 4, logger).get();
  const cl100k = await new LazyTokenizer({ kind: 'gpt', encoding: 'cl100k_base' }, 4, logger).get();
  assert.equal(cl100k.name, 'gpt-tokenizer:cl100k_base');
  const text = 'Привет, как дела? Это проверка токенизатора.';
  assert.notEqual(o200k.count(text), cl100k.count(text));
});

test('a Hugging Face tokenizer.json counts with its own vocabulary and merges', async () => {
  const file = await writeTokenizerFile(tinyBpeTokenizer());
  try {
    const tokenizers = new LazyTokenizer({ kind: 'huggingface', file }, 4, logger);
    await tokenizers.check();
    const tokenizer = await tokenizers.get();
    assert.equal(tokenizer.name, 'huggingface:tokenizer.json');
    assert.equal(tokenizer.count('lower newest widest'), 3, 'merged words are one token each');
    assert.equal(tokenizer.count('rewol'), 5, 'no merge applies: one token per letter');
    assert.equal(tokenizer.count('zzz'), 3, 'unknown characters are [UNK] each');
  } finally {
    await rm(dirname(file), { recursive: true, force: true });
  }
});

test('a missing tokenizer_file stops the plugin at start; an unreadable one falls back to chars, once', async () => {
  const missing = new LazyTokenizer({ kind: 'huggingface', file: '/nonexistent/tokenizer.json' }, 4, logger);
  await assert.rejects(missing.check(), (error) => {
    assert.ok(isPlugboardError(error, 'token_counter/TOKENIZER_MISSING'), String(error));
    assert.match(error.message, /\/nonexistent\/tokenizer\.json cannot be read/);
    return true;
  });

  const file = await writeTokenizerFile({});
  await writeFile(file, '{ not json');
  const warnings: string[] = [];
  const recording = { ...logger, warn: (_fields: unknown, message: string) => warnings.push(message) };
  try {
    const broken = new LazyTokenizer({ kind: 'huggingface', file }, 4, recording as typeof logger);
    await broken.check();
    const tokenizer = await broken.get();
    assert.equal(tokenizer.name, 'chars');
    assert.equal(tokenizer.count('12345678'), 2);
    assert.match(broken.failure ?? '', /JSON/);
    await broken.get();
    assert.equal(warnings.length, 1, 'logged once');
  } finally {
    await rm(dirname(file), { recursive: true, force: true });
  }
});

test('a prompt estimate adds the template overhead, author names, tool calls and tool definitions', () => {
  const chars = charsTokenizer(1); // one token per character: the sums are easy to check
  const context = createChatContext({
    messages: [
      { role: 'system', content: 'abc' },
      { role: 'user', content: 'hello', name: 'bo' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'get', arguments: '{}' }] },
      { role: 'tool', content: '42', toolCallId: 'c1' },
    ],
    options: { tools: [{ name: 'get' }] },
  });
  const tools = JSON.stringify([{ name: 'get' }]).length;
  assert.equal(promptEstimate(chars, context), REPLY_PRIMING + 4 * MESSAGE_OVERHEAD + 3 + 5 + 2 + (3 + 2) + 2 + tools);
});

test('embedding inputs are counted as they are, without a template', () => {
  const chars = charsTokenizer(1);
  const context = createChatContext({
    operation: 'embeddings',
    messages: [
      { role: 'user', content: 'abc' },
      { role: 'user', content: 'de' },
    ],
  });
  assert.equal(promptEstimate(chars, context), 5);
});

test('a completion estimate counts the text, the reasoning and the tool calls', () => {
  const chars = charsTokenizer(1);
  const message = createMessage({
    role: 'assistant',
    content: 'done',
    thinking: 'hmm',
    toolCalls: [{ id: 'c', name: 'f', arguments: '{"a":1}' }],
  });
  assert.equal(completionEstimate(chars, message), 4 + 3 + 1 + 7);
});
