import { isDeepStrictEqual } from 'node:util';
import { type Document, isMap, isNode, isScalar, type Node, type Pair, parseDocument, visit, type YAMLMap } from 'yaml';
import { PLUGIN_SECTIONS, type PluginSection } from './schema.ts';
import {
  afterColon,
  applySplices,
  columnOf,
  indented,
  isPlainObject,
  keyOf,
  mapSplices,
  NoMinimalEdit,
  type PrintStyle,
  rangeOf,
  render,
  replaceInlineValue,
  type Splice,
  trailingSpace,
} from './yaml-splices.ts';

/*
 * Edits one plugin's `config:` mapping in the text of a configuration file, for the admin API's
 * config editor (PUT /admin/plugins/:name/config). The yaml package's Document API finds the
 * entry and its nodes, with their places in the text; only the text of what changes is
 * replaced (see yaml-splices.ts): a changed value where it stands, its comment kept; a removed
 * key's lines; new keys after the last one. Everything else — other keys of the mapping, every
 * comment, blank line and quoting elsewhere — stays byte for byte. (Printing the whole Document
 * again would move comments and respace flow lists all over the file.) When a key-by-key edit
 * cannot be made, the mapping is printed anew (unchanged keys keep their nodes, so comments and
 * `${VAR}` references survive; spacing inside the mapping is the printer's).
 */

/** A plugin's entry as found in the file. */
export interface LocatedEntry {
  readonly ok: true;
  readonly section: PluginSection;
  /** Its `config:` mapping as written (references unresolved); `{}` when it has none. */
  readonly config: Readonly<Record<string, unknown>>;
}

/** Why an entry cannot be edited in the file, said so that the operator knows what to do. */
export interface EditRefusal {
  readonly ok: false;
  /** `not-found`: no entry names the plugin; `unsupported`: the file is written in a way this editor leaves alone. */
  readonly kind: 'not-found' | 'unsupported';
  readonly reason: string;
}

/**
 * Finds a plugin's entry (`<section>: { <name>: … }`) in configuration text.
 *
 * @example
 * ```ts
 * const found = locatePluginEntry(await readFile(file, 'utf8'), 'content_filter');
 * if (found.ok) console.log(found.section, found.config);
 * ```
 */
export function locatePluginEntry(text: string, name: string): LocatedEntry | EditRefusal {
  const found = findEntry(parseDocument(text, { uniqueKeys: true }), name);
  if (!found.ok) return found;
  const config = isMap(found.entry.value) ? found.entry.value.get('config') : undefined;
  return {
    ok: true,
    section: found.section,
    config: isMap(config) ? (config.toJSON() as Record<string, unknown>) : {},
  };
}

/**
 * The text with the plugin's `config:` mapping replaced by `config` (values as they are to be
 * written: `${VAR}` references as strings). Keys whose value is unchanged keep their text;
 * outside the mapping nothing changes. The result is parsed again and checked to hold exactly
 * the file's data with the new mapping, or the edit is refused.
 *
 * @example
 * ```ts
 * const edit = setPluginConfig(text, 'content_filter', { default_region: 'DE' });
 * if (edit.ok) await writeFileAtomically(file, edit.text);
 * ```
 */
export function setPluginConfig(
  text: string,
  name: string,
  config: Readonly<Record<string, unknown>>,
): { readonly ok: true; readonly text: string; readonly changed: boolean } | EditRefusal {
  const document = parseDocument(text, { uniqueKeys: true });
  const found = findEntry(document, name);
  if (!found.ok) return found;
  const expected = withEntryConfig(document.toJS(), found.section, name, config);
  // Key by key first; if that cannot be done (or does not check out), the whole mapping anew.
  for (const attempt of [minimalSplices, mappingSplice]) {
    const fresh = parseDocument(text, { uniqueKeys: true });
    let splices: readonly Splice[] | undefined;
    try {
      splices = attempt(text, fresh, findEntry(fresh, name) as FoundEntry, config);
    } catch (error) {
      if (error instanceof NoMinimalEdit) continue;
      throw error;
    }
    if (splices === undefined || splices.length === 0) return { ok: true, text, changed: false };
    const eol = text.includes('\r\n') ? '\r\n' : '\n';
    let edited: string;
    try {
      edited = applySplices(
        text,
        splices.map((splice) => ({ ...splice, replacement: splice.replacement.replaceAll('\n', eol) })),
      );
    } catch (error) {
      if (error instanceof NoMinimalEdit) continue;
      throw error;
    }
    // The safety net: the new text must hold the same data, but for the one mapping.
    const check = parseDocument(edited, { uniqueKeys: true });
    if (check.errors.length === 0 && isDeepStrictEqual(check.toJS(), expected)) {
      return { ok: true, text: edited, changed: edited !== text };
    }
  }
  return unsupported(`the edit of "${name}" could not be written without changing other parts of the file`);
}

interface FoundEntry {
  readonly ok: true;
  readonly section: PluginSection;
  readonly sectionKey: Node;
  readonly sectionMap: YAMLMap;
  readonly entry: Pair;
}

function findEntry(document: Document.Parsed, name: string): FoundEntry | EditRefusal {
  if (document.errors.length > 0) {
    const [first] = document.errors;
    const line = first?.linePos?.[0]?.line;
    return unsupported(
      `the file has YAML syntax errors${line === undefined ? '' : ` (line ${line})`}: fix them, then edit again`,
    );
  }
  const matches: FoundEntry[] = [];
  const root = document.contents;
  for (const section of PLUGIN_SECTIONS) {
    const sectionPair = isMap(root) ? root.items.find((pair) => keyOf(pair) === section) : undefined;
    const sectionMap = sectionPair?.value;
    if (sectionPair === undefined || !isMap(sectionMap)) continue;
    const entry = sectionMap.items.find((pair) => keyOf(pair) === name);
    if (entry !== undefined)
      matches.push({ ok: true, section, sectionKey: sectionPair.key as Node, sectionMap, entry });
  }
  if (matches.length === 0) return { ok: false, kind: 'not-found', reason: `no entry in the file names "${name}"` };
  if (matches.length > 1) {
    return unsupported(`"${name}" has entries under ${matches.map((match) => match.section).join(' and ')}; keep one`);
  }
  const match = matches[0]!;
  if (match.sectionMap.flow) {
    return unsupported(`the section "${match.section}" is written in flow style ({ … }); edit it by hand`);
  }
  const value = match.entry.value;
  if (!(value === null || isMap(value) || (isScalar(value) && value.value === null))) {
    return unsupported(`the entry of "${name}" is not a mapping; edit it by hand`);
  }
  if (usesAnchors(match.entry)) {
    return unsupported(`the entry of "${name}" uses YAML anchors, aliases or merge keys; edit it by hand`);
  }
  return match;
}

/** The entry's other keys as they are, and `config` as given. */
function entryWith(entry: YAMLMap, config: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return { ...(entry.toJSON() as Record<string, unknown>), config };
}

function styleOf(text: string, found: FoundEntry): PrintStyle {
  const entryKey = found.entry.key as Node;
  const step = Math.max(1, columnOf(text, rangeOf(entryKey)[0]) - columnOf(text, rangeOf(found.sectionKey)[0]));
  const entryEnd = found.entry.value === null ? rangeOf(entryKey)[2] : rangeOf(found.entry.value as Node)[2];
  return { indent: step, flowPadding: flowPadding(text.slice(rangeOf(entryKey)[0], entryEnd)) };
}

/** The edits key by key (see yaml-splices.ts); undefined when nothing changes. */
function minimalSplices(
  text: string,
  document: Document.Parsed,
  found: FoundEntry,
  config: Readonly<Record<string, unknown>>,
): Splice[] | undefined {
  const entry = found.entry.value;
  if (!isMap(entry) || entry.flow || entry.items.length === 0) throw new NoMinimalEdit('not a block entry');
  const before = entry.toJSON() as Record<string, unknown>;
  const next = entryWith(entry, config);
  if (isDeepStrictEqual(before.config === undefined ? {} : before.config, config)) return undefined;
  const splices: Splice[] = [];
  mapSplices(text, document, entry, next, before, styleOf(text, found), splices);
  return splices;
}

/**
 * One edit: the entry's whole `config:` mapping printed anew (keys whose value is unchanged
 * keep their node, and so their comments and references; the printer's spacing applies to the
 * mapping), or the whole entry when it is written `name:` or `name: { … }`.
 */
function mappingSplice(
  text: string,
  document: Document.Parsed,
  found: FoundEntry,
  config: Readonly<Record<string, unknown>>,
): Splice[] | undefined {
  const empty = isEmpty(config);
  const entryKey = found.entry.key as Node;
  const entryColumn = columnOf(text, rangeOf(entryKey)[0]);
  const style = styleOf(text, found);
  const entry = found.entry.value;

  if (!isMap(entry) || entry.flow) {
    // `name:`, `name: {}`, `name: { enabled: false }`: the entry becomes a block mapping.
    const current = isMap(entry) ? (entry.toJSON() as Record<string, unknown>) : {};
    if (empty && isDeepStrictEqual(current.config ?? {}, {})) return undefined;
    const node = document.createNode({ ...current, config });
    const block = indented(render(asBlock(node), style), entryColumn + style.indent);
    return [replaceInlineValue(text, afterColon(text, entryKey), entry as Node | null, block)];
  }

  const pair = entry.items.find((item) => keyOf(item) === 'config');
  if (pair === undefined) {
    if (empty) return undefined;
    // A new last key of the entry, at the column of its other keys.
    const keyColumn = columnOf(text, rangeOf(entry.items[0]!.key as Node)[0]);
    const at = rangeOf(entry)[1];
    const lead = text[at - 1] === '\n' ? '' : '\n';
    const block = indented(render(asBlock(document.createNode(config)), style), keyColumn + style.indent);
    return [{ start: at, end: at, replacement: `${lead}${' '.repeat(keyColumn)}config:\n${block}\n` }];
  }

  const configKey = pair.key as Node;
  const keyColumn = columnOf(text, rangeOf(configKey)[0]);
  const value = pair.value as Node | null;
  const before = value === null ? null : (value as { toJSON?: () => unknown }).toJSON?.();
  if (isMap(value) && isDeepStrictEqual(before, config)) return undefined;
  if (isMap(value) && !value.flow && value.items.length > 0 && !empty) {
    editMap(document, value, config, before as Record<string, unknown>);
    const [start, end] = rangeOf(value);
    // Its own leading and trailing comments lie outside [start, end): they stay where they are.
    value.commentBefore = undefined;
    value.comment = undefined;
    const body = render(value, style).replace(/^\s*\n/, '');
    const [first = '', ...rest] = body.split('\n');
    const pad = ' '.repeat(columnOf(text, start));
    const lines = [first, ...rest.map((line) => (line === '' ? '' : pad + line))];
    return [{ start, end, replacement: lines.join('\n') + trailingSpace(text.slice(start, end)) }];
  }
  // `config:`, `config: {}`, `config: { … }`, or a mapping emptied: the value is written anew.
  const start = afterColon(text, configKey);
  if (empty) {
    const end = value === null ? start : Math.max(start, rangeOf(value)[1]);
    return [{ start, end, replacement: ` {}${trailingSpace(text.slice(start, end))}` }];
  }
  const block = indented(render(asBlock(document.createNode(config)), style), keyColumn + style.indent);
  return [replaceInlineValue(text, start, value, block)];
}

/** `[a, b]` in the text (and no `[ a, b ]`): print flow collections without inner spaces. */
function flowPadding(text: string): boolean {
  const tight = /[[{][^\s\]}]/.test(text.replace(/"[^"\n]*"|'[^'\n]*'|#.*/g, ''));
  return !tight || /[[{] \S/.test(text);
}

function asBlock(node: Node): Node {
  if (isMap(node)) node.flow = false;
  return node;
}

function isEmpty(config: Readonly<Record<string, unknown>>): boolean {
  return Object.keys(config).length === 0;
}

/**
 * Makes `map` hold `next`, changing only what differs from `before` (its current data): a key
 * whose value is unchanged keeps its node — comments, quoting, a `${VAR}` reference.
 */
function editMap(
  document: Document.Parsed,
  map: YAMLMap,
  next: Readonly<Record<string, unknown>>,
  before: Readonly<Record<string, unknown>>,
): void {
  map.items = map.items.filter((pair) => Object.hasOwn(next, keyOf(pair)));
  for (const [key, value] of Object.entries(next)) {
    const pair = map.items.find((item) => keyOf(item) === key);
    if (pair === undefined) {
      map.items.push(document.createPair(key, value));
      continue;
    }
    const old = before[key];
    if (isDeepStrictEqual(value, old)) continue;
    const node = pair.value as Node | null;
    if (isMap(node) && isPlainObject(value) && isPlainObject(old) && Object.keys(value).length > 0) {
      editMap(document, node, value, old);
    } else if (isScalar(node) && isPrimitive(value) && isPrimitive(node.value)) {
      // Quoting chosen for a string does not suit a number: let the printer choose again.
      if (typeof node.value !== typeof value) node.type = undefined;
      node.value = value;
    } else {
      const created = document.createNode(value);
      if (node !== null) {
        created.commentBefore = node.commentBefore;
        created.comment = node.comment;
        created.spaceBefore = node.spaceBefore;
      }
      pair.value = created;
    }
  }
}

/** Anchors, aliases and merge keys tie a value to others: editing one would change or break them. */
function usesAnchors(pair: Pair): boolean {
  let found = false;
  const visitor = {
    Alias: () => {
      found = true;
      return visit.BREAK;
    },
    Node: (_key: unknown, node: Node) => {
      if (node.anchor !== undefined) {
        found = true;
        return visit.BREAK;
      }
      return undefined;
    },
    Pair: (_key: unknown, item: Pair) => {
      if (isScalar(item.key) && item.key.value === '<<') {
        found = true;
        return visit.BREAK;
      }
      return undefined;
    },
  };
  for (const node of [pair.key, pair.value]) if (isNode(node)) visit(node, visitor);
  return found;
}

/** The file's data with the entry's `config` set: what the edited text must parse to. */
function withEntryConfig(
  data: unknown,
  section: PluginSection,
  name: string,
  config: Readonly<Record<string, unknown>>,
): unknown {
  const root = { ...(data as Record<string, unknown>) };
  const entries = { ...(root[section] as Record<string, unknown>) };
  const entry = entries[name];
  entries[name] = { ...(isPlainObject(entry) ? entry : {}), config };
  root[section] = entries;
  return root;
}

function unsupported(reason: string): EditRefusal {
  return { ok: false, kind: 'unsupported', reason };
}

function isPrimitive(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}
