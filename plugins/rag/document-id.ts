import { createHash } from 'node:crypto';

/**
 * A document's id: stable for a collection and a name, so that adding a file of the same
 * name again replaces it. Readable (a slug of the name) and unique (a hash of both), and safe
 * in a URL path: `refund-policy-pdf-3f2a9c41d07e`.
 *
 * @example
 * ```ts
 * documentIdFor('handbook', 'Refund policy.pdf'); // 'refund-policy-pdf-…' (12 hex digits)
 * ```
 */
export function documentIdFor(collection: string, name: string): string {
  const slug =
    name
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 48)
      .replace(/-+$/, '') || 'document';
  const hash = createHash('sha256').update(`${collection}\0${name}`).digest('hex').slice(0, 12);
  return `${slug}-${hash}`;
}

/** The id of a document's chunk in the search index: `<documentId>#<n>`. */
export function chunkIdFor(documentId: string, index: number): string {
  return `${documentId}#${index}`;
}

/** The SHA-256 of some bytes and strings, in hex. */
export function sha256(...parts: readonly (Uint8Array | string)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    hash.update(part);
    hash.update('\0');
  }
  return hash.digest('hex');
}
