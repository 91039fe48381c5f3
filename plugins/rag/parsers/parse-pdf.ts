import { extractText, getDocumentProxy } from 'unpdf';
import { ragErrors } from '../errors.ts';
import { paragraphBlocks } from './parse-text.ts';
import type { ParsedDocument, TextBlock } from './parsed-document.ts';

/** Between pages in the text: a paragraph break, so that no paragraph runs across two pages. */
const PAGE_BREAK = '\n\n';

/**
 * PDF, with unpdf (pdf.js): the text of each page, split into paragraphs at blank lines,
 * each block carrying its page number for citations. A PDF without text (a scan) gives no
 * blocks; the caller refuses it.
 *
 * @example
 * ```ts
 * const parsed = await parsePdf(bytes, 'manual.pdf');
 * parsed.blocks[0]?.page; // 1
 * ```
 * @throws PlugboardError `rag/UNREADABLE_DOCUMENT` when pdf.js cannot open it (corrupt, encrypted).
 */
export async function parsePdf(content: Uint8Array, name: string): Promise<ParsedDocument> {
  let pages: string[];
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>> | undefined;
  try {
    // A copy: pdf.js may transfer (detach) the buffer it is given. Verbosity 0: pdf.js's
    // warnings about a damaged file would go to the console, not to the plugin's log.
    pdf = await getDocumentProxy(new Uint8Array(content), { verbosity: 0 });
    ({ text: pages } = await extractText(pdf, { mergePages: false }));
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : 'unknown error';
    throw ragErrors.UNREADABLE_DOCUMENT(`"${name}" could not be read as a PDF: ${reason}`);
  } finally {
    await pdf?.destroy().catch(() => undefined);
  }
  let text = '';
  const blocks: TextBlock[] = [];
  pages.forEach((pageText, index) => {
    if (index > 0) text += PAGE_BREAK;
    const from = text.length;
    text += pageText.replace(/\r\n?/g, '\n');
    blocks.push(...paragraphBlocks(text, from, text.length, index + 1));
  });
  return { format: 'pdf', text, blocks, pages: pages.length };
}
