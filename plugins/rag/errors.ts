import { defineErrors } from '../../src/index.ts';

/**
 * The rag plugin's error codes. Each is a deliberate refusal of what a client sent (4xx): its
 * message reaches the client, so it names the document, the collection or the field, never
 * the text of a document.
 */
export const ragErrors = defineErrors('rag', {
  UNSUPPORTED_FORMAT: {
    summary: 'The uploaded document is in a format the rag plugin does not read',
    hint: 'Upload plain text, Markdown, HTML or PDF, with its Content-Type (text/plain, text/markdown, text/html, application/pdf) or a file name ending in .txt, .md, .html or .pdf.',
    status: 415,
  },
  UNREADABLE_DOCUMENT: {
    summary: 'The uploaded document could not be read as the format it claims to be',
    hint: 'Check the file: a PDF that opens elsewhere may be encrypted; text must be UTF-8.',
    status: 422,
  },
  EMPTY_DOCUMENT: {
    summary: 'No text could be extracted from the uploaded document',
    hint: 'A scanned PDF holds images, not text: run OCR on it first. An HTML page may hold its text in scripts.',
    status: 422,
  },
  DOCUMENT_TOO_LARGE: {
    summary: 'The uploaded document is larger than the rag plugin accepts',
    hint: 'Split the document, or raise max_document_bytes in the rag plugin’s config.',
    status: 413,
  },
  INVALID_REQUEST: {
    summary: 'A request to the rag API is missing a parameter or has a malformed one',
    hint: 'The message names the parameter; the rag plugin’s README describes each endpoint.',
    status: 400,
  },
  DOCUMENT_NOT_FOUND: {
    summary: 'The collection holds no document of that id',
    hint: 'List the collection’s documents (GET /v1/rag/collections/:collection/documents) for their ids.',
    status: 404,
  },
  COLLECTION_NOT_FOUND: {
    summary: 'No document was ever added to that collection',
    hint: 'List the collections (GET /v1/rag/collections).',
    status: 404,
  },
  EMBEDDING_MISMATCH: {
    summary: 'The embedding model gives vectors of another size than those the collection already holds',
    hint: 'Use the embedding model the collection was built with, or delete the collection (DELETE /v1/rag/collections/:collection) and add its documents again.',
    status: 409,
  },
});
