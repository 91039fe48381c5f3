import type { ParsedDocument, TextBlock } from './parsed-document.ts';

const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/;
const THEMATIC_BREAK = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/**
 * Markdown, read line by line — enough to find what chunking needs, not a renderer: ATX
 * (`## Title`) and setext (`Title` over `===`) headings, paragraphs between blank lines, fenced
 * code blocks kept whole as paragraphs (a `#` in them is no heading), a YAML front matter
 * skipped, thematic breaks dropped. Offsets are in the Markdown source, which is the text.
 *
 * @example
 * ```ts
 * parseMarkdown('# Setup\n\nRun it.').blocks; // [{ kind: 'heading', title: 'Setup', … }, { kind: 'paragraph', … }]
 * ```
 */
export function parseMarkdown(text: string): ParsedDocument {
  return { format: 'markdown', text, blocks: markdownBlocks(text) };
}

/** The blocks of a Markdown text (see {@link parseMarkdown}). */
export function markdownBlocks(text: string): TextBlock[] {
  const blocks: TextBlock[] = [];
  let paragraph: { start: number; end: number } | undefined;
  let fence: string | undefined;
  const flush = () => {
    if (paragraph) blocks.push({ kind: 'paragraph', ...paragraph });
    paragraph = undefined;
  };
  for (const line of lines(text, frontMatterEnd(text))) {
    const content = text.slice(line.start, line.end);
    const firstVisible = line.start + (content.length - content.trimStart().length);
    const lastVisible = line.start + content.trimEnd().length;
    if (fence !== undefined) {
      paragraph = { start: paragraph?.start ?? firstVisible, end: Math.max(lastVisible, paragraph?.end ?? 0) };
      if (content.trim().startsWith(fence) && content.trim().replace(/[`~]/g, '') === '') {
        fence = undefined;
        flush();
      }
      continue;
    }
    const opening = FENCE.exec(content);
    if (opening) {
      flush();
      fence = opening[1]!;
      paragraph = { start: firstVisible, end: lastVisible };
      continue;
    }
    if (content.trim() === '') {
      flush();
      continue;
    }
    const atx = ATX_HEADING.exec(content);
    if (atx) {
      flush();
      blocks.push({
        kind: 'heading',
        start: firstVisible,
        end: lastVisible,
        level: atx[1]!.length,
        title: (atx[2] ?? '').trim(),
      });
      continue;
    }
    const underline = SETEXT_UNDERLINE.exec(content);
    if (underline && paragraph) {
      const title = text.slice(paragraph.start, paragraph.end).replace(/\s+/g, ' ').trim();
      blocks.push({
        kind: 'heading',
        start: paragraph.start,
        end: lastVisible,
        level: underline[1]!.startsWith('=') ? 1 : 2,
        title,
      });
      paragraph = undefined;
      continue;
    }
    if (THEMATIC_BREAK.test(content)) {
      flush();
      continue;
    }
    paragraph = { start: paragraph?.start ?? firstVisible, end: lastVisible };
  }
  flush();
  return blocks;
}

/** Each line's start and end (without its line break), from `from` on. */
function* lines(text: string, from: number): Generator<{ start: number; end: number }> {
  let start = from;
  while (start < text.length) {
    const newline = text.indexOf('\n', start);
    const next = newline === -1 ? text.length : newline + 1;
    let end = newline === -1 ? text.length : newline;
    if (end > start && text[end - 1] === '\r') end--;
    yield { start, end };
    start = next;
  }
}

/** Where a leading YAML front matter (`---` … `---`) ends; 0 when there is none. */
function frontMatterEnd(text: string): number {
  const opening = /^\uFEFF?---[ \t]*\r?\n/.exec(text);
  if (!opening) return 0;
  const closing = /^(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/m;
  const rest = text.slice(opening[0].length);
  const match = closing.exec(rest);
  return match ? opening[0].length + match.index + match[0].length : 0;
}
