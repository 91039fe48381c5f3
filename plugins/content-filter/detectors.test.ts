/**
 * Each detector on true positives in the formats people write them in, and on near-misses
 * that must not match (Luhn-failing numbers, UUIDs, git hashes, dates, versions, product codes).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { contentFilterConfigSchema } from './config.ts';
import { createFilter } from './filter.ts';

const filter = createFilter(
  contentFilterConfigSchema.parse({
    categories: { ip: { action: 'redact' }, profanity: { action: 'redact' } },
    custom: [{ name: 'ticket', pattern: 'TICKET-\\d{4,}', flags: 'i' }],
    words: [{ name: 'codename', list: ['Project Falcon', 'bluebird'] }],
  }),
);
const redact = (text: string) => filter.run(text, 'input').text;

/** Every sample becomes exactly the placeholder. */
function assertFound(category: string, samples: readonly string[]): void {
  for (const sample of samples) assert.equal(redact(`x ${sample} y`), `x [${category}] y`, sample);
}
/** No sample is touched. */
function assertUntouched(samples: readonly string[]): void {
  for (const sample of samples) assert.equal(redact(sample), sample, sample);
}

const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ';

describe('detectors', () => {
  test('e-mail addresses', () => {
    assertFound('email', ['alice@example.com', 'a.b+tag@mail.example.co.uk', 'X_Y%z@sub-domain.io', 'o@b.museum']);
    assert.equal(redact('Mail alice@example.com.'), 'Mail [email].');
    assertUntouched(['user@localhost', '@mention', 'a@b', 'git@ commit', 'foo@bar.1']);
  });

  test('phone numbers (libphonenumber, default region US)', () => {
    assertFound('phone', ['+1 415-555-2671', '(415) 555-2671', '415.555.2671', '+44 20 7946 0958', '+49 30 1234567']);
    assertUntouched([
      'SKU 4821-993-20',
      'order 12345',
      'released 2024-01-15',
      'version 1.2.3',
      'part no. 555-1234',
      'pi is 3.14159265',
    ]);
  });

  test('a region setting reads national numbers of that region', () => {
    const german = createFilter(contentFilterConfigSchema.parse({ default_region: 'de' }));
    assert.equal(german.run('ruf 030 12345678 an', 'input').text, 'ruf [phone] an');
  });

  test('payment cards: Luhn-checked, 13–19 digits, spaces or dashes', () => {
    assertFound('card', [
      '4111111111111111',
      '4111 1111 1111 1111',
      '4111-1111-1111-1111',
      '5500 0000 0000 0004',
      '3782 822463 10005',
      '6011000990139424',
      '4222222222222',
    ]);
    assertUntouched([
      '4111 1111 1111 1112', // Luhn fails
      '1234567812345678', // Luhn passes? no: and first digit 1 is no network
      '123e4567-e89b-12d3-a456-426614174000',
      '3f786850e387550fdab836ed7e6dc881de23001b',
      '4111 1111-1111 1111', // mixed separators
      'call 0049 1234 5678 9012 3456 7890 now', // a longer run of groups
      '12345678901234567890123', // too long
    ]);
  });

  test('IBANs (ibantools checksum), with or without spaces', () => {
    assertFound('iban', [
      'GB82WEST12345698765432',
      'GB82 WEST 1234 5698 7654 32',
      'DE89 3704 0044 0532 0130 00',
      'FR1420041010050500013M02606',
    ]);
    assert.equal(redact('to GB82 WEST 1234 5698 7654 32 ABCD'), 'to [iban] ABCD');
    assertUntouched(['GB82 WEST 1234 5698 7654 33', 'XX12 3456 7890 1234', 'AB12CDEFGHIJ']);
  });

  test('US SSNs with dashes or spaces, never-issued numbers skipped', () => {
    assertFound('ssn', ['123-45-6789', '123 45 6789']);
    assertUntouched([
      '000-12-3456',
      '666-12-3456',
      '923-45-6789',
      '123-00-6789',
      '123-45-0000',
      '123-45 6789',
      '2024-01-15',
    ]);
  });

  test('IPv4 and IPv6 addresses', () => {
    assertFound('ip', ['192.168.1.10', '8.8.8.8', '2001:db8::1', 'fe80::1ff:fe23:4567:890a', '::1']);
    assertUntouched(['999.1.1.1', 'v1.2.3.4', '1.2.3', '12:30:45', 'std::vector', '00:1a:2b:3c:4d:5e', '1.2.3.4.5']);
  });

  test('secrets: the secretlint preset and the common prefixes', () => {
    assertFound('secret', [
      'AKIAIOSFODNN7EXAMPLF',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      'sk-proj-abc123DEF456ghi789JKL012mno',
      'sk-abcdefghij1234567890ABCDEFGHIJ',
      'ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8',
      'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz',
      'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx',
      'glpat-abcdefghij1234567890',
      'npm_a1B2a1B2a1B2a1B2a1B2a1B2a1B2a1B2a1B2',
      `sk-ant-api03-${'a'.repeat(93)}AA`,
      'hf_abcdefghijklmnopqrstuvwxyzABCDEFGH',
      'postgres://admin:hunter2@db.example.com:5432/app',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1234\nabcd==\n-----END RSA PRIVATE KEY-----',
    ]);
    // The AWS rule reports the key name with the key: only the key itself is redacted.
    assert.equal(redact(`aws_secret_access_key = ${AWS_SECRET} ok`), 'aws_secret_access_key = [secret] ok');
    // An unfinished key block is a key to the end.
    assert.equal(redact('here:\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg'), 'here:\n[secret]');
    assertUntouched([
      'sk-learn is a library',
      'risk-assessment-for-all-teams',
      'eyJust a word',
      'the task AKIA is done',
    ]);
  });

  test('profanity with obfuscation, whole words, no Scunthorpe problem', () => {
    assertFound('profanity', [
      'fuck',
      'FUCK',
      'fuuuuck',
      'sh1t',
      'ƒuck',
      'shithead',
      'f.u.c.k',
      'f u c k',
      'f-u-c-k',
      'f*u*c*k',
    ]);
    assertUntouched(['assassin', 'Scunthorpe', 'class assignment', 'cocktail', 'a b c d']);
  });

  test('custom patterns and word lists', () => {
    assertFound('ticket', ['TICKET-1234', 'ticket-98765']);
    assertFound('codename', ['Project Falcon', 'project  falcon', 'Bluebird']);
    assertUntouched(['TICKET-12', 'bluebirds', 'falcon']);
  });

  test('overlaps: the earlier, longer finding wins (a credential URL is one secret, not an e-mail)', () => {
    assert.equal(redact('db postgres://admin:hunter2@db.example.com:5432/app'), 'db [secret]');
  });

  test('findings are counted per category, never keeping the text', () => {
    const outcome = filter.run('a@b.io, c@d.io and 4111111111111111', 'input');
    assert.deepEqual(outcome.counts, { email: 2, card: 1 });
  });
});
