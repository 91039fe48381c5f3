import { z } from 'zod';

/**
 * The token_counter plugin's `config`, checked strictly (a misspelt key is an error, at every
 * level). A number or boolean written as `${VAR}` in YAML is coerced by the configuration
 * loader before this schema sees it: plain types here.
 */

const whole = (min: number, max: number) => z.number().int().min(min).max(max);

/**
 * How estimates are made when a backend reports no counts: `auto` picks `huggingface` when a
 * `tokenizer_file` is given, else `gpt`; `chars` is the cheap marked fallback.
 */
export const TOKENIZERS = ['auto', 'gpt', 'huggingface', 'chars'] as const;
export type TokenizerKind = (typeof TOKENIZERS)[number];

/** gpt-tokenizer's encodings: `o200k_base` (GPT-4o, GPT-4.1, GPT-5, o-series), `cl100k_base` (GPT-4, GPT-3.5) … */
export const ENCODINGS = ['o200k_base', 'o200k_harmony', 'cl100k_base', 'p50k_base', 'r50k_base'] as const;
export type Encoding = (typeof ENCODINGS)[number];

/** The operations that carry tokens; the model list and a model's facts carry none. */
export const COUNTED_OPERATIONS = ['chat', 'generate', 'embeddings'] as const;
export type CountedOperation = (typeof COUNTED_OPERATIONS)[number];

/** How requests without a principal are budgeted. */
export const ANONYMOUS_POLICIES = ['shared', 'per_ip', 'exempt'] as const;
export type AnonymousPolicy = (typeof ANONYMOUS_POLICIES)[number];

/** One budget: `tokens` (prompt + completion) per window of `per_seconds`, per principal. */
export const budgetSchema = z.strictObject({
  /** Names the budget in messages and in the store's keys; derived from the definition when absent. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: 'expected 1–64 letters, digits, ".", "_" or "-"' })
    .optional(),
  tokens: whole(1, 1_000_000_000_000),
  // Whole seconds: windows are aligned to multiples of it since the Unix epoch (see budgets.ts).
  per_seconds: whole(1, 31_622_400),
  operations: z
    .array(z.enum(COUNTED_OPERATIONS, { error: `expected one of ${COUNTED_OPERATIONS.join(', ')}` }))
    .min(1)
    .optional(),
});

/** Limits on one request, checked before the backend is asked anything. */
export const perRequestSchema = z.strictObject({
  max_prompt_tokens: whole(1, 100_000_000).optional(),
  max_completion_tokens: whole(1, 100_000_000).optional(),
});

/** The `budgets:` section. */
export const budgetsSchema = z.strictObject({
  per_request: perRequestSchema.default({}),
  per_principal: z.array(budgetSchema).default([]),
  anonymous: z
    .enum(ANONYMOUS_POLICIES, { error: `expected one of ${ANONYMOUS_POLICIES.join(', ')}` })
    .default('shared'),
});

/** The `metrics:` section. */
export const metricsSchema = z.strictObject({
  by_principal: z.boolean().default(true),
});

/** The zod schema of the plugin's `config`. */
export const tokenCounterConfigSchema = z
  .strictObject({
    tokenizer: z.enum(TOKENIZERS, { error: `expected one of ${TOKENIZERS.join(', ')}` }).default('auto'),
    encoding: z.enum(ENCODINGS, { error: `expected one of ${ENCODINGS.join(', ')}` }).default('o200k_base'),
    tokenizer_file: z.string().min(1).optional(),
    chars_per_token: z.number().positive().max(100).default(4),
    preload: z.boolean().default(false),
    budgets: budgetsSchema.default({ per_request: {}, per_principal: [], anonymous: 'shared' }),
    metrics: metricsSchema.default({ by_principal: true }),
    log_level: z.enum(['debug', 'info', 'none']).default('debug'),
    on_store_error: z.enum(['open', 'closed']).default('open'),
    key_prefix: z.string().min(1).max(128).default('token_counter:'),
  })
  .refine((config) => config.tokenizer !== 'huggingface' || config.tokenizer_file !== undefined, {
    error: 'tokenizer: huggingface needs a tokenizer_file (the model’s tokenizer.json)',
    path: ['tokenizer_file'],
  })
  .refine(
    (config) =>
      config.tokenizer_file === undefined || config.tokenizer === 'auto' || config.tokenizer === 'huggingface',
    { error: 'tokenizer_file is only used with tokenizer: auto or huggingface', path: ['tokenizer_file'] },
  )
  .refine(
    (config) => new Set(config.budgets.per_principal.map(budgetName)).size === config.budgets.per_principal.length,
    {
      error: 'two budgets have the same name (or the same definition): give them distinct `name`s',
      path: ['budgets', 'per_principal'],
    },
  );

/** The plugin's config as validated, defaults applied. */
export type TokenCounterConfig = z.output<typeof tokenCounterConfigSchema>;
/** One `budgets.per_principal` entry. */
export type BudgetConfig = z.output<typeof budgetSchema>;

/**
 * A budget's name: its own, or one derived from its definition (`10000t-86400s`), so that
 * every instance with the same config shares the same counters, and a changed budget starts
 * fresh ones.
 *
 * @example
 * ```ts
 * budgetName({ tokens: 10_000, per_seconds: 86_400 }); // '10000t-86400s'
 * ```
 */
export function budgetName(budget: BudgetConfig): string {
  if (budget.name !== undefined) return budget.name;
  const parts = [`${budget.tokens}t`, `${budget.per_seconds}s`];
  if (budget.operations !== undefined) parts.push([...budget.operations].sort().join('+'));
  return parts.join('-');
}
