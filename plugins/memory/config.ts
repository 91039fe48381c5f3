import { z } from 'zod';

/**
 * The memory plugin's `config`, checked strictly (a misspelt key is an error). Keys are
 * snake_case like the rest of the configuration file. A number or boolean written as a whole
 * `${VAR}` reference is coerced by the configuration loader before this schema sees it.
 */

/** What to do when the conversation store fails during a chat: refuse it (503), or answer without memory. */
export const STORE_ERROR_POLICIES = ['fail', 'stateless'] as const;
export type StoreErrorPolicy = (typeof STORE_ERROR_POLICIES)[number];

/** How tokens are counted for the budget: gpt-tokenizer's o200k_base, or characters / 4. */
export const TOKENIZERS = ['gpt', 'chars'] as const;
export type TokenizerKind = (typeof TOKENIZERS)[number];

const whole = (min: number, max: number) => z.number().int().min(min).max(max);
const modelName = z.string().min(1).max(256);

/** The zod schema of the plugin's `config`. */
export const memoryConfigSchema = z.strictObject({
  max_context_tokens: whole(64, 10_000_000).optional(),
  reserve_tokens: whole(0, 1_000_000).default(1024),
  default_context_tokens: whole(256, 10_000_000).default(4096),
  tokenizer: z.enum(TOKENIZERS, { error: `expected one of ${TOKENIZERS.join(', ')}` }).default('gpt'),
  max_loaded_messages: whole(2, 100_000).default(500),
  summarize: z.boolean().default(true),
  summary_model: modelName.optional(),
  summary_refresh_messages: whole(1, 10_000).default(10),
  summary_max_tokens: whole(16, 100_000).default(512),
  auto_title: z.boolean().default(true),
  title_model: modelName.optional(),
  store_thinking: z.boolean().default(false),
  on_store_error: z
    .enum(STORE_ERROR_POLICIES, { error: `expected one of ${STORE_ERROR_POLICIES.join(', ')}` })
    .default('fail'),
  background_timeout_seconds: whole(1, 3600).default(120),
});

/** The plugin's config as validated, defaults applied. */
export type MemoryConfig = z.output<typeof memoryConfigSchema>;
