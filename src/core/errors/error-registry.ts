import { type ErrorCatalogueEntry, errorCatalogue } from './catalogue.ts';

/** One registered code, as listings show it (GET /plugins/errors, `plugboard errors`). */
export interface RegisteredError extends ErrorCatalogueEntry {
  readonly code: string;
  /** Who registered it: `core`, `server`, or the namespace of a plugin's `defineErrors`. */
  readonly source: string;
}

/**
 * The one table of every error code in the process: the core's catalogue, the codes the server
 * registers, and each plugin's `defineErrors`. It lives on `globalThis` under a registered
 * symbol because a plugin may import its own copy of Plugboard's modules (a deep path, or
 * CommonJS `require`; the public entry points are shared, see module-loader.ts): a
 * module-level map would give each copy a table of its own.
 */
const REGISTRY = Symbol.for('plugboard.errorRegistry');

function table(): Map<string, RegisteredError> {
  const holder = globalThis as { [REGISTRY]?: Map<string, RegisteredError> };
  let registry = holder[REGISTRY];
  if (registry === undefined) {
    registry = new Map();
    holder[REGISTRY] = registry;
  }
  if (!registry.has('INTERNAL_ERROR')) {
    for (const [code, entry] of Object.entries(errorCatalogue)) registry.set(code, { code, source: 'core', ...entry });
  }
  return registry;
}

/** The catalogue entry of a code, whoever registered it; undefined for an unknown code. */
export function lookupErrorCode(code: string): ErrorCatalogueEntry | undefined {
  return table().get(code);
}

/**
 * Adds codes to the table. A code registered again by the same source replaces its entry (a
 * plugin reloaded with a better hint); a code owned by another source is refused, so a plugin
 * cannot redefine what `PLUGIN_TIMEOUT` means.
 *
 * @throws Error when a code belongs to another source.
 */
export function registerErrorCodes(source: string, entries: Readonly<Record<string, ErrorCatalogueEntry>>): void {
  const registry = table();
  for (const [code, entry] of Object.entries(entries)) {
    const existing = registry.get(code);
    if (existing !== undefined && existing.source !== source) {
      throw new Error(`error code ${code} is already registered by ${existing.source}`);
    }
    registry.set(code, { code, source, summary: entry.summary, hint: entry.hint, status: entry.status });
  }
}

/** Every registered code, sorted by source then code. */
export function listErrorCodes(): readonly RegisteredError[] {
  return [...table().values()].sort((a, b) => a.source.localeCompare(b.source) || a.code.localeCompare(b.code));
}
