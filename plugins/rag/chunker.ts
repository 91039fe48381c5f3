/**
 * Cuts a parsed document into chunks of at most `chunkTokens` tokens that overlap by up to
 * `overlapTokens`, along the document's own structure:
 *
 * - a heading always starts a new chunk, and its title is the `section` of every chunk up to
 *   the next heading (a heading with no text under it makes no chunk of its own);
 * - a chunk is made of whole sentences (Intl.Segmenter's), and when it is full it ends at the
 *   last paragraph boundary if one lies in its second half, so that paragraphs stay whole;
 * - only a sentence longer than a whole chunk is cut inside, at the whitespace nearest its
 *   middle, again and again until the pieces fit (a word longer than a chunk, at a character);
 * - the overlap is whole sentences from the end of the previous chunk of the same section.
 *
 * Chunks are character ranges of the parsed text, so each has exact offsets.
 */
import type { ParsedDocument, TextBlock } from './parsers/parsed-document.ts';
import type { TokenCounter } from './token-count.ts';

/** One chunk of a document. */
export interface Chunk {
  /** 0, 1, 2 … in document order. */
  readonly index: number;
  /** `text.slice(start, end)` of the parsed document. */
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** Tokens, as the sum of its sentences' counts. */
  readonly tokens: number;
  /** PDF: the page the chunk starts on. */
  readonly page?: number;
  /** The title of the heading the chunk is under. */
  readonly section?: string;
}

/** How to cut. */
export interface ChunkingOptions {
  /** The most tokens in a chunk (≥ 1). */
  readonly chunkTokens: number;
  /** The most tokens a chunk repeats from the previous one (less than half of `chunkTokens`). */
  readonly overlapTokens: number;
  readonly countTokens: TokenCounter;
}

/** A sentence, or a piece of an overlong one: the unit chunks are made of. */
interface Unit {
  readonly start: number;
  readonly end: number;
  readonly tokens: number;
  /** The first unit of a paragraph (or the heading): a good place to cut before. */
  readonly opensParagraph: boolean;
  readonly heading: boolean;
  readonly page: number | undefined;
}

/** A paragraph boundary counts as "near" the end of a full chunk when the chunk is at least this full there. */
const NEAR_END = 0.5;

const sentences = new Intl.Segmenter('en', { granularity: 'sentence' });

/**
 * The chunks of a document.
 *
 * @example
 * ```ts
 * const chunks = chunkDocument(parseMarkdown(source), { chunkTokens: 300, overlapTokens: 50, countTokens });
 * chunks[0]; // { index: 0, text: '# Setup\n\nRun it.', start: 0, end: 16, tokens: 7, section: 'Setup' }
 * ```
 */
export function chunkDocument(document: ParsedDocument, options: ChunkingOptions): Chunk[] {
  if (!(options.chunkTokens >= 1) || !(options.overlapTokens >= 0) || options.overlapTokens * 2 > options.chunkTokens) {
    throw new RangeError('chunkTokens must be ≥ 1 and overlapTokens from 0 to half of chunkTokens');
  }
  const chunks: Chunk[] = [];
  for (const section of sections(document.blocks)) {
    const units = section.heading ? [headingUnit(document.text, section.heading, options)] : [];
    const bodyUnits = section.body.flatMap((block) => paragraphUnits(document.text, block, options));
    if (bodyUnits.length === 0) continue;
    units.push(...bodyUnits);
    for (const [first, last] of pack(units, options)) {
      const start = units[first]!.start;
      const end = units[last]!.end;
      let tokens = 0;
      for (let index = first; index <= last; index++) tokens += units[index]!.tokens;
      const page = units[first]!.page;
      chunks.push({
        index: chunks.length,
        text: document.text.slice(start, end),
        start,
        end,
        tokens,
        ...(page === undefined ? {} : { page }),
        ...(section.heading?.title ? { section: section.heading.title } : {}),
      });
    }
  }
  return chunks;
}

/** The blocks grouped under their headings (the first group may have none). */
function sections(blocks: readonly TextBlock[]): { heading: TextBlock | undefined; body: TextBlock[] }[] {
  const groups: { heading: TextBlock | undefined; body: TextBlock[] }[] = [{ heading: undefined, body: [] }];
  for (const block of blocks) {
    if (block.kind === 'heading') groups.push({ heading: block, body: [] });
    else groups.at(-1)!.body.push(block);
  }
  return groups;
}

function headingUnit(text: string, heading: TextBlock, options: ChunkingOptions): Unit {
  // A heading longer than a chunk is absurd but possible: keep only what fits.
  const pieces = fit(text, heading.start, heading.end, options);
  const piece = pieces[0]!;
  return { ...piece, opensParagraph: true, heading: true, page: heading.page };
}

/** The sentences of a paragraph, overlong ones cut into pieces that fit. */
function paragraphUnits(text: string, block: TextBlock, options: ChunkingOptions): Unit[] {
  const units: Unit[] = [];
  const paragraph = text.slice(block.start, block.end);
  for (const { segment, index } of sentences.segment(paragraph)) {
    let start = block.start + index;
    let end = start + segment.length;
    while (start < end && /\s/.test(text[start]!)) start++;
    while (end > start && /\s/.test(text[end - 1]!)) end--;
    if (start === end) continue;
    for (const piece of fit(text, start, end, options)) {
      units.push({ ...piece, opensParagraph: units.length === 0, heading: false, page: block.page });
    }
  }
  return units;
}

/** `text.slice(start, end)` as pieces of at most `chunkTokens`, cut at whitespace near the middle. */
function fit(
  text: string,
  start: number,
  end: number,
  options: ChunkingOptions,
): { start: number; end: number; tokens: number }[] {
  const tokens = options.countTokens(text.slice(start, end));
  if (tokens <= options.chunkTokens || end - start <= 1) return [{ start, end, tokens }];
  const middle = cutNear(text, start, end);
  let leftEnd = middle;
  while (leftEnd > start && /\s/.test(text[leftEnd - 1]!)) leftEnd--;
  let rightStart = middle;
  while (rightStart < end && /\s/.test(text[rightStart]!)) rightStart++;
  return [...fit(text, start, leftEnd, options), ...fit(text, rightStart, end, options)];
}

/** A cut point strictly inside (start, end): the whitespace nearest the middle, else the middle (never inside a surrogate pair). */
function cutNear(text: string, start: number, end: number): number {
  const middle = start + Math.floor((end - start) / 2);
  for (let distance = 0; distance < (end - start) / 2; distance++) {
    for (const at of [middle - distance, middle + distance]) {
      if (at > start && at < end && /\s/.test(text[at]!)) return at;
    }
  }
  const code = text.charCodeAt(middle);
  const lowSurrogate = code >= 0xdc00 && code <= 0xdfff;
  return lowSurrogate && middle + 1 < end ? middle + 1 : Math.max(middle, start + 1);
}

/** The chunks of a section as [first, last] unit indexes. Every unit fits a chunk on its own. */
function pack(units: readonly Unit[], options: ChunkingOptions): [number, number][] {
  const ranges: [number, number][] = [];
  let first = 0;
  /** The first unit no chunk holds yet: every chunk must hold it, or it would bring nothing new. */
  let fresh = 0;
  while (first < units.length) {
    let next = first;
    let tokens = 0;
    while (next < units.length && tokens + units[next]!.tokens <= options.chunkTokens) {
      tokens += units[next]!.tokens;
      next++;
    }
    if (next <= fresh) next = fresh + 1; // cannot happen (overlap leaves room for it), but never loop forever
    if (next < units.length && !units[next]!.opensParagraph) next = paragraphEnd(units, first, fresh, next, options);
    ranges.push([first, next - 1]);
    if (next >= units.length) break;
    fresh = next;
    first = overlapStart(units, first, next, options);
  }
  return ranges;
}

/**
 * Where to end a full chunk [first, next): before the last paragraph that opens in its second
 * half, else at `next` — never so early that the chunk misses unit `fresh` (its new text).
 */
function paragraphEnd(
  units: readonly Unit[],
  first: number,
  fresh: number,
  next: number,
  options: ChunkingOptions,
): number {
  let tokens = 0;
  let best = next;
  for (let index = first; index < next; index++) {
    if (index > fresh && units[index]!.opensParagraph && tokens >= options.chunkTokens * NEAR_END) best = index;
    tokens += units[index]!.tokens;
  }
  return best;
}

/** Where the chunk after [previousFirst, next) starts: back over whole sentences worth at most the overlap, keeping room for unit `next`. */
function overlapStart(units: readonly Unit[], previousFirst: number, next: number, options: ChunkingOptions): number {
  const room = Math.min(options.overlapTokens, options.chunkTokens - units[next]!.tokens);
  let start = next;
  let tokens = 0;
  while (start - 1 > previousFirst && !units[start - 1]!.heading && tokens + units[start - 1]!.tokens <= room) {
    tokens += units[start - 1]!.tokens;
    start--;
  }
  return start;
}
