/**
 * How retrieved chunks reach the model and the client: one system message listing them as
 * numbered sources, and citations with the same numbers in the reply's `plugboard.citations`.
 */
import type { JsonValue } from '../../src/index.ts';
import type { RetrievedChunk } from './retrieval.ts';

/** The longest excerpt in a citation, in characters (an ellipsis included). */
export const EXCERPT_CHARS = 240;

/** One citation, as clients get it. */
export interface Citation {
  /** The number the model cites: `[1]`. */
  readonly source: number;
  readonly collection: string;
  readonly document: string;
  readonly name: string;
  readonly chunk: number;
  readonly page?: number;
  readonly section?: string;
  readonly excerpt: string;
  readonly score: number;
}

/**
 * The system message: the instructions, then `[n] name (page p, section "s"): text` for each chunk.
 *
 * @example
 * ```ts
 * sourcesMessage(chunks, 'Cite the sources as [n].');
 * // 'Cite the sources as [n].\n\n[1] handbook.pdf (page 3): Refunds take 5 days.'
 * ```
 */
export function sourcesMessage(chunks: readonly RetrievedChunk[], instructions: string): string {
  const sources = chunks.map((chunk, index) => `[${index + 1}] ${chunk.name}${where(chunk)}: ${chunk.text.trim()}`);
  return `${instructions}\n\n${sources.join('\n\n')}`;
}

/**
 * The best chunks whose sources message — instructions included — fits `budgetTokens`
 * counted with `count`, in rank order; all of them without a budget. A chunk that does not
 * fit ends the list: a lower-ranked one is not taken in its place, so the sources stay the
 * best ones.
 *
 * @example
 * ```ts
 * fitSources(chunks, 128, instructions, countTokens); // the first chunks whose message has at most 128 tokens
 * ```
 */
export function fitSources(
  chunks: readonly RetrievedChunk[],
  budgetTokens: number | undefined,
  instructions: string,
  count: (text: string) => number,
): RetrievedChunk[] {
  if (budgetTokens === undefined) return [...chunks];
  let fitted = chunks.length;
  while (fitted > 0 && count(sourcesMessage(chunks.slice(0, fitted), instructions)) > budgetTokens) fitted--;
  return chunks.slice(0, fitted);
}

/**
 * The citations of the chunks, numbered as in {@link sourcesMessage}.
 *
 * @example
 * ```ts
 * call.setResponseData('citations', citationsOf(chunks));
 * ```
 */
export function citationsOf(chunks: readonly RetrievedChunk[]): Citation[] {
  return chunks.map((chunk, index) => ({
    source: index + 1,
    collection: chunk.collection,
    document: chunk.document,
    name: chunk.name,
    chunk: chunk.chunk,
    ...(chunk.page === undefined ? {} : { page: chunk.page }),
    ...(chunk.section === undefined ? {} : { section: chunk.section }),
    excerpt: excerpt(chunk.text),
    score: chunk.score,
  }));
}

/** Citations as JSON for `call.setResponseData`. */
export function citationsJson(citations: readonly Citation[]): JsonValue {
  return citations.map((citation) => ({ ...citation }));
}

/** The text with its whitespace collapsed, cut to {@link EXCERPT_CHARS} at a word boundary. */
export function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= EXCERPT_CHARS) return flat;
  const cut = flat.slice(0, EXCERPT_CHARS - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > EXCERPT_CHARS / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

function where(chunk: RetrievedChunk): string {
  const parts = [
    ...(chunk.page === undefined ? [] : [`page ${chunk.page}`]),
    ...(chunk.section === undefined ? [] : [`section "${chunk.section}"`]),
  ];
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}
