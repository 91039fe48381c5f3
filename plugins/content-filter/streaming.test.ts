/**
 * Streamed replies: a value split across chunks at every possible cut point is still
 * filtered, and the concatenated stream equals the non-streamed reply — for fixed samples,
 * and for random texts and random chunkings (fast-check).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { PluginManager } from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';
import contentFilter from './content-filter.plugin.ts';
import { safeCut } from './streaming.ts';

const CARD = '4111 1111 1111 1111';
const EMAIL = 'alice.smith@example.com';
const KEY = 'ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
const IBAN = 'GB82 WEST 1234 5698 7654 32';
const PHONE = '(415) 555-2671';
const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1234\nabcd==\n-----END RSA PRIVATE KEY-----';

/** The reply the backend gives, and where it cuts it into chunks. */
let reply = '';
let cuts: readonly number[] = [];
const backend = createScriptedBackend({
  reply: () => reply,
  chunking: (text) => {
    const pieces: string[] = [];
    let from = 0;
    for (const cut of [...cuts, text.length]) {
      if (cut > from) pieces.push(text.slice(from, cut));
      from = Math.max(from, cut);
    }
    return pieces;
  },
});
let manager: PluginManager;

before(async () => {
  manager = await startManager([
    backend,
    [
      contentFilter,
      { config: { categories: { ip: { action: 'redact' }, profanity: { action: 'mask' } }, window: 32 } },
    ],
  ]);
});
after(() => manager.shutdown());

async function whole(text: string): Promise<string> {
  reply = text;
  return (await manager.chat(chatRequest('hi'))).message.content;
}
async function streamed(text: string, at: readonly number[]): Promise<{ text: string; chunks: string[] }> {
  reply = text;
  cuts = at;
  const result = await collectStream(manager.stream(chatRequest('hi', { stream: true })));
  return { text: result.text, chunks: result.chunks.map((chunk) => chunk.content ?? '') };
}

describe('streaming', () => {
  for (const [name, value, placeholder] of [
    ['card', CARD, '[card]'],
    ['e-mail', EMAIL, '[email]'],
    ['API key', KEY, '[secret]'],
    ['IBAN', IBAN, '[iban]'],
    ['phone', PHONE, '[phone]'],
    ['private key', PEM, '[secret]'],
  ] as const) {
    test(`a ${name} split at every cut point is redacted, and the stream equals the whole reply`, async () => {
      const text = `Here it is: ${value} — keep it safe. ${'More words follow here. '.repeat(3)}`;
      const expected = await whole(text);
      assert.ok(expected.includes(placeholder) && !expected.includes(value), expected);
      const start = text.indexOf(value);
      for (let cut = start; cut <= start + value.length; cut++) {
        const { text: got, chunks } = await streamed(text, [cut]);
        assert.equal(got, expected, `cut at ${cut}`);
        assert.ok(chunks.length >= 2, 'the reply was streamed in pieces');
      }
      // One character per chunk, and two cuts inside the value.
      assert.equal(
        (
          await streamed(
            text,
            [...text].map((_, index) => index),
          )
        ).text,
        expected,
      );
      assert.equal((await streamed(text, [start + 3, start + 9])).text, expected);
    });
  }

  test('text without findings comes out as it went in, held back by at least the window only', async () => {
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(6);
    const { text: got, chunks } = await streamed(
      text,
      [...text].map((_, index) => index),
    );
    assert.equal(got, text);
    const sent = chunks.filter((chunk) => chunk !== '');
    assert.ok(sent.length > 30, 'streamed word by word, not buffered to the end');
    // What was held back (the last 32 characters, moved back to whitespace) comes out at the end.
    const last = sent.at(-1) ?? '';
    assert.ok(last.length >= 32 && last.length < 48, `held back ${last.length}`);
  });

  test('property: any text, any chunking — the stream equals the whole reply', async () => {
    const pieces = fc.constantFrom(
      CARD,
      '4111111111111111',
      '4111 1111 1111 1112',
      EMAIL,
      KEY,
      IBAN,
      PHONE,
      '123-45-6789',
      '10.0.0.7',
      'fuck',
      'f u c k',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      'version 1.2.3',
      '2024-01-15',
      '12 34 56',
      'words',
      'and more',
      ' ',
      '\n',
      ', ',
      '.',
      '7',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(pieces, { minLength: 1, maxLength: 24 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (parts, rawCuts) => {
          const text = parts.join(' ');
          const at = [...new Set(rawCuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
          assert.equal((await streamed(text, at)).text, await whole(text));
        },
      ),
      { numRuns: 150, seed: 42 },
    );
  });
});

describe('safeCut', () => {
  test('cuts after whitespace, never between two digit groups', () => {
    assert.equal(safeCut('hello world', 11), 6);
    assert.equal(safeCut('card 4111 1111', 14), 5);
    assert.equal(safeCut('nospaceatall', 12), 0);
  });
});
