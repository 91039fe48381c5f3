import type { ErrorCatalogueEntry } from './catalogue.ts';
import { registerErrorCodes } from './error-registry.ts';
import { type AnyErrorCode, type ErrorOrigin, PlugboardError } from './plugboard-error.ts';

/** One factory per code: the only place an error of that code is made. */
export type ErrorFactory = (message: string, origin?: ErrorOrigin) => PlugboardError;

/** What {@link defineErrors} returns: a factory per code, plus the namespace and entries (for listings). */
export type ErrorSet<E extends Readonly<Record<string, ErrorCatalogueEntry>>> = {
  readonly [K in keyof E]: ErrorFactory;
} & {
  readonly namespace: string;
  readonly entries: E;
  /** The full code of a key: `codeOf('LIMITED')` → `'rate_limit/LIMITED'`. */
  codeOf(key: keyof E & string): string;
};

const NAMESPACE = /^[a-z][a-z0-9_-]*$/;
const KEY = /^[A-Z][A-Z0-9_]*$/;

/**
 * Registers a plugin's own error codes, namespaced (`rate_limit/LIMITED`), with the summary,
 * hint and HTTP status every other code has, and returns one factory per code. Codes join the
 * catalogue that `GET /plugins/errors` and `plugboard errors` list. Put the set in
 * `metadata.errors` so that status reports show which plugin owns it.
 *
 * @example
 * ```ts
 * export const rateLimitErrors = defineErrors('rate_limit', {
 *   LIMITED: { summary: 'Too many requests', hint: 'Wait for the time in Retry-After.', status: 429 },
 * });
 *
 * processRequest: (context) =>
 *   allowed(context) ? context : { decision: 'reject', error: rateLimitErrors.LIMITED('Retry in 10 s') },
 * ```
 * @throws PlugboardError `CONFIG_INVALID` for a malformed namespace or key, or a code another module owns.
 */
export function defineErrors<const E extends Readonly<Record<string, ErrorCatalogueEntry>>>(
  namespace: string,
  entries: E,
): ErrorSet<E> {
  if (!NAMESPACE.test(namespace)) {
    throw new PlugboardError(
      'CONFIG_INVALID',
      `defineErrors: namespace "${namespace}" must be lower-case letters, digits, "-" or "_" (use the plugin's name)`,
    );
  }
  return buildErrorSet(namespace, entries, (key) => `${namespace}/${key}`);
}

/**
 * For Plugboard's own layers above the core (the HTTP server): codes without a namespace,
 * which clients already know (`ROUTE_NOT_FOUND`). Plugins use {@link defineErrors}.
 */
export function defineFirstPartyErrors<const E extends Readonly<Record<string, ErrorCatalogueEntry>>>(
  source: string,
  entries: E,
): ErrorSet<E> {
  return buildErrorSet(source, entries, (key) => key);
}

function buildErrorSet<E extends Readonly<Record<string, ErrorCatalogueEntry>>>(
  source: string,
  entries: E,
  codeOf: (key: string) => string,
): ErrorSet<E> {
  const codes: Record<string, ErrorCatalogueEntry> = {};
  const factories: Record<string, ErrorFactory> = {};
  for (const [key, entry] of Object.entries(entries)) {
    if (!KEY.test(key)) {
      throw new PlugboardError('CONFIG_INVALID', `defineErrors(${source}): code "${key}" must be UPPER_SNAKE_CASE`);
    }
    if (!(Number.isInteger(entry.status) && entry.status >= 400 && entry.status <= 599)) {
      throw new PlugboardError(
        'CONFIG_INVALID',
        `defineErrors(${source}): ${key}.status must be an HTTP error status (400–599)`,
      );
    }
    const code = codeOf(key);
    codes[code] = entry;
    factories[key] = (message, origin) => new PlugboardError(code as AnyErrorCode, message, origin);
  }
  try {
    registerErrorCodes(source, codes);
  } catch (error) {
    throw new PlugboardError('CONFIG_INVALID', `defineErrors(${source}): ${(error as Error).message}`);
  }
  return Object.freeze({
    ...factories,
    namespace: source,
    entries,
    codeOf: (key: string) => codeOf(key),
  }) as unknown as ErrorSet<E>;
}
