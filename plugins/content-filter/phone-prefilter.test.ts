/**
 * The phone detector skips libphonenumber on text that cannot hold a valid number (too few
 * digits in any run). The skip must never change what is found: checked against
 * libphonenumber itself on random digit-heavy texts, and the bound against its metadata.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type CountryCode, findPhoneNumbersInText, getCountries, isSupportedCountry } from 'libphonenumber-js';
import metadata from 'libphonenumber-js/metadata.min.json';
import { fewestDigits, longestDigitRun, phoneDetector } from './detectors/phone.ts';
import type { Finding } from './detectors/types.ts';

describe('phone prefilter', () => {
  test('the bound is no more than the shortest number any plan allows, with or without +country', () => {
    assert.equal(fewestDigits('US'), 6); // +43 1234 (Austria: 4-digit national numbers)
    assert.equal(fewestDigits('DE'), 4); // German national numbers can be 4 digits
    assert.equal(fewestDigits('AR'), 3); // a national prefix rule rewrites digits: old bound
    const bound = fewestDigits(undefined);
    // Non-geographic plans (+800, +882 …) are not among getCountries(): none may go below the bound.
    for (const [code, plan] of Object.entries(metadata.nonGeographic)) {
      const lengths = (plan as unknown as readonly unknown[])[3];
      const shortest = Array.isArray(lengths) ? Math.min(...lengths.map(Number)) : 0;
      assert.ok(code.length + shortest >= bound, `+${code}: ${code.length + shortest} < ${bound}`);
    }
    for (const country of getCountries()) assert.ok(fewestDigits(country) <= bound, country);
  });

  test('digit runs: digits joined by up to 4 punctuation characters', () => {
    assert.equal(longestDigitRun('call (415) 555-2671 now', 99), 10);
    assert.equal(longestDigitRun('42.50 at 9:00', 99), 4);
    assert.equal(longestDigitRun('１２３-４５６', 99), 6);
    assert.equal(longestDigitRun('12 -  -  34', 99), 2);
    assert.equal(longestDigitRun('no digits', 99), 0);
  });

  test('property: the detector finds exactly what libphonenumber finds', () => {
    const piece = fc.constantFrom(
      '(415) 555-2671',
      '+43 1234',
      '+683 1234',
      '030 12345678',
      '415.555.2671 ext. 12',
      '+1-415-555-2671',
      '２０２-５５５-０１７３',
      '2024-01-15 08:00',
      '12/03/2024',
      '42.50',
      '10.0.0.7',
      '9:00',
      'call',
      'x',
      '#',
      '+',
      '(',
      '-',
      ' ',
      '\u00a0',
      '7',
      '55',
      '1234',
    );
    for (const region of ['US', 'DE', 'AR', 'NU', 'ZZ']) {
      const detector = phoneDetector(region);
      const country = isSupportedCountry(region) ? (region as CountryCode) : undefined;
      fc.assert(
        fc.property(fc.array(piece, { maxLength: 12 }), fc.constantFrom('', ' '), (parts, joint) => {
          const text = parts.join(joint);
          const found: Finding[] = [];
          detector.find(text, found);
          const expected = (
            country ? findPhoneNumbersInText(text, { defaultCountry: country }) : findPhoneNumbersInText(text)
          ).map((number) => ({ start: number.startsAt, end: number.endsAt, category: 'phone' }));
          assert.deepEqual(found, expected, `${region}: ${JSON.stringify(text)}`);
        }),
        { numRuns: 400, seed: 7 },
      );
    }
  });
});
