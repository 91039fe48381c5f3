import { defineErrors } from '../../src/index.ts';

/**
 * The content filter's own error code. 422: the request is well-formed, but its content is
 * refused by policy (400 would tell the client its request is malformed; 403 that it lacks a
 * permission). Messages name the categories only, never the matched text.
 */
export const contentFilterErrors = defineErrors('content_filter', {
  BLOCKED: {
    summary: 'The message contains content of a category the content filter blocks',
    hint: 'Remove the value of the named category (a card number, a secret …) from the message and send it again.',
    status: 422,
  },
});

/** The error for a message (or a reply) with values of blocked categories. */
export function blockedError(categories: readonly string[], way: 'input' | 'output') {
  const list = categories.join(', ');
  return contentFilterErrors.BLOCKED(
    way === 'input'
      ? `The message was refused by the content filter: it contains ${list}`
      : `The reply was withheld by the content filter: it contained ${list}`,
  );
}
