import { defineErrors } from '../../src/index.ts';

/**
 * The token_counter plugin's error codes. Messages state the limit, the use and when it
 * resets, never the caller's principal id or address.
 */
export const tokenCounterErrors = defineErrors('token_counter', {
  BUDGET_EXCEEDED: {
    summary: 'The caller used up a token budget for the current window',
    hint: 'Wait for the number of seconds in Retry-After (the message gives the reset time), or ask for a larger budget.',
    status: 429,
  },
  PROMPT_TOO_LARGE: {
    summary: 'The request’s estimated prompt is over the per-request token limit',
    hint: 'Send a shorter prompt (fewer or shorter messages, fewer tools), or ask for a larger max_prompt_tokens.',
    status: 413,
  },
  COMPLETION_TOO_LARGE: {
    summary: 'The request asks for more completion tokens (max_tokens) than the per-request limit allows',
    hint: 'Ask for at most the limit in the message (max_tokens / num_predict), or leave it out: the limit then applies.',
    status: 400,
  },
  STORE_UNAVAILABLE: {
    summary: 'The token counter cannot read its budgets’ store and is configured to refuse requests then',
    hint: 'Bring the key-value store back (GET /health names it), or set on_store_error: open to let requests through unbudgeted during an outage.',
    status: 503,
  },
  TOKENIZER_MISSING: {
    summary: 'The token counter’s tokenizer_file cannot be read',
    hint: 'Point tokenizer_file at the model’s tokenizer.json (an absolute path, or relative to the server’s working directory).',
    status: 500,
  },
});
