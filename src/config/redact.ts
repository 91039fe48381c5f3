import { redactSecrets as redact } from '../core/util/redact.ts';

/**
 * The configuration (or any value) with its secrets hidden, for `plugboard config print` and
 * `GET /admin/config`. The rules are the logger's and everyone else's (`core/util/redact.ts`):
 * secret-named keys show `[redacted]`, URL passwords `***`, `Bearer` tokens and list entries
 * such as `"Authorization: Bearer …"` lose their credential. Parts without secrets are shared
 * with the value given, which is never changed.
 */
export function redactSecrets(value: unknown): unknown {
  return redact(value);
}
