import { type Detector, regexDetector } from './types.ts';

/**
 * A detector for a regular expression from the config (`custom:` entries). The pattern is
 * the operator's: it should match at most `window` characters when it can contain whitespace,
 * so that a streamed value is seen whole (see README).
 *
 * @example customRegexDetector('ticket', 'TICKET-\\d{4,}', 'i')
 */
export function customRegexDetector(name: string, pattern: string, flags: string): Detector {
  return regexDetector(name, new RegExp(pattern, `${flags}g`));
}

/**
 * A detector for a word list (`words:` entries): whole words (or phrases), any case, not
 * inside a longer word (`heck` does not match `check`).
 *
 * @example wordListDetector('internal', ['Project Falcon', 'falcon-db'])
 */
export function wordListDetector(name: string, words: readonly string[]): Detector {
  // Longest first, so that a phrase wins over a word it starts with.
  const escaped = [...words]
    .sort((a, b) => b.length - a.length)
    .map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+'));
  return regexDetector(name, new RegExp(`(?<![\\p{L}\\p{N}_])(?:${escaped.join('|')})(?![\\p{L}\\p{N}_])`, 'giu'));
}
