import { z } from 'zod';
import { isPlugboardError, splitUrlCredentials } from '../../src/index.ts';
import { webSearchErrors } from './errors.ts';
import type { ProviderResult, SearchProvider, SearchRequest } from './search-provider.ts';

/** SearXNG's `safesearch` values. */
const SAFE_SEARCH = { off: '0', moderate: '1', strict: '2' } as const;

/** The largest answer read from the provider: a results page is far smaller. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** What is read of SearXNG's JSON answer (it has many more fields, ignored). */
const searxngAnswer = z.object({
  results: z.array(
    z.object({
      title: z.string().nullish(),
      url: z.string().nullish(),
      content: z.string().nullish(),
    }),
  ),
});

/** The settings of a {@link SearxngProvider}. */
export interface SearxngOptions {
  /** The instance's base URL; `search` is resolved against it. May hold `user:password@`. */
  readonly url: string;
  readonly timeoutMs: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly safeSearch: keyof typeof SAFE_SEARCH;
  /** A language tag, or `all`. */
  readonly language: string;
}

/**
 * A SearXNG instance (or any service answering `GET <url>/search?q=…&format=json` with
 * `{ results: [{ title, url, content }] }`), through the global fetch, bounded by `timeoutMs`
 * and the call's signal. Credentials in the URL are sent as an `Authorization: Basic` header
 * (fetch refuses them in the URL) and never appear in an error message.
 *
 * @example
 * ```ts
 * const provider = new SearxngProvider({ url: 'http://127.0.0.1:8888', timeoutMs: 5000, headers: {}, safeSearch: 'moderate', language: 'all' });
 * const results = await provider.search({ query: 'plugboard', maxResults: 5, signal });
 * ```
 */
export class SearxngProvider implements SearchProvider {
  readonly name = 'searxng';
  readonly #endpoint: URL;
  readonly #headers: Record<string, string>;

  constructor(private readonly options: SearxngOptions) {
    const { url, authorization } = splitUrlCredentials(options.url);
    // `search` relative to a base that ends in `/`: http://host/searx → http://host/searx/search.
    this.#endpoint = new URL('search', url.endsWith('/') ? url : `${url}/`);
    this.#headers = {
      accept: 'application/json',
      ...(authorization === undefined ? {} : { authorization }),
      ...options.headers,
    };
  }

  async search({ query, signal }: SearchRequest): Promise<readonly ProviderResult[]> {
    const endpoint = new URL(this.#endpoint);
    endpoint.searchParams.set('q', query);
    endpoint.searchParams.set('format', 'json');
    endpoint.searchParams.set('safesearch', SAFE_SEARCH[this.options.safeSearch]);
    if (this.options.language !== 'all') endpoint.searchParams.set('language', this.options.language);

    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const combined = AbortSignal.any([timeout, signal]);
    const failed = (error: unknown): Error => {
      if (signal.aborted) return signal.reason instanceof Error ? signal.reason : new Error('the search was cancelled');
      if (timeout.aborted) {
        return webSearchErrors.TIMEOUT(`The search provider did not answer within ${this.options.timeoutMs} ms`);
      }
      const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
      if (typeof cause?.message === 'string' && /redirect/i.test(cause.message)) {
        return webSearchErrors.PROVIDER_FAILED(
          'The search provider answered with a redirect: set url to the address it redirects to',
        );
      }
      const code = cause?.code;
      // Only the error's code: a fetch error's message or cause may quote the URL.
      return webSearchErrors.PROVIDER_UNAVAILABLE(
        `The search provider could not be reached${typeof code === 'string' ? ` (${code})` : ''}`,
      );
    };

    let body: string;
    try {
      const response = await fetch(endpoint, { headers: this.#headers, signal: combined, redirect: 'error' });
      if (!response.ok) {
        await response.body?.cancel().catch(() => {});
        throw webSearchErrors.PROVIDER_FAILED(`The search provider answered HTTP ${response.status}`);
      }
      body = await readCapped(response);
    } catch (error) {
      throw isPlugboardError(error) && !combined.aborted ? error : failed(error);
    }
    let answer: z.output<typeof searxngAnswer>;
    try {
      answer = searxngAnswer.parse(JSON.parse(body));
    } catch {
      throw webSearchErrors.PROVIDER_INVALID_RESPONSE(
        'The search provider did not answer JSON with a results list (is format=json enabled on it?)',
      );
    }
    return answer.results.map((result) => ({
      title: result.title ?? '',
      url: result.url ?? '',
      snippet: result.content ?? '',
    }));
  }
}

/** The response body as text, refused past {@link MAX_RESPONSE_BYTES}. */
async function readCapped(response: Response): Promise<string> {
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      throw webSearchErrors.PROVIDER_INVALID_RESPONSE(
        `The search provider's answer is larger than ${MAX_RESPONSE_BYTES} bytes`,
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
