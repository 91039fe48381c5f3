import { z } from 'zod';
import { defineTool, type ToolSpec } from '../../src/index.ts';
import type { SearchProvider } from './search-provider.ts';
import { cleanResults } from './search-results.ts';

/** Time the tool loop allows beyond the provider's timeout. */
const TOOL_TIMEOUT_MARGIN_MS = 2000;

/** The settings of the `web_search` tool. */
export interface WebSearchToolOptions {
  readonly provider: SearchProvider;
  /** Results by default, and the most the model may ask for. */
  readonly maxResults: number;
  readonly snippetChars: number;
  readonly timeoutMs: number;
}

/**
 * The `web_search` tool: `{ query, max_results? }` → `{ query, results: [{ title, url, snippet }] }`.
 *
 * @example
 * ```ts
 * registry.register('web_search', [createWebSearchTool({ provider, maxResults: 5, snippetChars: 400, timeoutMs: 10_000 })]);
 * ```
 */
export function createWebSearchTool(options: WebSearchToolOptions): ToolSpec {
  const { provider, maxResults, snippetChars, timeoutMs } = options;
  return defineTool({
    name: 'web_search',
    description: `Searches the web and returns up to ${maxResults} results, each { title, url, snippet }. Use it for recent events or facts you are unsure of; cite the url of what you use.`,
    input: z.strictObject({
      query: z
        .string()
        .trim()
        .min(1)
        .max(500)
        .describe('What to search for, as you would type it into a search engine'),
      max_results: z
        .number()
        .int()
        .min(1)
        .max(maxResults)
        .optional()
        .describe(`How many results (1–${maxResults}); ${maxResults} when left out`),
    }),
    timeoutMs: timeoutMs + TOOL_TIMEOUT_MARGIN_MS,
    run: async ({ query, max_results }, { signal }) => {
      const wanted = max_results ?? maxResults;
      const found = await provider.search({ query, maxResults: wanted, signal });
      const results = cleanResults(found, { maxResults: wanted, snippetChars });
      return { query, results: results.map((result) => ({ ...result })) };
    },
  });
}
