/**
 * createPatternRewriter: whole-text rewriting, and the windowed streaming support built on
 * it — holdBack never cuts inside a match, and the windowed output equals `rewrite(whole)`
 * for any chunking as long as no match is longer than the window.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type ChatContext, createChatContext, createPatternRewriter, type PatternRewriter } from '../../src/index.ts';

const context: ChatContext = createChatContext({ messages: [] });

const EMAIL = /[\w.+-]+@[\w-]+\.[\w.]+/g;
const PHONE = /\d{3}-\d{4}/g;
const WINDOW = 40;

function redactor(): PatternRewriter {
  return createPatternRewriter({
    window: WINDOW,
    rules: [
      { pattern: EMAIL, replace: '[email]' },
      { pattern: PHONE, replace: '[phone]' },
    ],
  });
}

/**
 * Feeds `pieces` through the streaming support the way the runtime's windowed stage does:
 * hold back what `holdBack` asks (clamped to 0…window), transform the rest, and transform
 * whatever is left at the end with `final: true`. Returns the emitted pieces.
 */
function runWindowed(rewriter: PatternRewriter, pieces: readonly string[]): string[] {
  const { streaming } = rewriter;
  const out: string[] = [];
  let pending = '';
  for (const piece of pieces) {
    pending += piece;
    const asked = streaming.holdBack ? streaming.holdBack(pending) : streaming.window;
    const hold = Math.max(0, Math.min(asked, streaming.window, pending.length));
    const settled = pending.slice(0, pending.length - hold);
    pending = pending.slice(pending.length - hold);
    if (settled !== '') out.push(streaming.transform(settled, context, false));
  }
  out.push(streaming.transform(pending, context, true));
  return out;
}

/** Cuts `text` at the given (sorted, deduplicated) positions. */
function cutAt(text: string, positions: readonly number[]): string[] {
  const cuts = [...new Set(positions.map((position) => position % (text.length + 1)))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let start = 0;
  for (const cut of cuts) {
    pieces.push(text.slice(start, cut));
    start = cut;
  }
  pieces.push(text.slice(start));
  return pieces;
}

/** Ranges [start, end) of every match of `pattern` in `text`. */
function matchRanges(pattern: RegExp, text: string): [number, number][] {
  return [...text.matchAll(new RegExp(pattern.source, 'g'))].map((match) => [
    match.index,
    match.index + match[0].length,
  ]);
}

// ——— arbitraries ———

const word = fc.stringMatching(/^[a-z]{1,8}$/);
const email = fc
  .tuple(fc.stringMatching(/^[a-z][a-z0-9.]{0,8}$/), fc.stringMatching(/^[a-z]{1,8}$/), fc.constantFrom('com', 'org'))
  .map(([user, host, tld]) => `${user}@${host}.${tld}`);
const phone = fc
  .tuple(fc.integer({ min: 100, max: 999 }), fc.integer({ min: 1000, max: 9999 }))
  .map(([a, b]) => `${a}-${b}`);
const separator = fc.constantFrom(' ', ', ', '\n', ' (', ') ');
/** Text of words, emails and phone numbers; every match is at most 30 characters, under the window. */
const pii = fc
  .array(
    fc.tuple(
      fc.oneof({ weight: 3, arbitrary: word }, { weight: 1, arbitrary: email }, { weight: 1, arbitrary: phone }),
      separator,
    ),
    {
      maxLength: 30,
    },
  )
  .map((parts) => parts.map(([token, sep]) => token + sep).join(''));
const cuts = fc.array(fc.nat(), { maxLength: 40 });

describe('rewrite', () => {
  test('applies every rule, in order, to the whole text', () => {
    const rewriter = redactor();
    assert.equal(
      rewriter.rewrite('Mail bob.smith@example.com or call 555-1234; also ann@x.org.'),
      'Mail [email] or call [phone]; also [email]',
    );
  });

  test('a rule without the g flag still replaces every match', () => {
    const rewriter = createPatternRewriter({ window: 5, rules: [{ pattern: /darn/i, replace: '****' }] });
    assert.equal(rewriter.rewrite('Darn, darn, DARN!'), '****, ****, ****!');
  });

  test('string replacements with groups and function replacements work as in String.replace', () => {
    const rewriter = createPatternRewriter({
      window: 20,
      rules: [
        { pattern: /(\w+)@(\w+)\.com/g, replace: '$1 at $2' },
        { pattern: /\d+/g, replace: (match) => '#'.repeat(match.length) },
      ],
    });
    assert.equal(rewriter.rewrite('joe@acme.com has 42 cats'), 'joe at acme has ## cats');
  });

  test("rules run in order: a later rule sees the earlier rules' output", () => {
    const rewriter = createPatternRewriter({
      window: 10,
      rules: [
        { pattern: /cat/g, replace: 'dog' },
        { pattern: /dog/g, replace: 'wolf' },
      ],
    });
    assert.equal(rewriter.rewrite('cat and dog'), 'wolf and wolf');
  });

  test('the streaming transform agrees with rewrite', () => {
    const rewriter = redactor();
    const text = 'reach me at me@here.org or 123-4567';
    assert.equal(rewriter.streaming.transform(text, context, false), rewriter.rewrite(text));
    assert.equal(rewriter.streaming.transform(text, context, true), rewriter.rewrite(text));
  });
});

describe('streaming.holdBack', () => {
  test('the window covers a match straddling the first cut (twice the rule window)', () => {
    assert.equal(redactor().streaming.window, WINDOW * 2);
  });

  test('holds back the window when nothing straddles the cut, and everything when the text is shorter', () => {
    const { streaming } = redactor();
    assert.equal(streaming.holdBack!('short'), 5);
    const long = 'a'.repeat(100);
    assert.equal(streaming.holdBack!(long), WINDOW);
  });

  test('moves the cut before a match that straddles it', () => {
    const { streaming } = redactor();
    const address = 'someone.with.a.long.name@example.com';
    const pending = `${'x '.repeat(30)}${address}${' y'.repeat(10)}`;
    const start = pending.indexOf(address);
    const cutWithoutMatch = pending.length - WINDOW;
    assert.ok(start < cutWithoutMatch && start + address.length > cutWithoutMatch, 'the example straddles the cut');
    assert.equal(streaming.holdBack!(pending), pending.length - start);
  });

  test('property: the cut never falls strictly inside a match', () => {
    const rewriter = redactor();
    fc.assert(
      fc.property(pii, (pending) => {
        const hold = rewriter.streaming.holdBack!(pending);
        assert.ok(hold >= 0 && hold <= rewriter.streaming.window, `hold ${hold} out of range`);
        assert.ok(hold >= Math.min(WINDOW, pending.length), 'holds back at least the rule window');
        const cut = pending.length - hold;
        for (const pattern of [EMAIL, PHONE]) {
          for (const [start, end] of matchRanges(pattern, pending)) {
            assert.ok(
              !(start < cut && cut < end),
              `cut ${cut} splits match [${start}, ${end}) in ${JSON.stringify(pending)}`,
            );
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('windowed output equals rewrite(whole)', () => {
  test('an email split across two chunks is still redacted', () => {
    const rewriter = redactor();
    const pieces = ['Write to alice@exa', 'mple.com before noon, or call 555-', '9876 today.'];
    const whole = pieces.join('');
    const out = runWindowed(rewriter, pieces);
    assert.equal(out.join(''), rewriter.rewrite(whole));
    assert.equal(out.join(''), 'Write to [email] before noon, or call [phone] today.');
  });

  test('text longer than the window is emitted before the end', () => {
    const rewriter = redactor();
    const pieces = Array.from({ length: 20 }, (_, index) => `word${index} `);
    const out = runWindowed(rewriter, pieces);
    assert.ok(out.length > 2, 'several emissions');
    assert.ok(out.slice(0, -1).join('').length > 0, 'something was emitted before the final flush');
    assert.equal(out.join(''), pieces.join(''));
  });

  test('property: for random texts and random chunkings, windowed output === rewrite(whole)', () => {
    const rewriter = redactor();
    fc.assert(
      fc.property(pii, cuts, (text, positions) => {
        const pieces = cutAt(text, positions);
        assert.equal(pieces.join(''), text);
        assert.equal(runWindowed(rewriter, pieces).join(''), rewriter.rewrite(text));
      }),
      { numRuns: 500 },
    );
  });

  test('property: character-by-character streaming equals rewrite(whole)', () => {
    const rewriter = redactor();
    fc.assert(
      fc.property(pii, (text) => {
        assert.equal(runWindowed(rewriter, [...text]).join(''), rewriter.rewrite(text));
      }),
      { numRuns: 200 },
    );
  });

  test('property: holds for any window at least as long as the longest match', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 8, max: 30 }),
        fc.array(fc.constantFrom('a', 'ab', 'aab', 'b', ' ', 'x'), { maxLength: 60 }),
        cuts,
        (window, parts, positions) => {
          // Runs of `a` can grow long: only cases whose longest match fits the window are kept.
          const text = parts.join('');
          const longest = Math.max(0, ...matchRanges(/a+b/, text).map(([start, end]) => end - start));
          fc.pre(longest <= window);
          const rewriter = createPatternRewriter({ window, rules: [{ pattern: /a+b/g, replace: '<$&>' }] });
          assert.equal(runWindowed(rewriter, cutAt(text, positions)).join(''), rewriter.rewrite(text));
        },
      ),
      { numRuns: 300 },
    );
  });
});
