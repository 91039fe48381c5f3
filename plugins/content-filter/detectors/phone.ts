import { type CountryCode, findPhoneNumbersInText, isSupportedCountry } from 'libphonenumber-js';
import { type Detector, type Finding, pushMatches, type Span } from './types.ts';

/**
 * Phone-like runs (digits with the punctuation numbers are written with), a superset of what
 * libphonenumber looks at: the streaming cut never splits one.
 */
const PHONE_LIKE = /[+(]?\d[\d\s()./-]{4,24}\d/g;

/** Digits only, then the characters libphonenumber needs before it finds anything. */
const HAS_DIGITS = /\d[\s\d()./-]*\d[\s\d()./-]*\d/;

/**
 * Phone numbers, found and validated by libphonenumber-js (`findPhoneNumbersInText`, which
 * keeps only numbers valid for their region: length, area codes, number ranges). Numbers
 * written without `+country` are read as numbers of `region`.
 *
 * @example phoneDetector('US').find('call (415) 555-2671', out)
 */
export function phoneDetector(region: string): Detector {
  const defaultCountry = isSupportedCountry(region) ? (region as CountryCode) : undefined;
  return {
    category: 'phone',
    find(text: string, out: Finding[]) {
      // libphonenumber costs ~10 µs even on text without digits: skip those.
      if (!HAS_DIGITS.test(text)) return;
      const found = defaultCountry ? findPhoneNumbersInText(text, { defaultCountry }) : findPhoneNumbersInText(text);
      for (const number of found) out.push({ start: number.startsAt, end: number.endsAt, category: 'phone' });
    },
    candidates: (text: string, out: Span[]) => pushMatches(PHONE_LIKE, text, out),
  };
}
