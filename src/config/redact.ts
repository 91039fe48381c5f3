/** Key names whose values are secrets and never printed. */
const SECRET_KEY =
  /(api[_-]?key|secret|password|passwd|authorization|credential|private[_-]?key|(^|[_-])token$|[a-z]Token$)/i;

/** A deep copy of `value` with the values of secret-looking keys replaced by `[redacted]`. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      SECRET_KEY.test(key) && item !== undefined && item !== '' ? '[redacted]' : redactSecrets(item),
    ]),
  );
}
