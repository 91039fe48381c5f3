import { appliesTo, BUILTIN_CATEGORIES, type CategoryRule, type ContentFilterConfig } from './config.ts';
import { customRegexDetector, wordListDetector } from './detectors/custom.ts';
import { emailDetector } from './detectors/email.ts';
import { ibanDetector } from './detectors/iban.ts';
import { ipDetector } from './detectors/ip.ts';
import { paymentCardDetector } from './detectors/payment-card.ts';
import { phoneDetector } from './detectors/phone.ts';
import { profanityDetector } from './detectors/profanity.ts';
import { secretlintDetector } from './detectors/secretlint.ts';
import { prefixedSecretsDetector } from './detectors/secrets.ts';
import { ssnDetector } from './detectors/ssn.ts';
import type { Detector, Finding, Span } from './detectors/types.ts';

/** Which way a message goes: the user's message to the model, or the model's reply. */
export type Way = 'input' | 'output';

/**
 * The detectors in effect for one direction, and what to do with what they find. Built once
 * per config (detectors hold compiled patterns and matchers, which are costly to build).
 */
export interface Scanner {
  /** The rules of this direction, by category. */
  readonly rules: ReadonlyMap<string, CategoryRule>;
  /** True when no rule applies to this direction (the text can pass untouched). */
  readonly empty: boolean;
  /** Non-overlapping findings, in text order: an earlier one wins, then a longer one, then by category order. */
  scan(text: string): Finding[];
  /** Every finding and candidate, overlaps kept: where a streaming cut must not fall. */
  spans(text: string): Span[];
}

/**
 * Builds the scanner of one direction from the config.
 *
 * @example
 * ```ts
 * const input = createScanner(contentFilterConfigSchema.parse({}), 'input');
 * input.scan('mail me: a@b.io'); // [{ start: 9, end: 15, category: 'email' }]
 * ```
 */
export function createScanner(config: ContentFilterConfig, way: Way): Scanner {
  const rules = new Map<string, CategoryRule>();
  const detectors: Detector[] = [];
  const add = (rule: CategoryRule, ...made: Detector[]) => {
    rules.set(rule.category, rule);
    detectors.push(...made);
  };
  for (const category of BUILTIN_CATEGORIES) {
    const { action, direction } = config.categories[category];
    if (action === 'off' || !appliesTo(direction, way)) continue;
    add({ category, action, direction }, ...builtinDetectors(category, config));
  }
  for (const entry of config.custom) {
    if (entry.action === 'off' || !appliesTo(entry.direction, way)) continue;
    add(
      { category: entry.name, action: entry.action, direction: entry.direction },
      customRegexDetector(entry.name, entry.pattern, entry.flags),
    );
  }
  for (const entry of config.words) {
    if (entry.action === 'off' || !appliesTo(entry.direction, way)) continue;
    add(
      { category: entry.name, action: entry.action, direction: entry.direction },
      wordListDetector(entry.name, entry.list),
    );
  }
  // Ties between findings of the same span go to the category listed first.
  const order = new Map([...rules.keys()].map((category, index) => [category, index]));
  return {
    rules,
    empty: detectors.length === 0,
    scan(text) {
      if (detectors.length === 0 || text === '') return [];
      const found: Finding[] = [];
      for (const detector of detectors) detector.find(text, found);
      return resolveOverlaps(found, order);
    },
    spans(text) {
      const spans: Span[] = [];
      if (text === '') return spans;
      const found: Finding[] = [];
      for (const detector of detectors) {
        detector.find(text, found);
        detector.candidates?.(text, spans);
      }
      for (const finding of found) spans.push(finding);
      return spans;
    },
  };
}

function builtinDetectors(category: (typeof BUILTIN_CATEGORIES)[number], config: ContentFilterConfig): Detector[] {
  switch (category) {
    case 'secret':
      return [secretlintDetector(), prefixedSecretsDetector()];
    case 'card':
      return [paymentCardDetector()];
    case 'iban':
      return [ibanDetector()];
    case 'ssn':
      return [ssnDetector()];
    case 'email':
      return [emailDetector()];
    case 'phone':
      return [phoneDetector(config.default_region)];
    case 'ip':
      return [ipDetector()];
    case 'profanity':
      return [profanityDetector()];
  }
}

/** Keeps findings that do not overlap an earlier-starting (or longer, or preferred) one. */
function resolveOverlaps(found: Finding[], order: ReadonlyMap<string, number>): Finding[] {
  if (found.length <= 1) return found;
  found.sort(
    (a, b) => a.start - b.start || b.end - a.end || (order.get(a.category) ?? 0) - (order.get(b.category) ?? 0),
  );
  const kept: Finding[] = [];
  let reached = 0;
  for (const finding of found) {
    if (finding.start < reached) continue;
    kept.push(finding);
    reached = finding.end;
  }
  return kept;
}
