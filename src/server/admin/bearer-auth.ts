import { createHash, timingSafeEqual } from 'node:crypto';

/** What a request's `Authorization` header proved. */
export type BearerOutcome = 'ok' | 'missing' | 'invalid';

/**
 * A checker of `Authorization: Bearer <token>` headers against `token`. Both tokens are
 * hashed (SHA-256) and the digests compared with `timingSafeEqual`: the comparison takes the
 * same time whatever the token sent, its length included.
 *
 * @example
 * ```ts
 * const check = bearerCheck(settings.adminToken);
 * if (check(request.headers.authorization) !== 'ok') throw serverErrors.UNAUTHORIZED('…');
 * ```
 */
export function bearerCheck(token: string): (header: string | undefined) => BearerOutcome {
  const expected = digest(token);
  return (header) => {
    if (header === undefined || header.trim() === '') return 'missing';
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    // Hash even a malformed header, so that every refusal costs the same.
    const given = digest(match?.[1] ?? header);
    return timingSafeEqual(given, expected) && match !== null ? 'ok' : 'invalid';
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
