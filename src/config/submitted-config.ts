import { REDACTED, REDACTED_PASSWORD } from '../core/util/redact.ts';

/** A key path into a plugin's config. */
export type ConfigKeyPath = readonly (string | number)[];

/** A submitted config merged with what it replaces. */
export interface MergedConfig {
  /** The config to use: submitted values, and the base's where the editor sent back what it was shown. */
  readonly value: Readonly<Record<string, unknown>>;
  /** Paths of changed values that still hold a placeholder of a hidden secret (`[redacted]`, `:***@`). */
  readonly placeholders: readonly ConfigKeyPath[];
}

/**
 * Merges a config sent back by an editor (the web UI's plugin form) with the config it was
 * shown, so that what the editor could not show survives a round trip. Where the submitted
 * value equals the value shown — unchanged by the user — the `base` value is taken instead:
 *
 * - with the file's text as base, a key written `${VAR}` keeps its reference, and a secret
 *   shown as `[redacted]` (or a URL shown with `***` for its password) keeps what the file says;
 * - with the effective config as base, the same keys get their real values (to validate).
 *
 * Equality is loose for scalars: `8080` equals the `"8080"` shown for `"${PORT:8080}"` (a form
 * may type what came from the environment as text). Objects are merged key by key; a key left
 * out is removed. A changed value still holding a redaction placeholder is listed in
 * `placeholders`: writing it would replace a secret with the placeholder.
 *
 * @example
 * ```ts
 * // file: { api_key: '${OPENAI_API_KEY}', model: 'gpt-4o' }; shown: { api_key: '[redacted]', model: 'gpt-4o' }
 * mergeSubmitted({ api_key: '[redacted]', model: 'gpt-5' }, shown, file).value;
 * // { api_key: '${OPENAI_API_KEY}', model: 'gpt-5' }
 * ```
 */
export function mergeSubmitted(
  submitted: Readonly<Record<string, unknown>>,
  shown: Readonly<Record<string, unknown>>,
  base: Readonly<Record<string, unknown>>,
): MergedConfig {
  const placeholders: ConfigKeyPath[] = [];
  const value = merge(submitted, shown, base, [], placeholders) as Record<string, unknown>;
  return { value, placeholders };
}

/** True when a submitted value is the value shown, scalars compared as text. */
export function sameAsShown(submitted: unknown, shown: unknown): boolean {
  if (submitted === shown) return true;
  if (isScalar(submitted) && isScalar(shown)) {
    return (typeof submitted === 'string' || typeof shown === 'string') && String(submitted) === String(shown);
  }
  if (Array.isArray(submitted) && Array.isArray(shown)) {
    return submitted.length === shown.length && submitted.every((item, index) => sameAsShown(item, shown[index]));
  }
  if (isPlainObject(submitted) && isPlainObject(shown)) {
    const keys = Object.keys(submitted);
    return (
      keys.length === Object.keys(shown).length &&
      keys.every((key) => Object.hasOwn(shown, key) && sameAsShown(submitted[key], shown[key]))
    );
  }
  return false;
}

function merge(
  submitted: unknown,
  shown: unknown,
  base: unknown,
  path: ConfigKeyPath,
  placeholders: ConfigKeyPath[],
): unknown {
  if (shown !== undefined && sameAsShown(submitted, shown)) return base;
  if (isPlainObject(submitted) && isPlainObject(shown) && isPlainObject(base)) {
    const merged: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(submitted)) {
      merged[key] = merge(value, shown[key], base[key], [...path, key], placeholders);
    }
    return merged;
  }
  collectPlaceholders(submitted, path, placeholders);
  return submitted;
}

function collectPlaceholders(value: unknown, path: ConfigKeyPath, found: ConfigKeyPath[]): void {
  if (typeof value === 'string') {
    if (value.includes(REDACTED) || value.includes(`:${REDACTED_PASSWORD}@`)) found.push(path);
  } else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) collectPlaceholders(item, [...path, index], found);
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) collectPlaceholders(item, [...path, key], found);
  }
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
