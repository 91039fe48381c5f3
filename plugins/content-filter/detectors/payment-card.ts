import { type Detector, regexDetector } from './types.ts';

/**
 * Payment card numbers: 13–19 digits, contiguous or in the groups cards are printed in
 * (4-4-4-4, 4-4-4-4-3, 4-6-5 Amex, 4-6-4 Diners), separated by single spaces or dashes, the
 * same separator throughout. Not inside a longer run of digits, words or dashes (UUIDs, ids).
 */
const CARD =
  /(?<![\w-]|\d[ -])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5})(?![\w-]|[ -]\d|\.\d)/g;

/**
 * Luhn-checked card numbers whose first digit is one the major networks issue (2–6: Mastercard,
 * Amex, Diners, JCB, Visa, Discover, UnionPay, Maestro): a random 16-digit number passes Luhn
 * one time in ten, so the prefix halves the false positives on order numbers and ids.
 *
 * @example paymentCardDetector().find('card 4111 1111 1111 1111', out)
 */
export function paymentCardDetector(): Detector {
  return regexDetector('card', CARD, (match) => {
    const digits = match.replace(/[ -]/g, '');
    return digits.length >= 13 && digits.length <= 19 && /^[2-6]/.test(digits) && luhn(digits);
  });
}

/** The Luhn (mod 10) checksum every payment card number carries in its last digit. */
export function luhn(digits: string): boolean {
  let sum = 0;
  for (let index = 0; index < digits.length; index++) {
    let digit = digits.charCodeAt(digits.length - 1 - index) - 48;
    if (index % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}
