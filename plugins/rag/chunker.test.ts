/**
 * The chunker's properties on generated documents (fast-check), counted with a whitespace
 * word counter so that sizes add up exactly, then a few cases by hand.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type Chunk, chunkDocument } from './chunker.ts';
import { parseMarkdown } from './parsers/parse-markdown.ts';
import { parsePlainText } from './parsers/parse-text.ts';
import type { ParsedDocument } from './parsers/parsed-document.ts';
import { estimateTokens } from './token-count.ts';

const countWords = (text: string) => text.split(/\s+/).filter(Boolean).length;

const word = fc.stringMatching(/^[a-z]{1,12}$/);
const sentence = fc
  .array(word, { minLength: 1, maxLength: 30 })
  .map((words) => `${words.join(' ').replace(/^./, (first) => first.toUpperCase())}.`);
const paragraph = fc.array(sentence, { minLength: 1, maxLength: 8 }).map((sentences) => sentences.join(' '));
const heading = fc
  .tuple(fc.integer({ min: 1, max: 3 }), fc.array(word, { minLength: 1, maxLength: 4 }))
  .map(([level, words]) => `${'#'.repeat(level)} ${words.join(' ')}`);
const markdown = fc
  .array(fc.oneof({ weight: 4, arbitrary: paragraph }, { weight: 1, arbitrary: heading }), {
    minLength: 1,
    maxLength: 25,
  })
  .map((blocks) => blocks.join('\n\n'));
const sizes = fc
  .integer({ min: 8, max: 120 })
  .chain((chunkTokens) => fc.tuple(fc.constant(chunkTokens), fc.integer({ min: 0, max: Math.floor(chunkTokens / 2) })));

/** Offsets of the sentences' ends in a paragraph block (what chunks may end at). */
function sentenceEnds(document: ParsedDocument): Set<number> {
  const ends = new Set<number>();
  for (const block of document.blocks) {
    const text = document.text.slice(block.start, block.end);
    for (const match of text.matchAll(/\./g)) ends.add(block.start + match.index + 1);
    ends.add(block.end);
  }
  return ends;
}

function check(document: ParsedDocument, chunks: readonly Chunk[], chunkTokens: number, overlap: number): void {
  const { text, blocks } = document;
  chunks.forEach((chunk, index) => {
    assert.equal(chunk.index, index, 'indexes run 0, 1, 2 …');
    assert.equal(chunk.text, text.slice(chunk.start, chunk.end), 'the text is the range of the document');
    assert.ok(
      countWords(chunk.text) <= chunkTokens,
      `chunk ${index} has ${countWords(chunk.text)} > ${chunkTokens} words`,
    );
    assert.equal(chunk.tokens, countWords(chunk.text), 'tokens are the sum of its sentences');
  });
  for (let index = 1; index < chunks.length; index++) {
    const [previous, chunk] = [chunks[index - 1]!, chunks[index]!];
    assert.ok(chunk.start > previous.start, 'chunks move forward');
    assert.ok(chunk.end > previous.end, 'each chunk brings new text');
    if (chunk.start < previous.end) {
      assert.equal(chunk.section, previous.section, 'chunks overlap only within a section');
      assert.ok(countWords(text.slice(chunk.start, previous.end)) <= overlap, 'the overlap is at most chunk_overlap');
    }
  }
  for (const block of blocks.filter((entry) => entry.kind === 'heading')) {
    const inside = chunks.filter((chunk) => chunk.start < block.start && block.start < chunk.end);
    assert.equal(inside.length, 0, `no chunk runs across the heading "${block.title}"`);
    const under = chunks.find((chunk) => chunk.start === block.start);
    if (under) assert.equal(under.section, block.title, 'a chunk opening at a heading carries it as its section');
  }
  for (const block of blocks.filter((entry) => entry.kind === 'paragraph')) {
    for (let at = block.start; at < block.end; at++) {
      if (/\s/.test(text[at]!)) continue;
      assert.ok(
        chunks.some((chunk) => chunk.start <= at && at < chunk.end),
        `character ${at} of a paragraph is in a chunk`,
      );
    }
  }
}

test('chunks cover every paragraph, fit the size, overlap within sections and never cross a heading', () => {
  fc.assert(
    fc.property(markdown, sizes, (source, [chunkTokens, overlap]) => {
      const document = parseMarkdown(source);
      const chunks = chunkDocument(document, { chunkTokens, overlapTokens: overlap, countTokens: countWords });
      check(document, chunks, chunkTokens, overlap);
    }),
    { numRuns: 1000 },
  );
});

test('with sentences shorter than a chunk, chunks end at sentence ends', () => {
  fc.assert(
    fc.property(markdown, (source) => {
      const document = parseMarkdown(source);
      // 30 words: every generated sentence fits.
      const chunks = chunkDocument(document, { chunkTokens: 30, overlapTokens: 10, countTokens: countWords });
      const ends = sentenceEnds(document);
      for (const chunk of chunks) assert.ok(ends.has(chunk.end), `chunk ${chunk.index} ends mid-sentence`);
    }),
    { numRuns: 200 },
  );
});

test('a full chunk ends at a paragraph boundary in its second half rather than mid-paragraph', () => {
  // Paragraph A: 12 words; paragraph B: 3 sentences of 6 words. Budget 20: A + one sentence of B
  // would fit (18), but the chunk ends after A (12 ≥ half of 20) so that B stays whole.
  const a = 'One two three four five six. Seven eight nine ten eleven twelve.';
  const b = 'Aa bb cc dd ee ff. Gg hh ii jj kk ll. Mm nn oo pp qq rr.';
  const document = parsePlainText(`${a}\n\n${b}`);
  const chunks = chunkDocument(document, { chunkTokens: 20, overlapTokens: 0, countTokens: countWords });
  assert.deepEqual(
    chunks.map((chunk) => chunk.text),
    [a, b],
  );
});

test('an overlong sentence is cut at whitespace into pieces that fit; a long word at a character', () => {
  const long = Array.from({ length: 50 }, (_, index) => `w${index}`).join(' ');
  const chunks = chunkDocument(parsePlainText(long), { chunkTokens: 8, overlapTokens: 0, countTokens: countWords });
  assert.ok(chunks.length >= 7, `${chunks.length} chunks`);
  assert.equal(chunks.map((chunk) => chunk.text).join(' '), long, 'nothing lost, nothing repeated');
  const blob = 'x'.repeat(400);
  const pieces = chunkDocument(parsePlainText(blob), {
    chunkTokens: 32,
    overlapTokens: 0,
    countTokens: estimateTokens,
  });
  assert.equal(pieces.map((chunk) => chunk.text).join(''), blob);
  assert.ok(
    pieces.every((chunk) => estimateTokens(chunk.text) <= 32),
    'every piece fits',
  );
});

test('overlap repeats whole sentences of the previous chunk', () => {
  const text = Array.from({ length: 12 }, (_, index) => `Sentence number ${index} here.`).join(' ');
  const chunks = chunkDocument(parsePlainText(text), { chunkTokens: 12, overlapTokens: 4, countTokens: countWords });
  assert.ok(chunks.length > 2, `${chunks.length} chunks`);
  for (const chunk of chunks.slice(1)) {
    assert.match(chunk.text, /^Sentence number \d+ here\./, 'starts at a sentence');
  }
  assert.ok(chunks[1]!.start < chunks[0]!.end, 'the second chunk overlaps the first');
});

test('a heading without text under it makes no chunk; pages come from the first block', () => {
  const document = parseMarkdown('# Empty\n\n# Full\n\nSome text.');
  const chunks = chunkDocument(document, { chunkTokens: 50, overlapTokens: 0, countTokens: countWords });
  assert.deepEqual(
    chunks.map((chunk) => [chunk.section, chunk.text]),
    [['Full', '# Full\n\nSome text.']],
  );
  const paged: ParsedDocument = {
    format: 'pdf',
    text: 'Page one.\n\nPage two.',
    blocks: [
      { kind: 'paragraph', start: 0, end: 9, page: 1 },
      { kind: 'paragraph', start: 11, end: 20, page: 2 },
    ],
  };
  const pages = chunkDocument(paged, { chunkTokens: 2, overlapTokens: 0, countTokens: countWords });
  assert.deepEqual(
    pages.map((chunk) => chunk.page),
    [1, 2],
  );
});

test('settings out of range are a programming error', () => {
  assert.throws(
    () => chunkDocument(parsePlainText('x'), { chunkTokens: 10, overlapTokens: 6, countTokens: countWords }),
    RangeError,
  );
});

test('a paragraph boundary never ends a chunk before its new text (a case fast-check found)', () => {
  const document = parsePlainText(
    'A. A a a a a a a a a. A a a a a a a a a.\n\nA. A a a a a. A a a a a a a a a a a a. A.',
  );
  const chunks = chunkDocument(document, { chunkTokens: 36, overlapTokens: 18, countTokens: countWords });
  for (let index = 1; index < chunks.length; index++) {
    assert.ok(chunks[index]!.end > chunks[index - 1]!.end, `chunk ${index} brings new text`);
  }
  assert.equal(chunks.at(-1)!.end, document.text.length, 'the last chunk reaches the end');
});
