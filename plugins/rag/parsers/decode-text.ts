import { ragErrors } from '../errors.ts';

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * The bytes of a text document as a string (UTF-8, a byte-order mark dropped).
 *
 * @throws PlugboardError `rag/UNREADABLE_DOCUMENT` when the bytes are not UTF-8.
 */
export function decodeUtf8(content: Uint8Array, name: string): string {
  try {
    return UTF8.decode(content);
  } catch {
    throw ragErrors.UNREADABLE_DOCUMENT(`"${name}" is not UTF-8 text`);
  }
}
