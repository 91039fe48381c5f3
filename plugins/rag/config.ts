import { z } from 'zod';

/**
 * The rag plugin's `config`, checked strictly (a misspelt key is an error). Keys are snake_case
 * like the rest of the configuration file.
 */

/** How chunk sizes are counted: a GPT tokenizer (a close stand-in for most embedding models) or length / 4. */
export const TOKENIZERS = ['cl100k_base', 'o200k_base', 'estimate', 'chars'] as const;
export type TokenizerName = (typeof TOKENIZERS)[number];

/** The names of collections: what the search index accepts, minus room for `collection_prefix`. */
export const COLLECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const collectionName = z
  .string()
  .regex(COLLECTION_NAME, { error: 'expected 1–64 letters, digits, "_", "-" or "." starting with a letter or digit' });

const whole = (min: number, max: number) => z.number().int().min(min).max(max);

export const DEFAULT_INSTRUCTIONS =
  'Answer using the numbered sources below when they are relevant. Cite each source you use as [n] right after the statement it supports. If the sources do not contain the answer, say so rather than guessing.';

/** The zod schema of the plugin's `config`. */
export const ragConfigSchema = z
  .strictObject({
    collections: z.array(collectionName).min(1).default(['default']),
    collection_prefix: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,31}$/, { error: 'expected up to 32 letters, digits, "_", "-", ".", ":"' })
      .default('rag:'),
    embedding_model: z.string().min(1).optional(),
    embed_batch: whole(1, 2048).default(32),
    embed_retry_seconds: whole(1, 86_400).default(60),
    chunk_tokens: whole(32, 8192).default(300),
    chunk_overlap: whole(0, 4096).default(50),
    tokenizer: z.enum(TOKENIZERS, { error: `expected one of ${TOKENIZERS.join(', ')}` }).default('cl100k_base'),
    top_k: whole(1, 50).default(4),
    max_source_tokens: whole(16, 1_000_000).optional(),
    source_share: z.number().gt(0).max(0.9).default(0.5),
    min_score: z.number().finite().optional(),
    max_document_bytes: whole(1024, 1024 * 1024 * 1024).default(16 * 1024 * 1024),
    html_readability: z.boolean().default(true),
    instructions: z.string().min(1).max(4000).default(DEFAULT_INSTRUCTIONS),
  })
  .refine((config) => config.chunk_overlap * 2 <= config.chunk_tokens, {
    error: 'chunk_overlap must be at most half of chunk_tokens, so that each chunk brings new text',
    path: ['chunk_overlap'],
  });

/** The plugin's config as validated, defaults applied. */
export type RagConfig = z.output<typeof ragConfigSchema>;
