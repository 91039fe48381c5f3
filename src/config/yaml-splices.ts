import { isDeepStrictEqual } from 'node:util';
import { Document, isMap, isScalar, isSeq, type Node, type Pair, Scalar, type YAMLMap } from 'yaml';

/*
 * The smallest text edits that make a block mapping of a parsed YAML file hold new data: a
 * changed scalar is rewritten where it stands (its trailing comment stays), a removed key
 * loses its line(s), new keys are added after the last one, a changed nested mapping is edited
 * the same way, key by key. Whatever is unchanged keeps its exact text. Used by
 * config-file-edit.ts, which checks the result by parsing it again.
 */

/** One edit: the text in [start, end) becomes `replacement`. */
export interface Splice {
  readonly start: number;
  readonly end: number;
  readonly replacement: string;
}

/** How new text is printed: the file's indentation step, and its spacing inside `[ … ]` / `{ … }`. */
export interface PrintStyle {
  readonly indent: number;
  readonly flowPadding: boolean;
}

/** Thrown when a minimal edit cannot be made safely (the caller rewrites the whole mapping instead). */
export class NoMinimalEdit extends Error {}

/**
 * The edits that make the block mapping `map` hold `next` instead of `before` (its current data),
 * appended to `out` in an order {@link applySplices} understands.
 *
 * @throws NoMinimalEdit when the mapping's layout does not allow it (a mapping that starts on
 *   the line of a `- ` list item, a key that is not alone at the start of its line).
 */
export function mapSplices(
  text: string,
  document: Document.Parsed,
  map: YAMLMap,
  next: Readonly<Record<string, unknown>>,
  before: Readonly<Record<string, unknown>>,
  style: PrintStyle,
  out: Splice[],
): void {
  const firstKey = map.items[0]?.key as Node | undefined;
  if (firstKey === undefined || map.flow) throw new NoMinimalEdit('not a block mapping with keys');
  const column = columnOf(text, rangeOf(firstKey)[0]);
  for (const pair of map.items) {
    const key = keyOf(pair);
    if (!Object.hasOwn(next, key)) {
      out.push(removal(text, pair));
      continue;
    }
    if (!isDeepStrictEqual(next[key], before[key])) {
      valueSplices(text, document, pair, next[key], before[key], style, out);
    }
  }
  const added = Object.keys(next).filter((key) => !Object.hasOwn(before, key));
  if (added.length > 0) {
    const at = rangeOf(map)[1];
    const lead = text[at - 1] === '\n' ? '' : '\n';
    const block = render(document.createNode(Object.fromEntries(added.map((key) => [key, next[key]]))), style);
    out.push({ start: at, end: at, replacement: `${lead}${indented(block, column)}\n` });
  }
}

/** The edits that give a pair's value `next`. */
function valueSplices(
  text: string,
  document: Document.Parsed,
  pair: Pair,
  next: unknown,
  before: unknown,
  style: PrintStyle,
  out: Splice[],
): void {
  const key = pair.key as Node;
  const node = pair.value as Node | null;
  const childColumn = columnOf(text, rangeOf(key)[0]) + style.indent;
  if (isBlockMap(node) && isNonEmptyObject(next) && isPlainObject(before) && node.items.length > 0) {
    mapSplices(text, document, node, next, before, style, out);
    return;
  }
  const created = replacementNode(document, node, next);
  const rendered = render(created, style);
  const block = isBlockCollection(node);
  const start = block || isEmptyScalar(node) ? afterColon(text, key) : rangeOf(node as Node)[0];
  const end = node === null ? start : Math.max(start, rangeOf(node)[1]);
  const kept = trailingSpace(text.slice(start, end));
  const lines = rendered.split('\n');
  if (lines.length === 1) {
    out.push({ start, end, replacement: `${start === afterColon(text, key) ? ' ' : ''}${rendered}${kept}` });
  } else if (isScalar(created)) {
    // A block scalar (`|-`): its indicator where the value was, its lines indented under the key.
    const [header = '', ...body] = lines;
    if (!(block || isEmptyScalar(node) || kept.includes('\n')))
      throw new NoMinimalEdit('a block scalar before a comment');
    const prefix = start === afterColon(text, key) ? ' ' : '';
    out.push({
      start,
      end,
      replacement: `${prefix}${header}\n${indented(body.join('\n'), childColumn)}${kept || '\n'}`,
    });
  } else if (block) {
    const from = afterColon(text, key);
    const replacement = `\n${indented(rendered, childColumn)}${trailingSpace(text.slice(from, end))}`;
    out.push({ start: from, end, replacement });
  } else {
    out.push(replaceInlineValue(text, afterColon(text, key), node, indented(rendered, childColumn)));
  }
}

/**
 * Replaces a value written on its key's line (nothing, a scalar, a flow collection) by a block
 * starting on the next line. A comment after the value stays on the key's line.
 */
export function replaceInlineValue(text: string, start: number, value: Node | null, block: string): Splice {
  const valueEnd = value === null ? start : Math.max(start, rangeOf(value)[1]);
  const lineEnd = text.indexOf('\n', valueEnd);
  const rest = text.slice(valueEnd, lineEnd === -1 ? text.length : lineEnd).replace(/\r$/, '');
  if (rest.trim().startsWith('#') && !text.slice(start, valueEnd).includes('\n')) {
    return { start, end: valueEnd + rest.length, replacement: ` ${rest.trim()}\n${block}` };
  }
  return { start, end: valueEnd, replacement: `\n${block}` };
}

/** The node printed for a new value: a scalar keeps its quoting, a flow collection stays flow. */
function replacementNode(document: Document.Parsed, node: Node | null, next: unknown): Node {
  if (isScalar(node) && node.value !== null && isPrimitive(next)) {
    const scalar = new Scalar(next);
    if (typeof node.value === typeof next) scalar.type = node.type;
    return scalar;
  }
  const created = document.createNode(next);
  if ((isMap(node) || isSeq(node)) && node.flow && (isMap(created) || isSeq(created))) created.flow = true;
  return created;
}

/** The lines of a removed pair: from its key's line to the end of its value. */
function removal(text: string, pair: Pair): Splice {
  const key = pair.key as Node;
  const start = text.lastIndexOf('\n', rangeOf(key)[0] - 1) + 1;
  if (text.slice(start, rangeOf(key)[0]).trim() !== '') throw new NoMinimalEdit('a key not alone on its line');
  const node = pair.value as Node | null;
  const valueEnd = node === null ? rangeOf(key)[1] : rangeOf(node)[1];
  const end =
    isBlockCollection(node) && text[valueEnd - 1] === '\n' ? valueEnd : lineEndAfter(text, Math.max(valueEnd - 1, 0));
  return { start, end, replacement: '' };
}

/**
 * The text with every splice applied: from the last to the first, and among splices at the same
 * place the one made later first (an insertion at the end of a nested mapping lands before one
 * at the end of its parent).
 */
export function applySplices(text: string, splices: readonly Splice[]): string {
  const ordered = splices
    .map((splice, index) => ({ splice, index }))
    .sort((a, b) => b.splice.start - a.splice.start || b.index - a.index);
  let result = text;
  let limit = Number.POSITIVE_INFINITY;
  for (const { splice } of ordered) {
    if (splice.end > limit) throw new NoMinimalEdit('overlapping edits');
    result = result.slice(0, splice.start) + splice.replacement + result.slice(splice.end);
    limit = splice.start;
  }
  return result;
}

/** A node printed alone (block style unless it is a flow collection), without its trailing newline. */
export function render(node: Node, style: PrintStyle): string {
  return new Document(node)
    .toString({ indent: style.indent, lineWidth: 0, flowCollectionPadding: style.flowPadding })
    .replace(/\n$/, '');
}

export function indented(block: string, column: number): string {
  const pad = ' '.repeat(column);
  return block
    .split('\n')
    .map((line) => (line === '' ? '' : pad + line))
    .join('\n');
}

/** The whitespace a replaced range ended with (its last newline), kept after the replacement. */
export function trailingSpace(slice: string): string {
  return (/\s*$/.exec(slice)?.[0] ?? '').replaceAll('\r\n', '\n');
}

/** The offset just after the `:` that follows a key. */
export function afterColon(text: string, key: Node): number {
  const colon = text.indexOf(':', rangeOf(key)[1]);
  return colon === -1 ? rangeOf(key)[1] : colon + 1;
}

export function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

export function rangeOf(node: Node): readonly [number, number, number] {
  return node.range ?? [0, 0, 0];
}

export function keyOf(pair: Pair): string {
  return isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
}

function lineEndAfter(text: string, offset: number): number {
  const newline = text.indexOf('\n', offset);
  return newline === -1 ? text.length : newline + 1;
}

function isBlockMap(node: Node | null): node is YAMLMap {
  return isMap(node) && !node.flow;
}

function isBlockCollection(node: Node | null): boolean {
  return (isMap(node) || isSeq(node)) && !node.flow && node.items.length > 0;
}

/** `key:` with nothing after it. */
function isEmptyScalar(node: Node | null): boolean {
  return isScalar(node) && node.value === null && rangeOf(node)[0] === rangeOf(node)[1];
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonEmptyObject(value: unknown): value is Record<string, unknown> {
  return isPlainObject(value) && Object.keys(value).length > 0;
}

function isPrimitive(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}
