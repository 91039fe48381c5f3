import { isValidIBAN } from 'ibantools';
import { type Detector, type Finding, pushMatches, type Span } from './types.ts';

/**
 * IBAN-shaped runs: a country code, two check digits, then groups of four letters or digits
 * (with or without single spaces) and a shorter last group. Upper case only, as IBANs are written.
 */
const IBAN = /(?<![\w])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?!\w)/g;

/**
 * IBANs checked with ibantools (country, length and the mod-97 checksum). A spaced candidate
 * may have swallowed a following word of four capitals (`… 7654 32 ABCD`), so shorter forms
 * are tried too, dropping one trailing group at a time.
 *
 * @example ibanDetector().find('IBAN GB82 WEST 1234 5698 7654 32', out)
 */
export function ibanDetector(): Detector {
  return {
    category: 'iban',
    find(text: string, out: Finding[]) {
      IBAN.lastIndex = 0;
      for (let match = IBAN.exec(text); match !== null; match = IBAN.exec(text)) {
        const length = validPrefix(match[0]);
        if (length > 0) out.push({ start: match.index, end: match.index + length, category: 'iban' });
      }
    },
    candidates: (text: string, out: Span[]) => pushMatches(IBAN, text, out),
  };
}

/** The length of the longest valid IBAN the candidate starts with (whole groups only), or 0. */
function validPrefix(candidate: string): number {
  let current = candidate;
  for (let tries = 0; tries < 3; tries++) {
    if (isValidIBAN(current.replace(/ /g, ''))) return current.length;
    const space = current.lastIndexOf(' ');
    if (space < 0) return 0;
    current = current.slice(0, space);
  }
  return 0;
}
