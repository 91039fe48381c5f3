import { createRequire } from 'node:module';
import type * as Obscenity from 'obscenity';
import { type Detector, type Finding, pushMatches, type Span } from './types.ts';

/**
 * obscenity, loaded when a profanity detector is built: its dataset costs ~75 ms and ~14 MB at
 * start, and the category is off by default (and in the logging plugin's redaction), so a
 * server that never filters profanity never pays for it.
 */
function loadObscenity(): typeof Obscenity {
  return createRequire(import.meta.url)('obscenity') as typeof Obscenity;
}

/**
 * Single letters joined by one repeated separator (`f.u.c.k`, `f u c k`, `f-u-c-k`, `f*u*c*k`):
 * obscenity's transformers do not join them, so such runs are joined here and checked again.
 */
const SPELLED_OUT = /(?<![\p{L}\p{N}])\p{L}([.\-_* ])(?:\p{L}\1){1,18}\p{L}(?![\p{L}\p{N}])/gu;
const LETTER = /[\p{L}\p{N}'’]/u;

/**
 * Profanity, found by obscenity's English dataset with its recommended transformers
 * (look-alike characters `ƒ`, leetspeak `sh1t`, repeated letters `fuuuck`, case), and spelled
 * out with separators (see SPELLED_OUT). A finding covers the whole word it is in
 * (`shithead`), so a redaction leaves no stem. The dataset's whitelist keeps Scunthorpe
 * problems away (`assassin`, `class assignment`).
 *
 * @example profanityDetector().find('what the fuck', out)
 */
export function profanityDetector(): Detector {
  const { englishDataset, englishRecommendedTransformers, RegExpMatcher } = loadObscenity();
  const matcher = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });
  return {
    category: 'profanity',
    find(text: string, out: Finding[]) {
      for (const match of matcher.getAllMatches(text, true)) {
        out.push({ ...wholeWord(text, match.startIndex, match.endIndex + 1), category: 'profanity' });
      }
      SPELLED_OUT.lastIndex = 0;
      for (let match = SPELLED_OUT.exec(text); match !== null; match = SPELLED_OUT.exec(text)) {
        // Letter i of the joined word is character 2i of the run (one separator between letters).
        const joined = match[0].split(match[1] ?? '').join('');
        for (const hit of matcher.getAllMatches(joined, true)) {
          const start = match.index + hit.startIndex * 2;
          out.push({ start, end: match.index + hit.endIndex * 2 + 1, category: 'profanity' });
        }
      }
    },
    // A spelled-out word may contain spaces: the streaming cut must not split it.
    candidates: (text: string, out: Span[]) => pushMatches(SPELLED_OUT, text, out),
  };
}

/** The span grown to the word around it (letters, digits, apostrophes). */
function wholeWord(text: string, start: number, end: number): { start: number; end: number } {
  let from = start;
  let to = end;
  while (from > 0 && LETTER.test(text[from - 1]!)) from--;
  while (to < text.length && LETTER.test(text[to]!)) to++;
  return { start: from, end: to };
}
