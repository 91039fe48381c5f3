import { Readability } from '@mozilla/readability';
import { convert, type FormatCallback, type HtmlToTextOptions } from 'html-to-text';
import { parseHTML } from 'linkedom';
import { markdownBlocks } from './parse-markdown.ts';
import type { ParsedDocument } from './parsed-document.ts';

/**
 * Headings become Markdown `#` lines, so that the Markdown reader finds them as section
 * boundaries in the converted text (html-to-text would upper-case them otherwise).
 */
const markdownHeading: FormatCallback = (element, walk, builder, formatOptions) => {
  const level = Number((formatOptions as { level?: number }).level ?? 1);
  builder.openBlock({ leadingLineBreaks: 2 });
  builder.addLiteral(`${'#'.repeat(level)} `);
  walk(element.children, builder);
  builder.closeBlock({ trailingLineBreaks: 2 });
};

const CONVERSION: HtmlToTextOptions = {
  wordwrap: false,
  formatters: { markdownHeading },
  selectors: [
    ...[1, 2, 3, 4, 5, 6].map((level) => ({ selector: `h${level}`, format: 'markdownHeading', options: { level } })),
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    { selector: 'nav', format: 'skip' },
    { selector: 'script', format: 'skip' },
    { selector: 'style', format: 'skip' },
  ],
};

/** A page is a whole document (not a fragment) when it has these; only then is Readability tried. */
const WHOLE_PAGE = /<!doctype html|<html[\s>]|<body[\s>]/i;
/** Less article text than this and Readability's guess is not trusted: the whole page is kept. */
const MIN_ARTICLE_CHARS = 200;

/**
 * HTML, converted to text by html-to-text with its headings kept as section boundaries. A
 * whole web page (`<html>`, `<body>`) first goes through Mozilla's Readability (on a linkedom
 * DOM) to keep its article and drop navigation, footers and ads, unless `readability` is
 * false or Readability finds no article.
 *
 * @example
 * ```ts
 * parseHtml('<h2>Refunds</h2><p>Refunds take 5 days.</p>').text; // '## Refunds\n\nRefunds take 5 days.'
 * ```
 */
export function parseHtml(html: string, options: { readability?: boolean } = {}): ParsedDocument {
  const source = options.readability !== false && WHOLE_PAGE.test(html) ? (article(html) ?? html) : html;
  const text = convert(source, CONVERSION).trim();
  return { format: 'html', text, blocks: markdownBlocks(text) };
}

/** The main article of a web page as HTML, its title as an `<h1>`; undefined when Readability finds none. */
function article(html: string): string | undefined {
  try {
    const { document } = parseHTML(html);
    const found = new Readability(document as unknown as ConstructorParameters<typeof Readability>[0]).parse();
    if (!found?.content || (found.textContent ?? '').trim().length < MIN_ARTICLE_CHARS) return undefined;
    const title = found.title ? `<h1>${escapeHtml(found.title)}</h1>` : '';
    return `${title}${found.content}`;
  } catch {
    // Readability is a heuristic: when it trips on a page, the whole page's text is still good.
    return undefined;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
