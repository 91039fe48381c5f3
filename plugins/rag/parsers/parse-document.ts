import { ragErrors } from '../errors.ts';
import { decodeUtf8 } from './decode-text.ts';
import { parseMarkdown } from './parse-markdown.ts';
import { parsePlainText } from './parse-text.ts';
import type { DocumentFormat, ParsedDocument } from './parsed-document.ts';

const BY_MEDIA_TYPE: Readonly<Record<string, DocumentFormat>> = {
  'text/plain': 'text',
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
  'text/html': 'html',
  'application/xhtml+xml': 'html',
  'application/pdf': 'pdf',
};

const BY_EXTENSION: Readonly<Record<string, DocumentFormat>> = {
  txt: 'text',
  text: 'text',
  md: 'markdown',
  markdown: 'markdown',
  mdown: 'markdown',
  html: 'html',
  htm: 'html',
  xhtml: 'html',
  pdf: 'pdf',
};

/** The file extensions the rag plugin reads (the CLI picks files in folders by them). */
export const SUPPORTED_EXTENSIONS: readonly string[] = Object.keys(BY_EXTENSION);

/** Media types that say nothing of the format: the file name decides then. */
const GENERIC = new Set(['application/octet-stream', 'binary/octet-stream', 'application/x-www-form-urlencoded']);

/**
 * The format of a document: from its media type when that names one we read, else from the
 * extension of its name (a generic or absent media type).
 *
 * @example
 * ```ts
 * detectFormat('application/octet-stream', 'guide.md'); // 'markdown'
 * ```
 * @throws PlugboardError `rag/UNSUPPORTED_FORMAT` naming what was given.
 */
export function detectFormat(contentType: string | undefined, name: string): DocumentFormat {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType && !GENERIC.has(mediaType)) {
    const format = BY_MEDIA_TYPE[mediaType];
    if (format) return format;
    throw ragErrors.UNSUPPORTED_FORMAT(
      `"${name}" is ${mediaType}; the rag plugin reads ${Object.keys(BY_MEDIA_TYPE).join(', ')}`,
    );
  }
  const extension = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase();
  const format = extension === undefined ? undefined : BY_EXTENSION[extension];
  if (format) return format;
  throw ragErrors.UNSUPPORTED_FORMAT(
    `"${name}" has ${mediaType ? `the generic type ${mediaType}` : 'no content type'} and ${extension ? `the unknown extension .${extension}` : 'no extension'}; send its Content-Type or name it .txt, .md, .html or .pdf`,
  );
}

/**
 * Parses a document of a known format.
 *
 * @example
 * ```ts
 * const parsed = await parseDocument(bytes, 'pdf', 'manual.pdf');
 * ```
 * @throws PlugboardError `rag/UNREADABLE_DOCUMENT` (not UTF-8, a broken PDF).
 */
export async function parseDocument(
  content: Uint8Array,
  format: DocumentFormat,
  name: string,
  options: { readability?: boolean } = {},
): Promise<ParsedDocument> {
  switch (format) {
    // pdf.js, html-to-text, Readability and linkedom are loaded with the first document that needs
    // them: a server that never ingests one (or has rag disabled) does not pay ~0.4 s and ~25 MB at start.
    case 'pdf':
      return (await import('./parse-pdf.ts')).parsePdf(content, name);
    case 'html':
      return (await import('./parse-html.ts')).parseHtml(decodeUtf8(content, name), options);
    case 'markdown':
      return parseMarkdown(decodeUtf8(content, name));
    case 'text':
      return parsePlainText(decodeUtf8(content, name));
  }
}
