import type { EndpointReply } from '../../../src/index.ts';
import type { RagHarness } from './rag-harness.ts';

/** The route of the upload endpoint. */
export const UPLOAD = '/v1/rag/collections/:collection/documents';

/**
 * Uploads a document through the plugin's upload endpoint handler.
 *
 * @example
 * ```ts
 * const reply = await upload(rag, 'default', 'refunds.md', '# Refunds\n\nFive days.', 'text/markdown');
 * ```
 */
export function upload(
  rag: RagHarness,
  collection: string,
  name: string,
  content: string | Uint8Array,
  contentType?: string,
  headers: Record<string, string> = {},
): Promise<EndpointReply> {
  return rag.request('POST', UPLOAD, {
    params: { collection },
    query: { name },
    headers,
    body: typeof content === 'string' ? new TextEncoder().encode(content) : content,
    ...(contentType === undefined ? {} : { contentType }),
  });
}

/** The JSON body of a reply (asserting it has one). */
export function bodyOf(reply: EndpointReply): Record<string, unknown> {
  if (!('body' in reply)) throw new Error(`no body in ${JSON.stringify(reply)}`);
  return reply.body as Record<string, unknown>;
}
