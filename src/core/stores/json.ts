import { PlugboardError } from '../errors/plugboard-error.ts';

/** A JSON leaf: what every store can keep and compare (numbers are finite doubles). */
export type JsonScalar = string | number | boolean | null;

/** A JSON array, read-only so that stored values cannot be changed through it. */
export type JsonArray = readonly JsonValue[];

/**
 * A JSON object, read-only so that stored values cannot be changed through it.
 *
 * @example
 * ```ts
 * const reply: JsonObject = { text: 'Hello', tokens: 3, tags: ['greeting'] };
 * ```
 */
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/**
 * Any value a store keeps: what `JSON.parse(JSON.stringify(value))` gives back unchanged.
 * Stores are JSON so that an in-memory store and a Redis, SQLite or PostgreSQL one
 * behave the same: nothing survives in memory that a server would lose.
 *
 * @example
 * ```ts
 * await store.set('session', { user: 'bo', turns: 3, last: new Date().toISOString() } satisfies JsonValue);
 * ```
 */
export type JsonValue = JsonScalar | JsonArray | JsonObject;

/**
 * Nesting deeper than this is refused. Why: the checks below recurse, and a value nested
 * thousands of levels deep is a bug (or an attack) rather than data.
 */
export const MAX_JSON_DEPTH = 1000;

/**
 * True for a JSON leaf: a string, a finite number, a boolean or `null`.
 *
 * @example
 * ```ts
 * isJsonScalar('fr'); // true
 * isJsonScalar(Number.NaN); // false: JSON has no NaN
 * ```
 */
export function isJsonScalar(value: unknown): value is JsonScalar {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/**
 * Checks that `value` survives a JSON round trip unchanged.
 *
 * @param what how the error names the value, e.g. `value` or `metadata`.
 * @example
 * ```ts
 * assertJson({ hits: 3, tags: ['a'] }, 'value'); // passes
 * assertJson({ at: new Date() }, 'value'); // throws: value.at is a Date …
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` naming the offending path: `undefined`,
 *   functions, symbols, bigints, NaN/Infinity, sparse arrays, non-plain objects (Date, Map,
 *   class instances …), symbol keys, cycles and nesting deeper than {@link MAX_JSON_DEPTH}.
 */
export function assertJson(value: unknown, what: string): asserts value is JsonValue {
  copyJson(value, what, new Set(), 0);
}

/**
 * Checks `value` like {@link assertJson} and returns a deep copy of it, frozen, so that
 * neither the caller (who keeps the original) nor a reader (who gets the copy) can change
 * what a store holds. `-0` becomes `0`, as it would in JSON.
 *
 * @example
 * ```ts
 * const stored = frozenJsonCopy(input, 'value');
 * input.count = 2; // stored.count is still what it was
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT`, as {@link assertJson}.
 */
export function frozenJsonCopy(value: unknown, what: string): JsonValue {
  return copyJson(value, what, new Set(), 0);
}

/**
 * Like {@link frozenJsonCopy}, for a value that must be a JSON object (metadata).
 *
 * @example
 * ```ts
 * const metadata = frozenJsonObjectCopy(input.metadata ?? {}, 'metadata');
 * ```
 * @throws PlugboardError `STORE_INVALID_ARGUMENT` when `value` is not a plain object of JSON values.
 */
export function frozenJsonObjectCopy(value: unknown, what: string): JsonObject {
  if (!isPlainObject(value)) {
    throw invalid(`${what} must be a plain object of JSON values, got ${describeValue(value)}`);
  }
  return copyJson(value, what, new Set(), 0) as JsonObject;
}

/**
 * A short description of a value for error messages: its JSON text when short, else its type.
 *
 * @example
 * ```ts
 * describeValue(42); // '42 (a number)'
 * describeValue(new Map()); // 'a Map'
 * ```
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${String(value)} (a ${typeof value})`;
  if (typeof value === 'bigint') return `${value}n (a bigint)`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return isPlainObject(value) ? 'an object' : nameOfInstance(value as object);
}

/**
 * True for `{}`-like objects: made by a literal, `JSON.parse` or `Object.create(null)`.
 *
 * @example
 * ```ts
 * isPlainObject({ a: 1 }); // true
 * isPlainObject(new Date()); // false
 * ```
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Validates and copies in one walk. `ancestors` holds the objects on the current path only,
 * so a value shared by two branches (a DAG) is fine and only a true cycle is refused.
 */
function copyJson(value: unknown, path: string, ancestors: Set<object>, depth: number): JsonValue {
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(`${path} is ${value}; JSON numbers must be finite`);
    return value === 0 ? 0 : value; // -0 would come back from any server as 0
  }
  if (value === undefined) {
    throw invalid(`${path} is undefined; JSON has no undefined (leave the property out, or use null)`);
  }
  if (typeof value === 'bigint') throw invalid(`${path} is a bigint; store it as a string or a number`);
  if (typeof value !== 'object') throw invalid(`${path} is ${describeValue(value)}, which JSON cannot hold`);
  if (depth >= MAX_JSON_DEPTH) throw invalid(`${path} is nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (ancestors.has(value)) throw invalid(`${path} refers back to one of its containers (a cycle)`);
  ancestors.add(value);
  try {
    return Array.isArray(value) ? copyArray(value, path, ancestors, depth) : copyObject(value, path, ancestors, depth);
  } finally {
    ancestors.delete(value);
  }
}

function copyArray(array: readonly unknown[], path: string, ancestors: Set<object>, depth: number): JsonArray {
  const copy: JsonValue[] = [];
  for (let index = 0; index < array.length; index++) {
    if (!(index in array)) throw invalid(`${path}[${index}] is a hole in a sparse array`);
    copy.push(copyJson(array[index], `${path}[${index}]`, ancestors, depth + 1));
  }
  return Object.freeze(copy);
}

function copyObject(object: object, path: string, ancestors: Set<object>, depth: number): JsonObject {
  if (!isPlainObject(object)) {
    const hint = object instanceof Date ? ' (store date.toISOString() or date.getTime() instead)' : '';
    throw invalid(`${path} is ${nameOfInstance(object)}, not a plain object${hint}`);
  }
  if (Object.getOwnPropertySymbols(object).length > 0) throw invalid(`${path} has symbol keys, which JSON drops`);
  const copy: Record<string, JsonValue> = {};
  for (const key of Object.keys(object)) {
    const item = copyJson(object[key], `${path}.${key}`, ancestors, depth + 1);
    // Plain assignment of "__proto__" would set the prototype instead of a property.
    if (key === '__proto__') {
      Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
    } else {
      copy[key] = item;
    }
  }
  return Object.freeze(copy);
}

function nameOfInstance(value: object): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  if (typeof name !== 'string' || name === '') return 'an object of an unknown class';
  return /^[AEIOU]/.test(name) ? `an ${name}` : `a ${name}`;
}

function invalid(message: string): PlugboardError {
  return new PlugboardError('STORE_INVALID_ARGUMENT', message);
}
