/**
 * Keys at rest and their lookup: the stored forms (SHA-256, HMAC with a pepper), generated
 * keys, and what a presented key turns out to be — valid, unknown, disabled, expired — with
 * duplicates and an HMAC hash without pepper refused when the store is built.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { candidateHashes, generateKey, hashKey, KEY_HASH_PATTERN, sameHash } from './key-hash.ts';
import { KeyStore, type StoredKey } from './key-store.ts';

const stored = (key: string, fields: Partial<StoredKey> = {}): StoredKey => ({
  id: 'ci-bot',
  hash: hashKey(key),
  scopes: ['chat'],
  source: 'config',
  ...fields,
});

describe('hashing', () => {
  test('sha256:<hex> is the SHA-256 of the key; hmac-sha256:<hex> its HMAC with the pepper', () => {
    assert.equal(hashKey('abc'), 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(hashKey('pb_x'), `sha256:${createHash('sha256').update('pb_x').digest('hex')}`);
    assert.equal(
      hashKey('pb_x', 'pepper'),
      `hmac-sha256:${createHmac('sha256', 'pepper').update('pb_x').digest('hex')}`,
    );
    assert.notEqual(hashKey('pb_x', 'pepper'), hashKey('pb_x', 'other pepper'));
    assert.match(hashKey('pb_x'), KEY_HASH_PATTERN);
    assert.match(hashKey('pb_x', 'p'), KEY_HASH_PATTERN);
  });

  test('with a pepper both forms are candidates (files may mix them); without, only SHA-256', () => {
    assert.deepEqual(candidateHashes('pb_x', undefined), [hashKey('pb_x')]);
    assert.deepEqual(candidateHashes('pb_x', 'p'), [hashKey('pb_x'), hashKey('pb_x', 'p')]);
  });

  test('generated keys: pb_ + 32 random bytes in base64url, never twice the same', () => {
    const keys = new Set(Array.from({ length: 200 }, generateKey));
    assert.equal(keys.size, 200);
    for (const key of keys) assert.match(key, /^pb_[A-Za-z0-9_-]{43}$/);
  });

  test('sameHash compares equal-length hashes and refuses different forms', () => {
    assert.equal(sameHash(hashKey('a'), hashKey('a')), true);
    assert.equal(sameHash(hashKey('a'), hashKey('b')), false);
    assert.equal(sameHash(hashKey('a'), hashKey('a', 'p')), false);
  });
});

describe('KeyStore.lookup', () => {
  const now = Date.parse('2026-06-01T00:00:00Z');

  test('finds a key by its hash only; another key, a prefix or the hash itself is unknown', () => {
    const key = generateKey();
    const store = new KeyStore([stored(key)]);
    const found = store.lookup(key, now);
    assert.equal(found.status, 'valid');
    assert.equal(found.status === 'valid' && found.key.id, 'ci-bot');
    for (const wrong of [generateKey(), key.slice(0, -1), `${key}x`, hashKey(key), '']) {
      assert.equal(store.lookup(wrong, now).status, 'unknown', wrong);
    }
  });

  test('a disabled key is disabled; an expired one expired (at its expiry instant, not before)', () => {
    const [a, b] = [generateKey(), generateKey()];
    const store = new KeyStore([stored(a, { id: 'off', disabled: true }), stored(b, { id: 'old', expiresAt: now })]);
    assert.equal(store.lookup(a, now).status, 'disabled');
    assert.equal(store.lookup(b, now - 1).status, 'valid');
    assert.equal(store.lookup(b, now).status, 'expired');
  });

  test('an HMAC-hashed key is found with the pepper, not without the right one', () => {
    const key = generateKey();
    const store = new KeyStore([stored(key, { hash: hashKey(key, 'pepper') })], 'pepper');
    assert.equal(store.lookup(key, now).status, 'valid');
    const wrongPepper = new KeyStore([stored(key, { hash: hashKey(key, 'pepper') })], 'other');
    assert.equal(wrongPepper.lookup(key, now).status, 'unknown');
  });

  test('the model allow-list comes with the key; without one every model is allowed', () => {
    const [a, b] = [generateKey(), generateKey()];
    const store = new KeyStore([stored(a, { id: 'a', models: ['llama*'] }), stored(b, { id: 'b' })]);
    const limited = store.lookup(a, now);
    const open = store.lookup(b, now);
    assert.ok(limited.status === 'valid' && open.status === 'valid');
    assert.equal(limited.allowsModel('llama3.2'), true);
    assert.equal(limited.allowsModel('mistral'), false);
    assert.equal(open.allowsModel('mistral'), true);
  });

  test('duplicate ids, one key twice, or an HMAC hash without a pepper are refused, naming the keys', () => {
    const key = generateKey();
    assert.throws(() => new KeyStore([stored(key), stored(generateKey(), { source: 'keys.yaml' })]), {
      message: 'the key id "ci-bot" is defined twice (config, keys.yaml)',
    });
    assert.throws(
      () => new KeyStore([stored(key, { id: 'a' }), stored(key, { id: 'b' })]),
      /"a" and "b" have the same hash/,
    );
    assert.throws(() => new KeyStore([stored(key, { hash: hashKey(key, 'p') })]), /no pepper_env is configured/);
  });
});
