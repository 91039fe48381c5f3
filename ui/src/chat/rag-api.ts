import { ApiError, apiErrorFrom, unreachable } from '../api/api-error.ts';
import { announceIfCredentialNeeded, api, authHeaders } from '../api/client.ts';
import { pluginEndpoints } from './plugin-endpoints.ts';

/** A collection that holds documents (`GET /v1/rag/collections`). */
export interface CollectionInfo {
  readonly name: string;
  readonly documents: number;
  readonly chunks: number;
}

/** What the server says of an added document (plugins/rag/README.md, "HTTP API"). */
export interface AddedDocument {
  readonly collection: string;
  readonly document: string;
  readonly name: string;
  readonly chunks: number;
  readonly status: 'added' | 'replaced' | 'unchanged';
  readonly embedding_model: string | null;
}

/**
 * Whether the rag plugin serves documents here, and what it knows: the collections holding
 * documents and the ones searched in chats (the plugin's `collections`, from `GET /health`,
 * which reports them). `undefined` when the plugin is not there (404).
 *
 * @example
 * ```ts
 * const rag = await probeRag(); // { collections: [...], searched: ['default'] }
 * ```
 */
export async function probeRag(
  signal?: AbortSignal,
): Promise<{ readonly collections: readonly CollectionInfo[]; readonly searched: readonly string[] } | undefined> {
  if ((await pluginEndpoints())?.has('GET /v1/rag/collections') === false) return undefined;
  let collections: readonly CollectionInfo[];
  try {
    const answer = await api<{ collections?: CollectionInfo[] }>(
      '/v1/rag/collections',
      signal === undefined ? {} : { signal },
    );
    collections = answer?.collections ?? [];
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
  return { collections, searched: await searchedCollections(signal) };
}

/** The collections chats search, as the rag plugin's health report names them (best effort). */
async function searchedCollections(signal?: AbortSignal): Promise<string[]> {
  try {
    const health = await api<{ plugins?: Record<string, { health?: { custom_metrics?: { collections?: unknown } } }> }>(
      '/health',
      signal === undefined ? {} : { signal },
    );
    const listed = health?.plugins?.rag?.health?.custom_metrics?.collections;
    return Array.isArray(listed) ? listed.filter((name): name is string => typeof name === 'string') : [];
  } catch {
    // /health answers 503 while a plugin is unhealthy, with the same body; without it the
    // page falls back to the collections that hold documents.
    return [];
  }
}

/**
 * Uploads one file into a collection (`POST /v1/rag/collections/:collection/documents?name=`),
 * the body the file itself with its type. XMLHttpRequest rather than fetch: it reports the
 * upload's progress. Fails with the server's ApiError (415 unsupported format, 413 too large …).
 *
 * @example
 * ```ts
 * const added = await uploadDocument('default', file, (sent, total) => setProgress(sent / total));
 * ```
 */
export function uploadDocument(
  collection: string,
  file: File,
  onProgress: (sent: number, total: number) => void,
  signal?: AbortSignal,
): Promise<AddedDocument> {
  const path = `/v1/rag/collections/${encodeURIComponent(collection)}/documents?name=${encodeURIComponent(file.name)}`;
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', path);
    request.setRequestHeader('accept', 'application/json');
    request.setRequestHeader('content-type', file.type === '' ? 'application/octet-stream' : file.type);
    for (const [name, value] of Object.entries(authHeaders(path))) request.setRequestHeader(name, value);
    request.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    request.onload = () => {
      if (request.status >= 200 && request.status < 300) {
        try {
          resolve(JSON.parse(request.responseText) as AddedDocument);
        } catch {
          reject(
            new ApiError(
              request.status,
              'RESPONSE_INVALID',
              'The server answered the upload with something other than JSON',
            ),
          );
        }
        return;
      }
      // The same reading of the error body as every other request (message, hint, code).
      void apiErrorFrom(new Response(request.responseText, { status: request.status })).then((error) => {
        announceIfCredentialNeeded(path, error);
        reject(error);
      });
    };
    request.onerror = () => reject(unreachable(new Error('the upload did not get an answer')));
    request.onabort = () => reject(new DOMException('The upload was cancelled', 'AbortError'));
    signal?.addEventListener('abort', () => request.abort(), { once: true });
    request.send(file);
  });
}
