/** The config schema: defaults, strict keys, bounds that name the key. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryConfigSchema } from './config.ts';

const refused = (value: unknown) => {
  const result = memoryConfigSchema.safeParse(value);
  assert.equal(result.success, false, `expected ${JSON.stringify(value)} to be refused`);
  return result.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n');
};

test('defaults: budget from the model, summaries and titles on, fail when the store fails', () => {
  const result = memoryConfigSchema.safeParse({});
  assert.ok(result.success, result.success ? '' : result.error.message);
  assert.deepEqual(result.data, {
    reserve_tokens: 1024,
    default_context_tokens: 4096,
    tokenizer: 'gpt',
    max_loaded_messages: 500,
    summarize: true,
    summary_refresh_messages: 10,
    summary_max_tokens: 512,
    auto_title: true,
    store_thinking: false,
    on_store_error: 'fail',
    background_timeout_seconds: 120,
  });
});

test('unknown keys and bad values are refused, naming the key', () => {
  assert.match(refused({ max_tokens: 100 }), /max_tokens/);
  assert.match(refused({ max_context_tokens: 10 }), /^max_context_tokens: /);
  assert.match(refused({ on_store_error: 'open' }), /^on_store_error: expected one of fail, stateless/);
  assert.match(refused({ tokenizer: 'llama' }), /^tokenizer: expected one of gpt, chars/);
  assert.match(refused({ summary_refresh_messages: 0 }), /^summary_refresh_messages: /);
  assert.match(refused({ summary_model: '' }), /^summary_model: /);
  assert.match(refused({ summarize: 'yes' }), /^summarize: /);
  assert.match(refused({ max_loaded_messages: 1 }), /^max_loaded_messages: /);
});
