/** A range of a text: `start` inclusive, `end` exclusive (as String.prototype.slice). */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** A value found in a text, and the category it belongs to (`email`, `card`, or a custom name). */
export interface Finding extends Span {
  readonly category: string;
}

/**
 * Finds one family of values in a text.
 *
 * `find` reports validated values. `candidates` reports raw shapes before validation (a
 * 16-digit run before its Luhn check, a phone-like run before libphonenumber): the streaming
 * cut never falls inside one, so that a value is judged on the same text whether the reply is
 * streamed or not. A detector without `candidates` is judged by its findings alone.
 */
export interface Detector {
  readonly category: string;
  find(text: string, out: Finding[]): void;
  candidates?(text: string, out: Span[]): void;
}

/** Pushes every match of `pattern` (global) in `text` as a span. */
export function pushMatches(pattern: RegExp, text: string, out: Span[]): void {
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    out.push({ start: match.index, end: match.index + match[0].length });
    if (match[0].length === 0) pattern.lastIndex++;
  }
}

/**
 * A detector made of one global regex and a check of each match (a checksum, a range). A
 * rejected match does not consume text the regex could match again from a later position.
 */
export function regexDetector(
  category: string,
  pattern: RegExp,
  accept: (match: string) => boolean = () => true,
): Detector {
  return {
    category,
    find(text, out) {
      pattern.lastIndex = 0;
      for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
        if (accept(match[0])) out.push({ start: match.index, end: match.index + match[0].length, category });
        else pattern.lastIndex = match.index + 1;
      }
    },
    candidates: (text, out) => pushMatches(pattern, text, out),
  };
}
