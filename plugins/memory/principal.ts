import type { Principal } from '../../src/index.ts';

/** Whose conversations a request without an authenticated principal reads and writes. */
export const ANONYMOUS = 'anonymous';

/**
 * The store's principal for a request: the authentication middleware's principal id, or
 * {@link ANONYMOUS} when there is none (auth off) — then everyone shares one set of
 * conversations, which is what a server without auth offers anyway.
 *
 * @example
 * ```ts
 * principalOf(context.principal); // 'user:42', or 'anonymous'
 * ```
 */
export function principalOf(principal: Principal | undefined): string {
  return principal?.id || ANONYMOUS;
}
