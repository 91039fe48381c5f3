import { redactUrl } from '../connections/redact-url.ts';

/** Key names whose values are secrets and never printed. */
const SECRET_KEY =
  /(api[_-]?key|secret|password|passwd|authorization|credential|private[_-]?key|(^|[_-])token$|[a-z]Token$)/i;

/**
 * A deep copy of `value` with the values of secret-looking keys replaced by `[redacted]`, and
 * the password of any URL with credentials (`redis://:secret@host`) replaced by `***`.
 */
export function redactSecrets(value: unknown): unknown {
  if (typeof value === 'string') return value.includes('://') && value.includes('@') ? redactUrl(value) : value;
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      SECRET_KEY.test(key) && item !== undefined && item !== '' ? '[redacted]' : redactSecrets(item),
    ]),
  );
}
