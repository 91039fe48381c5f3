/**
 * What the client asked of the cache, from its request headers:
 * - `use`: look up, store on a miss (no directive);
 * - `refresh`: do not look up, but store the fresh reply (`Cache-Control: no-cache`, or the
 *   plugin's header with `refresh`);
 * - `bypass`: neither look up nor store (`Cache-Control: no-store`, or the header with `bypass`).
 */
export type ClientDirective = 'use' | 'refresh' | 'bypass';

/**
 * The client's directive. `header` is the plugin's own header (`x-plugboard-cache: bypass` or
 * `refresh`); `Cache-Control` is read only when `honorCacheControl`. The stronger directive
 * wins when both are given: `bypass` over `refresh`.
 *
 * @param headers the request's headers, lower-case names (`context.client.headers`)
 * @example
 * ```ts
 * clientDirective({ 'cache-control': 'no-cache' }, 'x-plugboard-cache', true); // 'refresh'
 * clientDirective({ 'x-plugboard-cache': 'bypass' }, 'x-plugboard-cache', false); // 'bypass'
 * ```
 */
export function clientDirective(
  headers: Readonly<Record<string, string>> | undefined,
  header: string,
  honorCacheControl: boolean,
): ClientDirective {
  if (headers === undefined) return 'use';
  let directive: ClientDirective = 'use';
  const own = headers[header]?.trim().toLowerCase();
  if (own === 'bypass') return 'bypass';
  if (own === 'refresh') directive = 'refresh';
  const cacheControl = honorCacheControl ? headers['cache-control'] : undefined;
  if (cacheControl !== undefined) {
    // Directives are comma-separated and case-insensitive (RFC 9111 §5.2); `no-cache="field"` counts as no-cache.
    for (const part of cacheControl.toLowerCase().split(',')) {
      const name = part.trim().split('=')[0]?.trim();
      if (name === 'no-store') return 'bypass';
      if (name === 'no-cache') directive = 'refresh';
    }
  }
  return directive;
}
