/**
 * The web_search plugin: registers the `web_search` tool, which asks a search provider
 * (a SearXNG-compatible instance) and gives the model titles, URLs and snippets. Off unless an
 * operator names it under `features`. The `tools` extension runs the tool. See README.md.
 */
import { type AnyPlugin, definePlugin, redactUrl, toolRegistryRef } from '../../src/index.ts';
import { type WebSearchConfig, webSearchConfigSchema } from './config.ts';
import { webSearchErrors } from './errors.ts';
import type { SearchProvider } from './search-provider.ts';
import { SearxngProvider } from './searxng-provider.ts';
import { createWebSearchTool } from './web-search-tool.ts';

/** The plugin's name, and the owner of its tool in the registry. */
export const WEB_SEARCH_PLUGIN = 'web_search';

/**
 * The provider a config names.
 *
 * @example
 * ```ts
 * const provider = createProvider(webSearchConfigSchema.parse({ url: 'http://127.0.0.1:8888' }));
 * ```
 */
export function createProvider(config: WebSearchConfig): SearchProvider {
  switch (config.provider) {
    case 'searxng':
      return new SearxngProvider({
        url: config.url,
        timeoutMs: config.timeout_ms,
        headers: config.headers,
        safeSearch: config.safe_search,
        language: config.language,
      });
  }
}

/**
 * A fresh web_search plugin.
 *
 * @example
 * ```yaml
 * features:
 *   web_search:
 *     config: { url: "http://127.0.0.1:8888", max_results: 5 }
 * ```
 */
export function createWebSearchPlugin(): AnyPlugin<WebSearchConfig> {
  let unregister: (() => void) | undefined;
  return definePlugin<WebSearchConfig>({
    metadata: {
      name: WEB_SEARCH_PLUGIN,
      version: '1.0.0',
      description: 'The web_search tool, over a SearXNG-compatible search provider',
      configSchema: webSearchConfigSchema,
      consumes: [toolRegistryRef],
      errors: webSearchErrors,
    },
    initialize(config, call) {
      const settings = config.config;
      const tool = createWebSearchTool({
        provider: createProvider(settings),
        maxResults: settings.max_results,
        snippetChars: settings.snippet_chars,
        timeoutMs: settings.timeout_ms,
      });
      unregister = call.services.get(toolRegistryRef).register(WEB_SEARCH_PLUGIN, [tool]);
      call.logger.info(
        { provider: settings.provider, url: redactUrl(settings.url), max_results: settings.max_results },
        'web_search tool registered',
      );
    },
    shutdown() {
      unregister?.();
      unregister = undefined;
    },
  });
}

export default createWebSearchPlugin;
