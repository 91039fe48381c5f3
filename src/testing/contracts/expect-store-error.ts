import assert from 'node:assert/strict';
import { describeCause, isPlugboardError } from '../../core/errors/plugboard-error.ts';

/**
 * Asserts that `action` fails (throws or rejects) with a PlugboardError of `code` whose
 * message matches `mentions`: what every store contract asks of a refused argument or a
 * missing record. `what` names the case in the failure message.
 *
 * @example
 * ```ts
 * await expectStoreError(() => store.get(''), 'STORE_INVALID_ARGUMENT', /key/);
 * ```
 */
export async function expectStoreError(
  action: () => unknown,
  code: 'STORE_INVALID_ARGUMENT' | 'STORE_NOT_FOUND',
  mentions: RegExp,
  what = '',
): Promise<void> {
  let caught: unknown;
  try {
    await action();
  } catch (error) {
    caught = error;
  }
  const context = what === '' ? '' : ` (${what})`;
  assert.ok(caught !== undefined, `expected ${code}${context}, but the call succeeded`);
  const got = isPlugboardError(caught) ? `${caught.code}: ${caught.message}` : describeCause(caught);
  assert.ok(isPlugboardError(caught, code), `expected PlugboardError ${code}${context}, got ${got}`);
  assert.match(caught.message, mentions, `the message says what is wrong${context}`);
}

/** {@link expectStoreError} for `STORE_INVALID_ARGUMENT`. */
export function expectInvalid(action: () => unknown, mentions: RegExp, what = ''): Promise<void> {
  return expectStoreError(action, 'STORE_INVALID_ARGUMENT', mentions, what);
}
