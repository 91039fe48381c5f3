/**
 * A deterministic local "embedder" for tests and the benchmark — NOT a neural model. Each text
 * becomes a hashed bag of words and character trigrams (feature hashing: every feature adds
 * ±weight to one of `dimensions` slots, chosen by an FNV-1a hash), log-scaled and normalised.
 * Its cosine similarity measures shared words and word pieces (so `refund` is near `refunds`),
 * nothing of meaning (`car` is not near `automobile`). It is a baseline that makes vector and
 * hybrid search testable and measurable where no embedding model runs.
 */
import type { Embeddings, EmbedRequest, ModelAccess } from '../../../src/index.ts';

/** Words too common to tell texts apart. */
const STOP_WORDS = new Set(
  'a an and are as at be by for from has have how in is it its of on or that the this to was what when where which who why will with do does can you your i we our they'.split(
    ' ',
  ),
);

/** The model name it reports. */
export const HASHED_EMBEDDER_MODEL = 'hashed-ngrams-512';

/**
 * The vector of a text.
 *
 * @example
 * ```ts
 * hashedEmbedding('Refunds take five days').length; // 512
 * ```
 */
export function hashedEmbedding(text: string, dimensions = 512): number[] {
  const counts = new Map<string, number>();
  const add = (feature: string, weight: number) => counts.set(feature, (counts.get(feature) ?? 0) + weight);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (STOP_WORDS.has(word)) continue;
    add(`w:${word}`, 1);
    const padded = `<${word}>`;
    for (let index = 0; index + 3 <= padded.length; index++) add(`g:${padded.slice(index, index + 3)}`, 0.5);
  }
  const vector = new Array<number>(dimensions).fill(0);
  for (const [feature, count] of counts) {
    const hash = fnv1a(feature);
    const sign = hash & 1 ? 1 : -1;
    vector[(hash >>> 1) % dimensions]! += sign * (1 + Math.log(count));
  }
  const norm = Math.hypot(...vector);
  // An empty text (only stop words) still gets a vector: the index refuses all-zero ones.
  if (norm === 0) {
    vector[0] = 1;
    return vector;
  }
  return vector.map((value) => value / norm);
}

/**
 * A {@link ModelAccess} whose `embed` is {@link hashedEmbedding}, for tests and the benchmark.
 * `complete` is not needed by the rag plugin and throws; `contextLength` and `describe` know nothing.
 *
 * @example
 * ```ts
 * const access = hashedModelAccess();
 * await access.embed({ input: ['Refunds take five days'] });
 * ```
 */
export function hashedModelAccess(options: { calls?: EmbedRequest[] } = {}): ModelAccess {
  return {
    async complete() {
      throw new Error('hashedModelAccess has no completions');
    },
    async embed(request): Promise<Embeddings> {
      options.calls?.push(request);
      return {
        embeddings: request.input.map((text) => hashedEmbedding(text)),
        backend: 'hashed',
        model: HASHED_EMBEDDER_MODEL,
      };
    },
    async contextLength() {
      return undefined;
    },
    async describe() {
      return undefined;
    },
  };
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
