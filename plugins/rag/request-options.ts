import { z } from 'zod';
import type { ChatContext, MetadataFilter } from '../../src/index.ts';
import { COLLECTION_NAME, type RagConfig } from './config.ts';
import { ragErrors } from './errors.ts';

const scalar = z.union([z.string(), z.number().finite(), z.boolean(), z.null()]);

/**
 * What a request may say of its retrieval in `context.metadata.rag` (set by the application
 * embedding Plugboard, or by a middleware — clients of the HTTP APIs cannot set context
 * metadata themselves): narrow the configured collections, filter on metadata, change how
 * many chunks, or turn retrieval off.
 */
export const requestOptionsSchema = z.strictObject({
  /** A subset of the configured `collections`. */
  collections: z.array(z.string().regex(COLLECTION_NAME)).min(1).optional(),
  filter: z.record(z.string().min(1), z.union([scalar, z.array(scalar)])).optional(),
  top_k: z.number().int().min(1).max(50).optional(),
  enabled: z.boolean().optional(),
});

/** The retrieval of one request. */
export interface RequestRetrieval {
  readonly collections: readonly string[];
  readonly topK: number;
  readonly filter: MetadataFilter | undefined;
}

/**
 * The retrieval of a request: the configuration, narrowed by `context.metadata.rag`; undefined
 * when the request turns it off.
 *
 * @example
 * ```ts
 * requestRetrieval(config, { collections: ['handbook'], filter: { lang: 'en' } });
 * ```
 * @throws PlugboardError `rag/INVALID_REQUEST` for malformed options or a collection that is not configured.
 */
export function requestRetrieval(config: RagConfig, options: unknown): RequestRetrieval | undefined {
  if (options === undefined) return { collections: config.collections, topK: config.top_k, filter: undefined };
  const parsed = requestOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw ragErrors.INVALID_REQUEST(`metadata.rag.${issue.path.join('.')}: ${issue.message}`);
  }
  const { collections, filter, top_k, enabled } = parsed.data;
  if (enabled === false) return undefined;
  const unknown = (collections ?? []).filter((name) => !config.collections.includes(name));
  if (unknown.length > 0) {
    throw ragErrors.INVALID_REQUEST(
      `metadata.rag.collections may only narrow the configured ones (${config.collections.join(', ')}); not configured: ${unknown.join(', ')}`,
    );
  }
  return { collections: collections ?? config.collections, topK: top_k ?? config.top_k, filter };
}

/** The request header a client narrows retrieval with: configured collection names, comma-separated, or `none`. */
export const COLLECTIONS_HEADER = 'x-rag-collections';

/**
 * The retrieval options of a request: `context.metadata.rag` (set by the application or a
 * middleware) when there is one; else what the client said — the `x-rag-collections` header
 * on either API, or OpenAI's `metadata.rag_collections` — as `collections` (`none` turns
 * retrieval off). A client can only narrow the configured collections (see
 * {@link requestRetrieval}), never add one.
 *
 * @example
 * ```ts
 * requestRetrieval(config, retrievalOptionsOf(context)); // x-rag-collections: handbook → only the handbook
 * ```
 */
export function retrievalOptionsOf(context: ChatContext): unknown {
  if (context.metadata.rag !== undefined) return context.metadata.rag;
  const openAi = (context.metadata.openai as { metadata?: Record<string, unknown> } | undefined)?.metadata;
  const said = context.client?.headers?.[COLLECTIONS_HEADER] ?? openAi?.rag_collections;
  if (typeof said !== 'string') return undefined;
  const names = said
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 1 && names[0] === 'none') return { enabled: false };
  return { collections: names };
}
