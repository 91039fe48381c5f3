import { defineErrors } from '../../src/index.ts';

/**
 * The memory plugin's error codes. A conversation that belongs to another principal and one
 * that does not exist get the same `NOT_FOUND`, word for word: nobody learns whether an id exists.
 */
export const memoryErrors = defineErrors('memory', {
  NOT_FOUND: {
    summary: 'There is no conversation with this id for the caller',
    hint: 'Use an id from GET /v1/conversations (ids belong to the principal that created them), or send x-conversation-id: new to start one.',
    status: 404,
  },
  INVALID_REQUEST: {
    summary: 'A conversation API request has an invalid field',
    hint: 'The message names the field and what it expects; see the memory plugin’s README for the API.',
    status: 400,
  },
  STORE_UNAVAILABLE: {
    summary: 'The conversation store failed, and memory is configured to refuse requests then',
    hint: 'Bring the store back (GET /health names it), or set on_store_error: stateless to answer without memory during an outage.',
    status: 503,
  },
});

/**
 * The one message of `NOT_FOUND`: the same for an unknown id and another principal's.
 *
 * @example
 * ```ts
 * throw conversationNotFound();
 * ```
 */
export function conversationNotFound(): ReturnType<typeof memoryErrors.NOT_FOUND> {
  return memoryErrors.NOT_FOUND('No such conversation');
}
