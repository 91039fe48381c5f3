// The server's own rule (src/core/util/redact.ts has no imports, so the bundle takes it as it
// is): the form shows as dots exactly the values the server shows as `[redacted]`.
import { isSecretKey } from '../../../../src/core/util/redact.ts';

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
export const isSecretName: (name: string) => boolean = isSecretKey;

/** Whether the value at `path` (its nearest named key) is a secret. */
export function isSecretPath(path: readonly (string | number)[]): boolean {
  const name = [...path].reverse().find((segment): segment is string => typeof segment === 'string');
  return name !== undefined && isSecretName(name);
}
