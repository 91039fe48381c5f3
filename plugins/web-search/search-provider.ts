/**
 * A web search provider: the seam between the `web_search` tool and a search service
 * (SearXNG first; a hosted API is one more implementation of this interface).
 */

/** One result as a provider returns it, before web_search trims and checks it. */
export interface ProviderResult {
  readonly title: string;
  readonly url: string;
  readonly snippet: string;
}

/** What the tool asks a provider for. */
export interface SearchRequest {
  readonly query: string;
  /** How many results the tool will keep: a provider may return more (they are cut) or fewer. */
  readonly maxResults: number;
  /** Aborted when the tool call is cancelled: pass it to the request. */
  readonly signal: AbortSignal;
}

/**
 * A search service. Failures throw `web_search/…` errors whose messages hold no URL or header
 * of the provider's.
 *
 * @example
 * ```ts
 * const provider: SearchProvider = {
 *   name: 'fixed',
 *   search: async ({ query }) => [{ title: query, url: 'https://example.org/', snippet: '' }],
 * };
 * ```
 */
export interface SearchProvider {
  /** For logs and the tool description (`searxng`). */
  readonly name: string;
  search(request: SearchRequest): Promise<readonly ProviderResult[]>;
}
