import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanTitle, fallbackTitle, MAX_AUTO_TITLE_LENGTH } from './titles.ts';

test('a suggested title is cleaned: one line, no markup, label, quotes or final punctuation', () => {
  assert.equal(cleanTitle('Title: "Planning a trip to Lisbon."'), 'Planning a trip to Lisbon');
  assert.equal(cleanTitle('\n\n## **Budget   review**\nMore text'), 'Budget review');
  assert.equal(cleanTitle("'Renewing a passport'"), 'Renewing a passport');
  assert.equal(cleanTitle('“Café au lait?”'), 'Café au lait');
  assert.equal(cleanTitle('   \n "" \n'), undefined);
});

test(`titles are at most ${MAX_AUTO_TITLE_LENGTH} characters, cut at a word`, () => {
  const long = cleanTitle('word '.repeat(40))!;
  assert.ok(long.length <= MAX_AUTO_TITLE_LENGTH, long);
  assert.ok(long.endsWith('word'), long);
  const unbroken = cleanTitle('x'.repeat(200))!;
  assert.equal(unbroken.length, MAX_AUTO_TITLE_LENGTH);
});

test('the fallback is the first words of the first user message', () => {
  assert.equal(
    fallbackTitle('How do I renew my passport before the trip next month?'),
    'How do I renew my passport before the',
  );
  assert.equal(fallbackTitle('  Hi!\n\nthere  '), 'Hi! there');
  assert.equal(fallbackTitle('   '), undefined);
});
