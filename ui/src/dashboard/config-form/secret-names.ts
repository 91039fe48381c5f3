/**
 * Which configuration keys hold a secret, for the form to show their values as dots
 * (`type=password`). A COPY of the server's rule, `isSecretKey` in src/core/util/redact.ts
 * (the UI is built apart and cannot import the server's code): change both together.
 */

/** Words that make any field name a secret, wherever they appear in it. */
const SECRET_WORDS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'credential',
  'authorization',
  'cookie',
  'bearer',
  'apikey',
  'privatekey',
  'accesskey',
];

/** What may come before a final `key` to make it a secret (`api_key`, `accessKey`, `ssh_key`). */
const KEY_QUALIFIERS = new Set([
  'access',
  'account',
  'admin',
  'api',
  'auth',
  'client',
  'encryption',
  'license',
  'master',
  'private',
  'secret',
  'service',
  'session',
  'signing',
  'ssh',
  'subscription',
]);

/** Names that are secrets only when they are the whole name. */
const SECRET_NAMES = new Set(['key', 'pass', 'pwd']);

/**
 * True when a configuration key named `name` holds a secret (the server shows it as
 * `[redacted]`).
 *
 * @example
 * ```ts
 * isSecretName('api_key'); // true
 * isSecretName('max_tokens'); // false
 * ```
 */
export function isSecretName(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
  const first = words[0];
  if (first === undefined) return false;
  if (words.length === 1 && SECRET_NAMES.has(first)) return true;
  if (words.some((word) => SECRET_WORDS.some((secret) => word.includes(secret)))) return true;
  const last = words[words.length - 1] ?? '';
  if (last.endsWith('token') || last === 'auth') return true;
  const keyAt = last === 'key' ? words.length - 1 : last === 'id' && words.at(-2) === 'key' ? words.length - 2 : -1;
  return keyAt > 0 && KEY_QUALIFIERS.has(words[keyAt - 1] ?? '');
}

/** Whether the value at `path` (its nearest named key) is a secret. */
export function isSecretPath(path: readonly (string | number)[]): boolean {
  const name = [...path].reverse().find((segment): segment is string => typeof segment === 'string');
  return name !== undefined && isSecretName(name);
}
