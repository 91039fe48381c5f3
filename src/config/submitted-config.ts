import { REDACTED, REDACTED_PASSWORD } from '../core/util/redact.ts';

/** A key path into a plugin's config. */
export type ConfigKeyPath = readonly (string | number)[];

/** A submitted config merged with what it replaces. */
export interface MergedConfig {
  /** The config to use: submitted values, and the base's where the editor sent back what it was shown. */
  readonly value: Readonly<Record<string, unknown>>;
  /** Paths of changed values that still hold a placeholder of a hidden secret (`[redacted]`, `:***@`). */
  readonly placeholders: readonly ConfigKeyPath[];
  /**
   * Paths of secrets sent back as a placeholder although an address in the same mapping
   * (`base_url`, `host` …) changed: keeping the secret would send it to the new address.
   */
  readonly movedSecrets: readonly ConfigKeyPath[];
}

/** How {@link mergeSubmitted} treats the values the user changed. */
export interface MergeOptions {
  /**
   * Escape `${…}` in changed strings as `$${…}` — for a config written to the file, which the
   * loader substitutes: a value typed in a form is literal text, never a reference to the
   * server's environment (that would let an admin read any variable, or break on `Hello ${user}`).
   */
  readonly escapeReferences?: boolean;
}

/** What the loader reads as a reference (see env-substitution.ts); `$${…}` is its escape. */
const REFERENCE = /\$\{[A-Za-z_][A-Za-z0-9_]*(?::[^}]*)?\}/g;

/**
 * `text` written so the loader reads it literally: each `${NAME…}` becomes `$${NAME…}`.
 *
 * @example
 * ```ts
 * escapeReferences('Hello ${user}'); // 'Hello $${user}' — loaded as 'Hello ${user}'
 * ```
 */
export function escapeReferences(text: string): string {
  return text.replace(REFERENCE, '$$$&');
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
 * `placeholders`: writing it would replace a secret with the placeholder. A placeholder sent
 * back unchanged next to a changed address (a key named like `url`, `host`, `endpoint`,
 * `address`, or a value that is a URL) is listed in `movedSecrets`: the kept secret would go
 * to the new address. With `escapeReferences`, changed strings are written with `${` escaped.
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
  options: MergeOptions = {},
): MergedConfig {
  const found: Found = { placeholders: [], movedSecrets: [], escape: options.escapeReferences === true };
  const value = merge(submitted, shown, base, [], found) as Record<string, unknown>;
  return { value, placeholders: found.placeholders, movedSecrets: found.movedSecrets };
}

interface Found {
  readonly placeholders: ConfigKeyPath[];
  readonly movedSecrets: ConfigKeyPath[];
  readonly escape: boolean;
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

function merge(submitted: unknown, shown: unknown, base: unknown, path: ConfigKeyPath, found: Found): unknown {
  if (shown !== undefined && sameAsShown(submitted, shown)) return base;
  if (isPlainObject(submitted) && isPlainObject(shown) && isPlainObject(base)) {
    const merged: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(submitted)) {
      merged[key] = merge(value, shown[key], base[key], [...path, key], found);
    }
    if (addressChanged(submitted, shown)) {
      // A secret kept from the file would go to the new address: it must be typed again.
      for (const [key, value] of Object.entries(submitted)) {
        if (holdsPlaceholder(value) && sameAsShown(value, shown[key])) found.movedSecrets.push([...path, key]);
      }
    }
    return merged;
  }
  collectPlaceholders(submitted, path, found.placeholders);
  return found.escape ? escapeAll(submitted) : submitted;
}

/** True when a URL- or host-like value of the mapping was changed, added or removed. */
function addressChanged(submitted: Record<string, unknown>, shown: Record<string, unknown>): boolean {
  const keys = new Set([...Object.keys(submitted), ...Object.keys(shown)]);
  for (const key of keys) {
    const before = shown[key];
    const after = submitted[key];
    if (!isAddress(key, before) && !isAddress(key, after)) continue;
    if (before === undefined || after === undefined || !sameAsShown(after, before)) return true;
  }
  return false;
}

const ADDRESS_KEY = /url|host|endpoint|address/i;

function isAddress(key: string, value: unknown): boolean {
  if (value === undefined || isPlainObject(value) || Array.isArray(value)) return false;
  if (ADDRESS_KEY.test(key)) return true;
  return typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(value) && URL.canParse(value);
}

function holdsPlaceholder(value: unknown): boolean {
  const found: ConfigKeyPath[] = [];
  collectPlaceholders(value, [], found);
  return found.length > 0;
}

function escapeAll(value: unknown): unknown {
  if (typeof value === 'string') return escapeReferences(value);
  if (Array.isArray(value)) return value.map(escapeAll);
  if (isPlainObject(value))
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, escapeAll(item)]));
  return value;
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
