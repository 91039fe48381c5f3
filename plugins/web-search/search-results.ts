import type { ProviderResult } from './search-provider.ts';

/** One result as the model gets it. */
export interface SearchResult {
  readonly title: string;
  readonly url: string;
  readonly snippet: string;
}

/** Longest title kept, in characters. */
const MAX_TITLE_CHARS = 200;

/**
 * The results the model gets: only http(s) URLs (javascript:, data:, file: … dropped), without
 * credentials, each URL once, white space collapsed, titles and snippets cut to length (at a
 * word, with `…`), at most `maxResults` of them.
 *
 * @example
 * ```ts
 * cleanResults([{ title: ' A ', url: 'javascript:alert(1)', snippet: '' }], { maxResults: 5, snippetChars: 400 }); // []
 * ```
 */
export function cleanResults(
  results: readonly ProviderResult[],
  limits: { readonly maxResults: number; readonly snippetChars: number },
): SearchResult[] {
  const seen = new Set<string>();
  const kept: SearchResult[] = [];
  for (const result of results) {
    if (kept.length === limits.maxResults) break;
    const url = webUrl(result.url);
    if (url === undefined || seen.has(url)) continue;
    seen.add(url);
    kept.push({
      title: cut(collapse(result.title), MAX_TITLE_CHARS),
      url,
      snippet: cut(collapse(result.snippet), limits.snippetChars),
    });
  }
  return kept;
}

/** The URL, normalised, when it is an http(s) one; its user name and password removed. */
function webUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  url.username = '';
  url.password = '';
  return url.href;
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = text.slice(0, max - 1);
  const space = head.lastIndexOf(' ');
  return `${space > max / 2 ? head.slice(0, space) : head}…`;
}
