/** A key path into a config: `['categories', 'email', 'action']`, `['list', 0]`. */
export type KeyPath = readonly (string | number)[];

/**
 * Reading and writing a JSON value at a key path without changing the original: the form's
 * draft is one JSON value, each field edits its own path.
 *
 * @example
 * ```ts
 * setAt({ a: { b: 1 } }, ['a', 'c'], 2);         // { a: { b: 1, c: 2 } }
 * setAt({ a: { b: 1 } }, ['a', 'b'], undefined); // { a: {} }  (the key is left out)
 * getAt({ list: [1, 2] }, ['list', 1]);           // 2
 * ```
 */
export function getAt(value: unknown, path: KeyPath): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** A copy of `value` with `next` at `path` (undefined: the key removed, an array item dropped). */
export function setAt(value: unknown, path: KeyPath, next: unknown): unknown {
  const [key, ...rest] = path;
  if (key === undefined) return next;
  if (typeof key === 'number') {
    const list = Array.isArray(value) ? [...value] : [];
    const item = setAt(list[key], rest, next);
    if (item === undefined && rest.length === 0) list.splice(key, 1);
    else list[key] = item;
    return list;
  }
  const object: Record<string, unknown> =
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? { ...(value as Record<string, unknown>) }
      : {};
  const item = setAt(object[key], rest, next);
  if (item === undefined) delete object[key];
  else object[key] = item;
  return object;
}

/** A path as a map key: the same for `['list', 0]` and the server's `['list', '0']`. */
export function pathKey(path: KeyPath): string {
  return JSON.stringify(path.map(String));
}

/**
 * A path as the server may write it: an array of keys, or a string such as
 * `categories.email.action`, `custom[0].pattern` or a JSON Pointer `/custom/0/pattern`.
 */
export function parseIssuePath(path: unknown): KeyPath {
  if (Array.isArray(path)) return path.map((key) => (typeof key === 'number' ? key : String(key)));
  if (typeof path !== 'string' || path === '') return [];
  if (path.startsWith('/'))
    return path
      .slice(1)
      .split('/')
      .map((key) => key.replace(/~1/g, '/').replace(/~0/g, '~'));
  return path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((key) => key !== '');
}

/** `categories.email.action`, `list[0]`: a path in words, for messages. */
export function formatPath(path: KeyPath): string {
  return path.reduce<string>(
    (text, key) =>
      typeof key === 'number' || /^\d+$/.test(key) ? `${text}[${key}]` : text === '' ? key : `${text}.${key}`,
    '',
  );
}
