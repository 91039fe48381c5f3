import { type Detector, regexDetector } from './types.ts';

/**
 * US social security numbers written `123-45-6789` or `123 45 6789` (the same separator
 * twice). Numbers the SSA never issues are skipped: area 000, 666 and 900–999, group 00,
 * serial 0000. Nine bare digits are not matched: too many other numbers look like that.
 */
const SSN = /(?<![\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-]|\.\d)/g;

/** @example ssnDetector().find('SSN 123-45-6789', out) */
export function ssnDetector(): Detector {
  return regexDetector('ssn', SSN);
}
