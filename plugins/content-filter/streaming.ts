import type { ChatContext, StreamingSupport } from '../../src/index.ts';
import { openPrivateKeyStart } from './detectors/secrets.ts';
import type { Scanner } from './scanner.ts';

/**
 * The most a stream is ever held back: a private key block until its END line, or a long
 * token without whitespace (a JWT, a connection string) until it ends. 16 KB holds a PEM
 * RSA-16384 key. Beyond it the runtime forces text out (see README, "Streaming").
 */
export const MAX_HOLD = 16_384;

/**
 * Windowed streaming for the filter's output rules.
 *
 * The streamed reply must come out exactly as the whole reply would be filtered, and no byte
 * of a value may leave before the value is recognised. So `holdBack` keeps at least the last
 * `window` characters, and moves the cut back until:
 *
 * - it follows whitespace: values without whitespace (e-mails, keys, tokens, URLs) are then
 *   never split, whatever their length, and the detectors' guards (`not after a letter`) see
 *   the same thing at a cut as at the start of a text;
 * - it does not separate two digit groups (`4111 |1111`): card, phone and IBAN groups stay together;
 * - no finding or candidate (a 16-digit run before its Luhn check, a phone-like run, a key
 *   name with its value) straddles it;
 * - no unfinished private key block lies before it.
 *
 * `transform` then filters the settled text as `processMessage` filters a whole reply.
 *
 * @example
 * ```ts
 * const streaming = createStreaming(outputScanner, 96, (text, context, final) => filterOutput(text, context));
 * ```
 */
export function createStreaming(
  scanner: Scanner,
  window: number,
  transform: (text: string, context: ChatContext, final: boolean) => string,
): StreamingSupport {
  const watchKeys = scanner.rules.has('secret');
  return {
    window: MAX_HOLD,
    holdBack(pending) {
      const length = pending.length;
      if (length <= window) return length;
      let limit = length - window;
      if (watchKeys) {
        const open = openPrivateKeyStart(pending);
        if (open >= 0) limit = Math.min(limit, open);
      }
      let cut = safeCut(pending, limit);
      if (cut === 0) return length;
      // Spans straddling a cut at or before `limit` end within `window` of it (those with
      // whitespace are at most `window` long; those without cannot straddle a cut after whitespace).
      const spans = scanner.spans(pending.slice(0, Math.min(length, limit + window)));
      for (let moved = true; moved && cut > 0; ) {
        moved = false;
        for (const span of spans) {
          if (span.start < cut && span.end > cut) {
            cut = safeCut(pending, span.start);
            moved = true;
          }
        }
      }
      return length - cut;
    },
    transform,
  };
}

/**
 * The largest position ≤ `limit` right after whitespace and not between two digit groups
 * (`12 |34`), or 0 when there is none.
 */
export function safeCut(text: string, limit: number): number {
  for (let at = limit; at > 0; at--) {
    if (!isSpace(text.charCodeAt(at - 1))) continue;
    if (at >= 2 && isDigit(text.charCodeAt(at - 2)) && isDigit(text.charCodeAt(at))) continue;
    return at;
  }
  return 0;
}

function isSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13) || code === 160 || code === 0x2028 || code === 0x2029;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}
