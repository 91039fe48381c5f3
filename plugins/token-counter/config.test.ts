/**
 * The config schema: defaults, strict keys at every level, the rules between `tokenizer` and
 * `tokenizer_file`, unique budget names, and stable derived budget names (the store's keys).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { budgetName, tokenCounterConfigSchema } from './config.ts';

const parse = (value: unknown) => tokenCounterConfigSchema.safeParse(value);
const messages = (value: unknown) => {
  const result = parse(value);
  assert.equal(result.success, false, 'expected the config to be refused');
  return result.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n');
};

test('defaults: auto tokenizer on o200k_base, no limits, budgets shared by anonymous callers, fail open', () => {
  const result = parse({});
  assert.ok(result.success, result.success ? '' : result.error.message);
  assert.deepEqual(result.data, {
    tokenizer: 'auto',
    encoding: 'o200k_base',
    chars_per_token: 4,
    preload: false,
    budgets: { per_request: {}, per_principal: [], anonymous: 'shared' },
    metrics: { by_principal: true },
    log_level: 'debug',
    on_store_error: 'open',
    key_prefix: 'token_counter:',
  });
});

test('unknown keys are refused at every level', () => {
  assert.match(messages({ tokeniser: 'gpt' }), /tokeniser/);
  assert.match(messages({ budgets: { per_principal: [{ tokens: 1, per_seconds: 1, per_second: 1 }] } }), /per_second/);
  assert.match(messages({ budgets: { per_request: { max_tokens: 5 } } }), /max_tokens/);
  assert.match(messages({ budgets: { per_day: 5 } }), /per_day/);
  assert.match(messages({ metrics: { by_model: false } }), /by_model/);
});

test('bad values name the key', () => {
  assert.match(messages({ tokenizer: 'tiktoken' }), /tokenizer: expected one of auto, gpt, huggingface, chars/);
  assert.match(messages({ encoding: 'gpt2' }), /encoding: expected one of o200k_base/);
  assert.match(messages({ tokenizer: 'huggingface' }), /tokenizer_file: tokenizer: huggingface needs a tokenizer_file/);
  assert.match(
    messages({ tokenizer: 'gpt', tokenizer_file: '/models/tokenizer.json' }),
    /tokenizer_file: tokenizer_file is only used with tokenizer: auto or huggingface/,
  );
  assert.match(messages({ chars_per_token: 0 }), /chars_per_token/);
  assert.match(messages({ budgets: { per_request: { max_prompt_tokens: 0 } } }), /max_prompt_tokens/);
  assert.match(messages({ budgets: { per_principal: [{ tokens: 10 }] } }), /per_principal\.0\.per_seconds/);
  assert.match(messages({ budgets: { per_principal: [{ tokens: 10, per_seconds: 0.5 }] } }), /per_seconds/);
  assert.match(
    messages({ budgets: { per_principal: [{ tokens: 10, per_seconds: 60, operations: ['models.list'] }] } }),
    /operations\.0: expected one of chat, generate, embeddings/,
  );
  assert.match(messages({ budgets: { anonymous: 'ignore' } }), /anonymous: expected one of shared, per_ip, exempt/);
  assert.match(messages({ on_store_error: 'maybe' }), /on_store_error/);
  assert.match(messages({ log_level: 'trace' }), /log_level/);
  assert.match(
    messages({
      budgets: {
        per_principal: [
          { tokens: 10, per_seconds: 60 },
          { tokens: 10, per_seconds: 60 },
        ],
      },
    }),
    /budgets\.per_principal: two budgets have the same name/,
  );
});

test('a tokenizer_file goes with auto (the default) or huggingface', () => {
  for (const tokenizer of ['auto', 'huggingface'] as const) {
    const result = parse({ tokenizer, tokenizer_file: 'models/tokenizer.json' });
    assert.ok(result.success, result.success ? '' : result.error.message);
  }
});

test('a budget’s name: its own, or derived from its definition (operations in any order)', () => {
  assert.equal(budgetName({ name: 'daily', tokens: 1, per_seconds: 1 }), 'daily');
  assert.equal(budgetName({ tokens: 10_000, per_seconds: 86_400 }), '10000t-86400s');
  assert.equal(
    budgetName({ tokens: 5, per_seconds: 60, operations: ['generate', 'chat'] }),
    budgetName({ tokens: 5, per_seconds: 60, operations: ['chat', 'generate'] }),
  );
});
