/**
 * The rag HTTP API, as plugin endpoints (the server serves them under /v1 through the request
 * middleware: authentication with scope `documents` for writes and `chat` for reads):
 *
 * - `POST /v1/rag/collections/:collection/documents?name=FILE` — the file's bytes as the body,
 *   with its Content-Type; optional metadata as JSON in the `x-rag-metadata` header (or the
 *   `metadata` query parameter) → 201 `{ document, chunks, status }` (200 when `unchanged`);
 * - `GET /v1/rag/collections` → `{ collections: [{ name, documents, chunks }] }`;
 * - `GET /v1/rag/collections/:collection/documents` → `{ documents, total, truncated }`;
 * - `DELETE /v1/rag/collections/:collection/documents/:document` → 204;
 * - `DELETE /v1/rag/collections/:collection` → 204;
 * - `POST /v1/rag/search` `{ collection, query, top_k, filter }` → `{ hits, mode }`.
 */
import { z } from 'zod';
import type { EndpointRequest, JsonValue, PluginEndpoint } from '../../src/index.ts';
import { COLLECTION_NAME, type RagConfig } from './config.ts';
import type { DocumentRecord } from './document-registry.ts';
import { ragErrors } from './errors.ts';
import type { DocumentIngestor } from './ingestion.ts';
import type { Retriever } from './retrieval.ts';

/** What the endpoints work with, once the plugin is initialized. */
export interface RagServices {
  readonly config: RagConfig;
  readonly ingestor: DocumentIngestor;
  readonly retriever: Retriever;
}

const scalar = z.union([z.string(), z.number().finite(), z.boolean(), z.null()]);
const searchBodySchema = z.strictObject({
  collection: z.string().regex(COLLECTION_NAME).default('default'),
  query: z.string().trim().min(1).max(8192),
  top_k: z.number().int().min(1).max(100).default(5),
  filter: z.record(z.string().min(1), z.union([scalar, z.array(scalar)])).optional(),
});

/**
 * The endpoints, reading the services on each request (`services()` throws while the plugin is
 * not initialized; the server only serves ACTIVE plugins).
 *
 * @example
 * ```ts
 * endpoints: ragEndpoints(() => services, settings.max_document_bytes),
 * ```
 */
export function ragEndpoints(services: () => RagServices, maxDocumentBytes: number): PluginEndpoint[] {
  return [
    {
      method: 'POST',
      path: '/v1/rag/collections/:collection/documents',
      scope: 'documents',
      description: 'Add a document (the raw file as the body, ?name= its file name), or replace the one of that name',
      bodyLimit: maxDocumentBytes,
      async handle(request, call) {
        const collection = collectionParam(request);
        const name = request.query.name;
        if (name === undefined || name === '') {
          throw ragErrors.INVALID_REQUEST(
            'the query parameter name (the file name, e.g. ?name=handbook.pdf) is required',
          );
        }
        if (!(request.body instanceof Uint8Array)) {
          throw ragErrors.INVALID_REQUEST(
            request.body === undefined
              ? 'the body must be the document (the file’s bytes), and it is empty'
              : 'the body must be the document’s raw bytes with its own Content-Type (text/markdown, application/pdf …), not JSON',
          );
        }
        const result = await services().ingestor.ingest(
          collection,
          {
            name,
            content: request.body,
            ...(request.contentType === undefined ? {} : { contentType: request.contentType }),
            metadata: metadataParam(request),
          },
          call.signal,
        );
        return { status: result.status === 'unchanged' ? 200 : 201, body: { ...result } };
      },
    },
    {
      method: 'GET',
      path: '/v1/rag/collections',
      scope: 'chat',
      description: 'The collections that hold documents, with their numbers of documents and chunks',
      async handle() {
        return { body: { collections: (await services().ingestor.collections()).map((summary) => ({ ...summary })) } };
      },
    },
    {
      method: 'GET',
      path: '/v1/rag/collections/:collection/documents',
      scope: 'chat',
      description: 'The documents of a collection (at most 1000, by name)',
      async handle(request) {
        const collection = collectionParam(request);
        const { documents, total } = await services().ingestor.list(collection);
        if (total === 0) throw ragErrors.COLLECTION_NOT_FOUND(`Collection "${collection}" has no documents`);
        return {
          body: { collection, documents: documents.map(documentJson), total, truncated: documents.length < total },
        };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/rag/collections/:collection/documents/:document',
      scope: 'documents',
      description: 'Delete a document and its chunks',
      async handle(request) {
        const collection = collectionParam(request);
        const document = request.params.document ?? '';
        if (!(await services().ingestor.delete(collection, document))) {
          throw ragErrors.DOCUMENT_NOT_FOUND(`Collection "${collection}" has no document "${document}"`);
        }
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/rag/collections/:collection',
      scope: 'documents',
      description: 'Delete a collection with all its documents',
      async handle(request) {
        const collection = collectionParam(request);
        if (!(await services().ingestor.dropCollection(collection))) {
          throw ragErrors.COLLECTION_NOT_FOUND(`There is no collection "${collection}"`);
        }
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/v1/rag/search',
      scope: 'chat',
      description: 'Search a collection as retrieval does (for debugging and UIs): the hits with their scores',
      async handle(request, call) {
        const parsed = searchBodySchema.safeParse(request.body ?? {});
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          throw ragErrors.INVALID_REQUEST(`${issue.path.join('.') || 'body'}: ${issue.message}`);
        }
        const { collection, query, top_k, filter } = parsed.data;
        const { chunks, mode } = await services().retriever.retrieve(
          { text: query, collections: [collection], topK: top_k, ...(filter === undefined ? {} : { filter }) },
          call.signal,
        );
        const hits = chunks.map((chunk) => ({
          id: chunk.id,
          document: chunk.document,
          name: chunk.name,
          chunk: chunk.chunk,
          ...(chunk.page === undefined ? {} : { page: chunk.page }),
          ...(chunk.section === undefined ? {} : { section: chunk.section }),
          score: chunk.score,
          matched_by: [...chunk.matchedBy],
          text: chunk.text,
          metadata: { ...chunk.metadata },
        }));
        return { body: { collection, mode, hits } };
      },
    },
  ];
}

function collectionParam(request: EndpointRequest): string {
  const collection = request.params.collection ?? '';
  if (!COLLECTION_NAME.test(collection)) {
    throw ragErrors.INVALID_REQUEST(
      `collection "${collection.slice(0, 80)}" must be 1–64 letters, digits, "_", "-" or "." starting with a letter or digit`,
    );
  }
  return collection;
}

/** The `x-rag-metadata` header, else the `metadata` query parameter, as JSON; undefined when neither. */
function metadataParam(request: EndpointRequest): unknown {
  const raw = request.headers['x-rag-metadata'] ?? request.query.metadata;
  if (raw === undefined || raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw ragErrors.INVALID_REQUEST('metadata (the x-rag-metadata header or ?metadata=) must be a JSON object');
  }
}

function documentJson(record: DocumentRecord): JsonValue {
  return {
    document: record.document,
    name: record.name,
    format: record.format,
    ...(record.contentType === undefined ? {} : { content_type: record.contentType }),
    bytes: record.bytes,
    sha256: record.sha256,
    chunks: record.chunks,
    ...(record.pages === undefined ? {} : { pages: record.pages }),
    embedding_model: record.embeddingModel ?? null,
    ingested_at: record.ingestedAt,
    metadata: { ...record.metadata },
  };
}
