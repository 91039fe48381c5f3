import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { shownSource } from './model-source.ts';

/**
 * Where a part file's bytes came from, kept next to it as `<file>.part.json`: the source URL and
 * the server's validator of that version of the file (a strong `ETag`, else `Last-Modified`).
 * A resume sends the validator as `If-Range`, so a server whose file changed since sends the
 * whole new file (200) instead of the rest of another one; a part from another URL, or one with
 * no record, is started over. Without this a resume could splice two different files. The file
 * holds the URL as logs show it (query hidden: it may be a presigned token) and its SHA-256.
 */
export interface PartOrigin {
  /** The source URL the pull asked for (before redirects). */
  readonly url: string;
  /** `If-Range` value for a resume; undefined when the server gave no usable validator. */
  readonly validator: string | undefined;
}

/** What the record on disk holds. */
interface StoredOrigin {
  readonly source: string;
  readonly urlSha256: string;
  readonly validator?: string;
}

/** True when the record says the part's bytes came from `url`. */
export function cameFrom(origin: StoredPartOrigin | undefined, url: URL): boolean {
  return origin !== undefined && origin.urlSha256 === sha256(url.href);
}

/** A part's origin as read back. */
export interface StoredPartOrigin {
  readonly urlSha256: string;
  readonly validator: string | undefined;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The sidecar file of a part file. */
export function originFileOf(part: string): string {
  return `${part}.json`;
}

/**
 * The recorded origin of `part`; undefined when there is none or it cannot be read.
 *
 * @example
 * ```ts
 * const origin = await readPartOrigin('/srv/models/model.gguf.part'); // { urlSha256: '9f…', validator: '"abc"' }
 * if (!cameFrom(origin, url)) await removePart('/srv/models/model.gguf.part');
 * ```
 */
export async function readPartOrigin(part: string): Promise<StoredPartOrigin | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(originFileOf(part), 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { urlSha256, validator } = parsed as Record<string, unknown>;
    if (typeof urlSha256 !== 'string') return undefined;
    return { urlSha256, validator: typeof validator === 'string' && validator !== '' ? validator : undefined };
  } catch {
    return undefined;
  }
}

/** Records where the bytes `part` is about to receive from byte 0 come from. */
export async function writePartOrigin(part: string, origin: PartOrigin): Promise<void> {
  const stored: StoredOrigin = {
    source: shownSource(origin.url),
    urlSha256: sha256(origin.url),
    ...(origin.validator === undefined ? {} : { validator: origin.validator }),
  };
  await writeFile(originFileOf(part), `${JSON.stringify(stored)}\n`);
}

/** Deletes a part file and its origin record. */
export async function removePart(part: string): Promise<void> {
  await rm(part, { force: true });
  await rm(originFileOf(part), { force: true });
}

/**
 * The validator of a response for `If-Range`: a strong ETag (a weak one, `W/"…"`, may not be
 * used there), else `Last-Modified`; undefined when it has neither.
 */
export function validatorOf(headers: Headers): string | undefined {
  const etag = headers.get('etag')?.trim();
  if (etag !== undefined && etag !== '' && !etag.startsWith('W/')) return etag;
  const lastModified = headers.get('last-modified')?.trim();
  return lastModified === undefined || lastModified === '' ? undefined : lastModified;
}
