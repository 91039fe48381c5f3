import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * How keys are kept at rest: never the key, only a digest of it. `sha256:<hex>` is the plain
 * SHA-256 of the key; `hmac-sha256:<hex>` is HMAC-SHA-256 keyed with a pepper (a secret kept
 * out of the keys file, in an environment variable), so a leaked keys file alone cannot even
 * be used to test guesses. Keys are 256 random bits, so neither needs a slow password hash.
 */
export const KEY_HASH_PATTERN = /^(sha256|hmac-sha256):([0-9a-f]{64})$/;

/** The prefix of every key Plugboard generates: easy to spot in a leak scanner, never in a JWT. */
export const KEY_PREFIX = 'pb_';

/**
 * The stored form of `key`: HMAC-SHA-256 with `pepper` when one is given, else SHA-256.
 *
 * @example
 * ```ts
 * hashKey('pb_abc'); // 'sha256:…64 hex digits'
 * hashKey('pb_abc', process.env.AUTH_PEPPER); // 'hmac-sha256:…'
 * ```
 */
export function hashKey(key: string, pepper?: string): string {
  if (pepper === undefined) return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
  return `hmac-sha256:${createHmac('sha256', pepper).update(key, 'utf8').digest('hex')}`;
}

/**
 * The stored forms a presented key may have: its SHA-256, and with a pepper its HMAC too
 * (a file may hold both kinds while keys are migrated). Both are always computed, so the
 * work done does not depend on which kind, if any, is stored.
 *
 * @example
 * ```ts
 * candidateHashes('pb_abc', pepper); // ['sha256:…', 'hmac-sha256:…']
 * ```
 */
export function candidateHashes(key: string, pepper: string | undefined): string[] {
  return pepper === undefined ? [hashKey(key)] : [hashKey(key), hashKey(key, pepper)];
}

/**
 * Compares two stored-form hashes in constant time (on their digest bytes).
 *
 * @example
 * ```ts
 * sameHash(hashKey(presented), record.hash);
 * ```
 */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  // Hashes of one form all have the same length; a length mismatch is a different form.
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * A new API key: 32 bytes from the system's CSPRNG, base64url-encoded, prefixed `pb_`.
 *
 * @example
 * ```ts
 * const key = generateKey(); // 'pb_' + 43 characters
 * ```
 */
export function generateKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}
