import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PluginSection } from './schema.ts';

/** Where the first-party plugins live (this package's `plugins/` folder). */
export const FIRST_PARTY_FOLDER = fileURLToPath(new URL('../../plugins/', import.meta.url));

/** A first-party plugin that an entry may name without `plugin_file`. */
export interface BuiltinPlugin {
  /** Its module, relative to {@link FIRST_PARTY_FOLDER}. */
  readonly file: string;
  /** The section its entry belongs in. */
  readonly section: PluginSection;
}

/**
 * The first-party plugins, by the name an entry gives them: `backends: { openai: { config: … } }`
 * loads `plugins/openai/openai.plugin.ts`, as the spec's §8.2 example is written. Every
 * first-party plugin to come is added here.
 */
export const BUILTIN_PLUGINS: Readonly<Record<string, BuiltinPlugin>> = {
  ollama: { file: 'ollama/ollama.plugin.ts', section: 'backends' },
  openai: { file: 'openai/openai.plugin.ts', section: 'backends' },
  anthropic: { file: 'anthropic/anthropic.plugin.ts', section: 'backends' },
  llamacpp: { file: 'llamacpp/llamacpp.plugin.ts', section: 'backends' },
  content_filter: { file: 'content-filter/content-filter.plugin.ts', section: 'message_processors' },
  auth: { file: 'auth/auth.plugin.ts', section: 'middleware' },
  rate_limiter: { file: 'rate-limiter/rate-limiter.plugin.ts', section: 'middleware' },
  logging: { file: 'logging/logging.plugin.ts', section: 'middleware' },
  cache: { file: 'cache/cache.plugin.ts', section: 'middleware' },
  token_counter: { file: 'token-counter/token-counter.plugin.ts', section: 'middleware' },
  // A service provider, of no plugin kind: the loader takes those under middleware or features,
  // and middleware is where the configuration guide puts plugins that do not process requests.
  redis_store: { file: 'redis-store/redis-store.plugin.ts', section: 'middleware' },
  sql_store: { file: 'sql-store/sql-store.plugin.ts', section: 'middleware' },
  memory: { file: 'memory/memory.plugin.ts', section: 'features' },
  rag: { file: 'rag/rag.plugin.ts', section: 'features' },
  tools: { file: 'tools/tools.plugin.ts', section: 'features' },
  db_query: { file: 'db-query/db-query.plugin.ts', section: 'features' },
  web_search: { file: 'web-search/web-search.plugin.ts', section: 'features' },
};

/** The absolute path of a built-in plugin's module. */
export function builtinPath(plugin: BuiltinPlugin): string {
  return join(FIRST_PARTY_FOLDER, plugin.file);
}

/** True for the module of a first-party plugin: discovery leaves those to entries that name them. */
export function isBuiltinModule(path: string): boolean {
  return Object.values(BUILTIN_PLUGINS).some((plugin) => builtinPath(plugin) === path);
}
