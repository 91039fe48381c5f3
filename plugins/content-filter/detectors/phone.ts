import {
  type CountryCode,
  findPhoneNumbersInText,
  getCountries,
  getCountryCallingCode,
  isSupportedCountry,
  Metadata,
} from 'libphonenumber-js';
import { type Detector, type Finding, pushMatches, type Span } from './types.ts';

/**
 * Phone-like runs (digits with the punctuation numbers are written with), a superset of what
 * libphonenumber looks at: the streaming cut never splits one.
 */
const PHONE_LIKE = /[+(]?\d[\d\s()./-]{4,24}\d/g;

/**
 * Phone numbers, found and validated by libphonenumber-js (`findPhoneNumbersInText`, which
 * keeps only numbers valid for their region: length, area codes, number ranges). Numbers
 * written without `+country` are read as numbers of `region`.
 *
 * @example phoneDetector('US').find('call (415) 555-2671', out)
 */
export function phoneDetector(region: string): Detector {
  const defaultCountry = isSupportedCountry(region) ? (region as CountryCode) : undefined;
  const fewest = fewestDigits(defaultCountry);
  return {
    category: 'phone',
    find(text: string, out: Finding[]) {
      // libphonenumber costs ~10 µs even on text without digits, and far more on text with a
      // few (every candidate is parsed): skip text that cannot hold a valid number.
      if (longestDigitRun(text, fewest) < fewest) return;
      const found = defaultCountry ? findPhoneNumbersInText(text, { defaultCountry }) : findPhoneNumbersInText(text);
      for (const number of found) out.push({ start: number.startsAt, end: number.endsAt, category: 'phone' });
    },
    candidates: (text: string, out: Span[]) => pushMatches(PHONE_LIKE, text, out),
  };
}

/**
 * The fewest digits a number libphonenumber finds can be written with, from its metadata: a
 * `+country` number has the calling code's digits and at least its country's shortest national
 * number (`+43 1234`: 6); a national number, at least the default region's shortest (US: 10).
 * A region whose national prefix rule rewrites digits (`AR`, `BR` …) could parse fewer written
 * digits into a longer number, so there only the old bound (3 digits) holds.
 */
export function fewestDigits(defaultCountry: CountryCode | undefined): number {
  const metadata = new Metadata();
  const shortest = (country: CountryCode): number => {
    metadata.selectNumberingPlan(country);
    return Math.min(...(metadata.numberingPlan?.possibleLengths() ?? [1]));
  };
  let fewest = Number.POSITIVE_INFINITY;
  for (const country of getCountries()) {
    fewest = Math.min(fewest, getCountryCallingCode(country).length + shortest(country));
  }
  if (defaultCountry !== undefined) {
    const national = shortest(defaultCountry);
    const plan = metadata.numberingPlan as unknown as { nationalPrefixTransformRule?: () => string | undefined };
    fewest = Math.min(fewest, plan.nationalPrefixTransformRule?.() ? 3 : national);
  }
  return Math.max(3, fewest);
}

/**
 * The most digits in one run of `text` where digits are separated by at most 4 characters of
 * phone punctuation (dashes, slashes, dots, brackets, tildes, spaces) — a superset of the runs
 * libphonenumber's matcher takes as candidates — stopping early once `enough` is reached.
 */
export function longestDigitRun(text: string, enough: number): number {
  let best = 0;
  let digits = 0;
  let gap = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (isDigit(code)) {
      digits++;
      gap = 0;
      if (digits > best) {
        best = digits;
        if (best >= enough) return best;
      }
    } else if (digits > 0 && gap < 4 && isPunctuation(code)) {
      gap++;
    } else {
      digits = 0;
      gap = 0;
    }
  }
  return best;
}

const OTHER_DIGIT = /\p{Nd}/u;
const OTHER_PUNCTUATION =
  /[\p{Z}\s\u00AD\u200B\u2060\u2010-\u2015\u2212\u30FC\uFF0D\uFF0F\uFF0E\uFF08\uFF09\uFF3B\uFF3D\u2053\u223C\uFF5E]/u;

function isDigit(code: number): boolean {
  if (code < 128) return code >= 48 && code <= 57;
  return OTHER_DIGIT.test(String.fromCharCode(code));
}

function isPunctuation(code: number): boolean {
  if (code < 128) {
    // space, \t\n\v\f\r, ( ) - . / [ ] ~
    return (
      code === 32 ||
      (code >= 9 && code <= 13) ||
      code === 40 ||
      code === 41 ||
      code === 45 ||
      code === 46 ||
      code === 47 ||
      code === 91 ||
      code === 93 ||
      code === 126
    );
  }
  return OTHER_PUNCTUATION.test(String.fromCharCode(code));
}
