import { modelFileErrors } from './model-file-errors.ts';
import { shownSource } from './model-source.ts';

/** A download's response, with what the Hub said about the file on the way. */
export interface FetchedModelFile {
  readonly response: Response;
  /** The URL that answered (after redirects). */
  readonly finalUrl: URL;
  /** SHA-256 (hex) from the Hub's `x-linked-etag` (large, LFS-stored files), when given. */
  readonly sha256: string | undefined;
  /** Size from the Hub's `x-linked-size`, when given. */
  readonly size: number | undefined;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

/**
 * GETs `url`, from byte `from` on (`Range: bytes=from-`) when it is above 0 — only if the file
 * is still the version `ifRange` names (`If-Range`: an ETag or a date), else the server sends it
 * whole with 200. Redirects are
 * followed by hand, not by fetch: the Hub answers a file's `resolve/` URL with a redirect to its
 * storage, and the file's checksum and size (`x-linked-etag`, `x-linked-size`) are headers of
 * that redirect, which fetch would hide. An https URL never redirects to http.
 *
 * @throws PlugboardError `MODEL_DOWNLOAD_FAILED` when the server cannot be reached or redirects
 *   badly; an abort of `signal` is thrown as it is (the caller names it).
 */
export async function fetchModelFile(
  url: URL,
  from: number,
  signal: AbortSignal | undefined,
  ifRange?: string,
): Promise<FetchedModelFile> {
  let current = url;
  let sha256: string | undefined;
  let size: number | undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    let response: Response;
    try {
      response = await fetch(current, {
        redirect: 'manual',
        ...(signal === undefined ? {} : { signal }),
        headers: {
          // Byte offsets of a range are offsets in the file only if it is sent as it is.
          'accept-encoding': 'identity',
          'user-agent': 'plugboard',
          ...(from > 0 ? { range: `bytes=${from}-` } : {}),
          ...(from > 0 && ifRange !== undefined ? { 'if-range': ifRange } : {}),
        },
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw modelFileErrors.MODEL_DOWNLOAD_FAILED(
        `Cannot reach ${current.host} (${networkCause(error)}): without a network, copy a .gguf file into the models folder instead, or set HF_ENDPOINT to a mirror this machine can reach`,
        {
          cause: error,
          details: { url: shownSource(current) },
        },
      );
    }
    sha256 ??= linkedSha256(response.headers.get('x-linked-etag'));
    size ??= linkedSize(response.headers.get('x-linked-size'));
    if (!REDIRECTS.has(response.status)) return { response, finalUrl: current, sha256, size };
    await response.body?.cancel();
    const location = response.headers.get('location');
    let next: URL | undefined;
    try {
      next = location === null ? undefined : new URL(location, current);
    } catch {
      next = undefined;
    }
    if (next === undefined || (next.protocol !== 'https:' && next.protocol !== 'http:')) {
      throw modelFileErrors.MODEL_DOWNLOAD_FAILED(
        `${current.host} answered ${response.status} with no usable Location (${location ?? 'none'})`,
        { details: { url: shownSource(current) } },
      );
    }
    if (current.protocol === 'https:' && next.protocol === 'http:') {
      throw modelFileErrors.MODEL_DOWNLOAD_FAILED(
        `${current.host} redirected from https to plain http (${next.host}); refused`,
        { details: { url: shownSource(current) } },
      );
    }
    current = next;
  }
  throw modelFileErrors.MODEL_DOWNLOAD_FAILED(`${url.host} redirected more than ${MAX_REDIRECTS} times`, {
    details: { url: shownSource(url) },
  });
}

/** The error for a response that is not the file (404, 401 …), saying what to check. */
export function httpStatusError(response: Response, url: URL) {
  const status = response.status;
  const advice =
    status === 404
      ? 'no such file: check the owner, repository, branch and file name (the name is case-sensitive)'
      : status === 401 || status === 403
        ? 'access refused: the repository may be gated or private (accept its terms on the website, then download the file by hand into the models folder)'
        : status === 429
          ? 'too many requests: wait a minute and pull again (the part file is kept)'
          : status >= 500
            ? 'the server has a problem: try again later (the part file is kept)'
            : `unexpected answer ${status} ${response.statusText}`;
  return modelFileErrors.MODEL_DOWNLOAD_FAILED(`${url.host} answered ${status}: ${advice}`, {
    details: { url: shownSource(url), status },
  });
}

/** The start and total size from `Content-Range: bytes a-b/total` (or the star form of a 416). */
export function contentRangeOf(header: string | null): { start: number | undefined; total: number | undefined } {
  const match = header === null ? null : /^bytes (?:(\d+)-\d+|\*)\/(\d+|\*)$/i.exec(header.trim());
  if (match === null) return { start: undefined, total: undefined };
  const start = match[1] === undefined ? undefined : Number(match[1]);
  const total = match[2] === '*' || match[2] === undefined ? undefined : Number(match[2]);
  return { start, total };
}

/** The Hub quotes a file's SHA-256 in `x-linked-etag` for LFS files; anything else is no SHA-256. */
function linkedSha256(header: string | null): string | undefined {
  const match = header === null ? null : /^(?:W\/)?"?([0-9a-f]{64})"?$/i.exec(header.trim());
  return match?.[1]?.toLowerCase();
}

function linkedSize(header: string | null): number | undefined {
  if (header === null || !/^\d{1,16}$/.test(header.trim())) return undefined;
  return Number(header.trim());
}

/** undici puts the real reason (ECONNREFUSED, ENOTFOUND …) in the cause. */
export function networkCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
