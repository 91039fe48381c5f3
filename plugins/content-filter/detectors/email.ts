import { type Detector, regexDetector } from './types.ts';

/**
 * E-mail addresses: a local part (letters, digits, `. _ % + -`), `@`, and a domain of dotted
 * labels ending in a 2–24 letter top-level domain. Bounded quantifiers keep the longest match
 * finite, and the guards keep a match from starting or ending inside a longer word.
 */
const EMAIL =
  /(?<![\w.%+-])[A-Za-z0-9_%+-](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![\w-]|\.[A-Za-z0-9])/g;

/** @example emailDetector().find('write to a.b@example.org', out) */
export function emailDetector(): Detector {
  return regexDetector('email', EMAIL);
}
