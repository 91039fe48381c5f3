import { z } from 'zod';
import { required } from './required-parameter.ts';

/**
 * The zod schema of `POST /v1/embeddings`. Strict like the chat schema. `input` is a string
 * or an array of strings; OpenAI's pre-tokenized inputs (arrays of token ids) are refused
 * with a message saying so, because Plugboard's backends take text and the token ids of one
 * model's tokenizer mean nothing to another's.
 */

const TOKENS_UNSUPPORTED = 'token arrays are not supported: send the text as a string or an array of strings';

const text = z.string().min(1, { error: 'an input must not be empty' });

const inputSchema = z.preprocess(
  (value) => (typeof value === 'string' ? [value] : value),
  z
    .array(
      z
        .unknown()
        .superRefine((item, issues) => {
          // Report token ids as what they are, not as "expected string".
          if (typeof item === 'number' || Array.isArray(item))
            issues.addIssue({ code: 'custom', message: TOKENS_UNSUPPORTED });
        })
        .pipe(text),
      {
        error: (issue) =>
          issue.input === undefined ? "missing required parameter 'input'" : 'expected a string or an array of strings',
      },
    )
    .min(1, { error: 'at least one input is required' })
    .max(2048, { error: 'at most 2048 inputs per request' }),
);

/** The request body of `POST /v1/embeddings`. */
export const embeddingsRequestSchema = z.strictObject({
  model: z.string(required('model')).min(1),
  input: inputSchema,
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().positive().nullish(),
  user: z.string().nullish(),
});

/** A validated embeddings request; `input` is always an array. */
export type EmbeddingsRequest = z.output<typeof embeddingsRequestSchema>;
