import type { ParsedDocument, TextBlock } from './parsed-document.ts';

/**
 * Plain text: paragraphs are separated by blank lines; there are no headings.
 *
 * @example
 * ```ts
 * parsePlainText('First paragraph.\n\nSecond one.').blocks; // two paragraphs
 * ```
 */
export function parsePlainText(text: string): ParsedDocument {
  return { format: 'text', text, blocks: paragraphBlocks(text, 0, text.length) };
}

/**
 * The paragraphs of `text.slice(from, to)`: runs of lines separated by blank lines, trimmed
 * of surrounding whitespace; `page` is copied onto each.
 */
export function paragraphBlocks(text: string, from: number, to: number, page?: number): TextBlock[] {
  const blocks: TextBlock[] = [];
  const separator = /\n[ \t\f\v\r]*\n\s*/g;
  separator.lastIndex = from;
  let start = from;
  for (;;) {
    const match = separator.exec(text);
    const end = match === null || match.index >= to ? to : match.index;
    pushTrimmed(blocks, text, start, end, page);
    if (match === null || match.index >= to) break;
    start = Math.min(match.index + match[0].length, to);
  }
  return blocks;
}

function pushTrimmed(blocks: TextBlock[], text: string, start: number, end: number, page: number | undefined): void {
  let from = start;
  let to = end;
  while (from < to && /\s/.test(text[from]!)) from++;
  while (to > from && /\s/.test(text[to - 1]!)) to--;
  if (to > from)
    blocks.push(
      page === undefined
        ? { kind: 'paragraph', start: from, end: to }
        : { kind: 'paragraph', start: from, end: to, page },
    );
}
