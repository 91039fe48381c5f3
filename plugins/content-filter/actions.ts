import type { CategoryRule } from './config.ts';
import type { Finding } from './detectors/types.ts';

/** What applying the rules to a text gave. Counts are per category; no matched text is kept. */
export interface Outcome {
  readonly text: string;
  /** Every finding's category and how many, whatever its action. */
  readonly counts: Readonly<Record<string, number>>;
  /** Categories whose action is `block` that were found (empty: the text may pass). */
  readonly blocked: readonly string[];
  /** Categories whose action is `flag` that were found. */
  readonly flagged: readonly string[];
}

/** Values shorter than this are masked entirely: their last 4 characters would be too much of them. */
const MASK_KEEP_FROM = 12;
const MASK_KEEP = 4;

/**
 * Applies each finding's action: `redact` → `[category]`, `mask` → `*` but the last 4
 * characters (values of 12 characters or more), `flag` and `block` → unchanged (the caller
 * reports or refuses). Findings must be non-overlapping and in text order (Scanner.scan).
 *
 * @example
 * applyActions('mail a@b.io', [{ start: 5, end: 11, category: 'email' }], rules).text // 'mail [email]'
 */
export function applyActions(
  text: string,
  findings: readonly Finding[],
  rules: ReadonlyMap<string, CategoryRule>,
): Outcome {
  if (findings.length === 0) return { text, counts: {}, blocked: [], flagged: [] };
  const counts: Record<string, number> = {};
  const blocked = new Set<string>();
  const flagged = new Set<string>();
  let result = '';
  let at = 0;
  for (const finding of findings) {
    const action = rules.get(finding.category)?.action ?? 'redact';
    counts[finding.category] = (counts[finding.category] ?? 0) + 1;
    if (action === 'block') blocked.add(finding.category);
    if (action === 'flag') flagged.add(finding.category);
    if (action !== 'redact' && action !== 'mask') continue;
    result += text.slice(at, finding.start);
    const value = text.slice(finding.start, finding.end);
    result += action === 'redact' ? `[${finding.category}]` : mask(value);
    at = finding.end;
  }
  result += text.slice(at);
  return { text: result, counts, blocked: [...blocked], flagged: [...flagged] };
}

/** `4111 1111 1111 1111` → `***************1111`; short values become all `*`. */
export function mask(value: string): string {
  // Count code points, so that a masked emoji does not leave half a surrogate pair.
  const chars = [...value];
  const keep = chars.length >= MASK_KEEP_FROM ? MASK_KEEP : 0;
  return '*'.repeat(chars.length - keep) + chars.slice(chars.length - keep).join('');
}
