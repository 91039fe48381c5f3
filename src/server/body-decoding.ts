import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { PlugboardError } from '../core/errors/plugboard-error.ts';
import { serverErrors } from './server-errors.ts';

/**
 * The `Content-Encoding`s of request bodies Plugboard decodes, each a streaming node:zlib
 * decoder (zstd too where the Node version has it). How much a body may decode to is bounded
 * by whoever reads the decoder (see body-reading.ts): a zip bomb is cut at the body limit.
 */
const DECODERS: Readonly<Record<string, () => Transform>> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
  ...zstdDecoder(),
};

/** What a 415 answers in `Accept-Encoding` (RFC 9110 §12.5.3): the codings Plugboard decodes. */
export const ACCEPTED_ENCODINGS = Object.keys(DECODERS)
  .filter((coding) => coding !== 'x-gzip')
  .join(', ');

/** More codings than this on one body is no real client (and a cheap way to stack decoders). */
const MAX_CODINGS = 3;

/**
 * The content codings of a request, in the order they must be undone (the last applied
 * first); `identity` dropped. Empty: the body is sent as is.
 *
 * @throws PlugboardError `UNSUPPORTED_CONTENT_ENCODING` (415) naming a coding Plugboard cannot decode.
 * @example
 * ```ts
 * contentCodings('gzip, br'); // ['br', 'gzip']
 * ```
 */
export function contentCodings(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const codings = (Array.isArray(header) ? header.join(',') : header)
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  for (const coding of codings) {
    if (!Object.hasOwn(DECODERS, coding)) {
      throw serverErrors.UNSUPPORTED_CONTENT_ENCODING(
        `Content-Encoding "${coding.slice(0, 40)}" is not supported; send the body uncompressed or encoded as ${ACCEPTED_ENCODINGS}`,
      );
    }
  }
  if (codings.length > MAX_CODINGS) {
    throw serverErrors.UNSUPPORTED_CONTENT_ENCODING(
      `Content-Encoding lists ${codings.length} codings; at most ${MAX_CODINGS} are decoded`,
    );
  }
  return codings.reverse();
}

/** A streaming decoder of one coding that {@link contentCodings} accepted. */
export function decoderFor(coding: string): Transform {
  const create = DECODERS[coding];
  if (create === undefined) throw new Error(`no decoder for ${coding}`);
  return create();
}

/** The 400 of a body that is not what its `Content-Encoding` says (zlib's reason appended). */
export function invalidEncoding(coding: string, cause: unknown): PlugboardError {
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new PlugboardError(
    'REQUEST_INVALID',
    `The request body is not valid ${coding} data (Content-Encoding: ${coding})${reason}`,
    { details: { param: null } },
  );
}

function zstdDecoder(): Record<string, () => Transform> {
  const create = (zlib as { createZstdDecompress?: () => Transform }).createZstdDecompress;
  return typeof create === 'function' ? { zstd: () => create() } : {};
}
