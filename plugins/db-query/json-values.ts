import type { JsonValue } from '../../src/index.ts';

/**
 * One value of a result row as JSON can hold it, for the model:
 * - bigint: a number when it is exactly one, else its decimal string;
 * - Buffer / Uint8Array (BLOB, bytea): `{ "base64": "…" }`;
 * - Date (PostgreSQL timestamps): its ISO 8601 string (null when invalid);
 * - NaN and ±Infinity: their names as strings;
 * - arrays and objects (PostgreSQL arrays, json): converted member by member.
 *
 * @example
 * ```ts
 * toJsonValue(2n ** 64n); // '18446744073709551616'
 * toJsonValue(Buffer.from('hi')); // { base64: 'aGk=' }
 * ```
 */
export function toJsonValue(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    case 'object':
      break;
    default:
      return String(value);
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return { base64: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(toJsonValue);
  const object: Record<string, JsonValue> = {};
  for (const [key, item] of Object.entries(value)) object[key] = toJsonValue(item);
  return object;
}
