/**
 * Each format's parser on real input (a PDF built by hand in the test, see testing/minimal-pdf.ts),
 * and format detection with its refusals.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPlugboardError } from '../../src/index.ts';
import { detectFormat, parseDocument } from './parsers/parse-document.ts';
import { parseHtml } from './parsers/parse-html.ts';
import { parseMarkdown } from './parsers/parse-markdown.ts';
import { parsePdf } from './parsers/parse-pdf.ts';
import { parsePlainText } from './parsers/parse-text.ts';
import type { ParsedDocument } from './parsers/parsed-document.ts';
import { minimalPdf } from './testing/minimal-pdf.ts';

const texts = (parsed: ParsedDocument) => parsed.blocks.map((block) => parsed.text.slice(block.start, block.end));
const encode = (text: string) => new TextEncoder().encode(text);

test('plain text: paragraphs at blank lines, trimmed, offsets into the text', () => {
  const parsed = parsePlainText('  First line\nsame paragraph.\n\n\n  Second one.  \r\n\r\nThird.\n');
  assert.deepEqual(texts(parsed), ['First line\nsame paragraph.', 'Second one.', 'Third.']);
  assert.ok(
    parsed.blocks.every((block) => block.kind === 'paragraph'),
    'plain text has no headings',
  );
});

test('Markdown: ATX and setext headings with their titles; code fences and front matter', () => {
  const source = [
    '---',
    'title: ignored front matter',
    '---',
    '# Returns policy #',
    '',
    'Refunds take five days.',
    'Same paragraph.',
    '',
    '```sh',
    '# not a heading',
    '',
    'still code',
    '```',
    '',
    'Shipping',
    '--------',
    '',
    '***',
    '',
    '### Deep',
    'Text right under it.',
  ].join('\n');
  const parsed = parseMarkdown(source);
  assert.deepEqual(
    parsed.blocks.map((block) => [block.kind, block.title ?? parsed.text.slice(block.start, block.end), block.level]),
    [
      ['heading', 'Returns policy', 1],
      ['paragraph', 'Refunds take five days.\nSame paragraph.', undefined],
      ['paragraph', '```sh\n# not a heading\n\nstill code\n```', undefined],
      ['heading', 'Shipping', 2],
      ['heading', 'Deep', 3],
      ['paragraph', 'Text right under it.', undefined],
    ],
  );
  assert.equal(parsed.text, source, 'offsets are in the Markdown source itself');
});

test('HTML fragment: headings become section boundaries, links and images drop their targets', () => {
  const parsed = parseHtml(
    '<h2>Refunds</h2><p>Refunds take <a href="https://x.example/secret">five days</a>.<img src="a.png"></p><h3>Cards</h3><p>Back to the card.</p>',
  );
  assert.doesNotMatch(parsed.text, /x\.example|a\.png/);
  assert.deepEqual(
    parsed.blocks.map((block) => [block.kind, block.title ?? parsed.text.slice(block.start, block.end)]),
    [
      ['heading', 'Refunds'],
      ['paragraph', 'Refunds take five days.'],
      ['heading', 'Cards'],
      ['paragraph', 'Back to the card.'],
    ],
  );
});

const PAGE = `<!doctype html><html><head><title>Guide to tea</title></head><body>
<nav><a href="/">Home</a> <a href="/shop">Shop navigation link</a></nav>
<article><h1>Guide to tea</h1>
<p>${'Green tea is steamed or pan-fired soon after picking, which stops oxidation. '.repeat(4)}</p>
<h2>Brewing</h2><p>${'Use water below boiling for green tea, around eighty degrees Celsius. '.repeat(4)}</p></article>
<footer>Copyright footer of the site</footer></body></html>`;

test('a whole web page: Readability keeps the article and drops navigation and footer', () => {
  const parsed = parseHtml(PAGE);
  assert.match(parsed.text, /Green tea is steamed/);
  assert.doesNotMatch(parsed.text, /Shop navigation link|Copyright footer/);
  assert.ok(
    parsed.blocks.some((block) => block.title === 'Brewing'),
    'the article keeps its headings',
  );
  const whole = parseHtml(PAGE, { readability: false });
  assert.match(whole.text, /Copyright footer/, 'without Readability the whole page is kept');
});

test('PDF: text per page, each block with its page number', async () => {
  const bytes = minimalPdf([
    ['Refunds take five days.', 'They go back to the card used.'],
    ['Shipping is free above fifty euros.'],
    [],
  ]);
  const parsed = await parsePdf(bytes, 'policy.pdf');
  assert.equal(parsed.pages, 3);
  assert.deepEqual(
    parsed.blocks.map((block) => [block.page, parsed.text.slice(block.start, block.end).replace(/\s+/g, ' ')]),
    [
      [1, 'Refunds take five days. They go back to the card used.'],
      [2, 'Shipping is free above fifty euros.'],
    ],
  );
});

test('a broken PDF is refused as unreadable, naming the file', async () => {
  const error = await parsePdf(encode('%PDF-1.4 this is not a pdf'), 'broken.pdf').catch((caught: unknown) => caught);
  assert.ok(isPlugboardError(error, 'rag/UNREADABLE_DOCUMENT'), String(error));
  assert.equal(error.status, 422);
  assert.match(error.message, /broken\.pdf/);
});

test('text that is not UTF-8 is refused as unreadable', async () => {
  const error = await parseDocument(new Uint8Array([0x48, 0xff, 0xfe, 0x00]), 'text', 'latin.txt').catch(
    (caught: unknown) => caught,
  );
  assert.ok(isPlugboardError(error, 'rag/UNREADABLE_DOCUMENT'), String(error));
});

test('the format comes from the content type, else from the extension; others are refused with a code', () => {
  assert.equal(detectFormat('text/markdown; charset=utf-8', 'notes'), 'markdown');
  assert.equal(detectFormat('application/pdf', 'scan.bin'), 'pdf');
  assert.equal(detectFormat('text/html', 'page'), 'html');
  assert.equal(detectFormat('text/plain', 'readme.md'), 'text', 'an explicit type wins over the extension');
  assert.equal(detectFormat('application/octet-stream', 'Guide.MD'), 'markdown');
  assert.equal(detectFormat(undefined, 'page.htm'), 'html');
  assert.equal(detectFormat(undefined, 'notes.txt'), 'text');
  for (const [type, name] of [
    ['image/png', 'photo.png'],
    [undefined, 'sheet.xlsx'],
    [undefined, 'no-extension'],
    ['application/octet-stream', 'archive.zip'],
  ] as const) {
    try {
      detectFormat(type, name);
      assert.fail(`${name} should be refused`);
    } catch (error) {
      assert.ok(isPlugboardError(error, 'rag/UNSUPPORTED_FORMAT'), String(error));
      assert.equal(error.status, 415);
      assert.ok(error.message.includes(name), error.message);
    }
  }
});
