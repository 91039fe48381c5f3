/**
 * What a parser makes of a document: its text, and the blocks of that text — headings and
 * paragraphs — as character ranges of it. The chunker cuts along these blocks, and a chunk's
 * offsets are offsets in `text` (for Markdown and plain text: the file itself).
 */

/** The formats the rag plugin reads. */
export const DOCUMENT_FORMATS = ['text', 'markdown', 'html', 'pdf'] as const;
export type DocumentFormat = (typeof DOCUMENT_FORMATS)[number];

/** A heading or a paragraph: `text.slice(start, end)`. */
export interface TextBlock {
  readonly kind: 'heading' | 'paragraph';
  readonly start: number;
  readonly end: number;
  /** Headings: 1 for `#`/`<h1>` … 6. */
  readonly level?: number;
  /** Headings: the title without its markup (`## Refunds ##` → `Refunds`). */
  readonly title?: string;
  /** PDF: the 1-based page the block is on. */
  readonly page?: number;
}

/** A parsed document. */
export interface ParsedDocument {
  readonly format: DocumentFormat;
  readonly text: string;
  /** In document order, not overlapping. */
  readonly blocks: readonly TextBlock[];
  /** PDF: its number of pages. */
  readonly pages?: number;
}
