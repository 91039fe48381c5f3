/**
 * The admin token in a link's fragment (`/#token=…`, `#/dashboard&token=…`), read and cut
 * out: the rest of the fragment is the route the link meant, and is kept.
 */
export interface TokenInHash {
  /** The decoded token; undefined when its escapes were malformed (`%E0%A4%A`) or it was empty. */
  readonly token: string | undefined;
  /** The fragment without the token, always a route (`#/` when nothing else was there). */
  readonly hash: string;
}

const TOKEN_PARAMETER = /(^#|[&#?])token=([^&]*)/;

/**
 * Finds `token=` in a fragment; undefined when there is none. Never throws.
 *
 * @example
 * ```ts
 * takeTokenFromHash('#/dashboard&token=abc'); // { token: 'abc', hash: '#/dashboard' }
 * takeTokenFromHash('#token=%E0%A4%A');       // { token: undefined, hash: '#/' }
 * ```
 */
export function takeTokenFromHash(hash: string): TokenInHash | undefined {
  const match = TOKEN_PARAMETER.exec(hash);
  if (match === null) return undefined;
  const raw = match[2] ?? '';
  const start = match.index + (match[1] === '#' ? 1 : 0);
  let rest = hash.slice(0, start) + hash.slice(match.index + match[0].length);
  // What the token leaves behind: a separator at the end, or one doubled in the middle.
  rest = rest
    .replace(/[&?]+$/, '')
    .replace(/&&+/, '&')
    .replace(/^#&/, '#');
  if (!rest.startsWith('#/')) rest = `#/${rest.replace(/^#/, '')}`;
  return { token: decodeToken(raw), hash: rest };
}

function decodeToken(raw: string): string | undefined {
  try {
    const token = decodeURIComponent(raw).trim();
    return token === '' ? undefined : token;
  } catch {
    // A malformed escape: no token to adopt, but it still leaves the address.
    return undefined;
  }
}
