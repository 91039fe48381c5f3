/** Row values the JSON answer cannot hold as they are. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toJsonValue } from './json-values.ts';

test('bigint: a number when exact, else its decimal string', () => {
  assert.equal(toJsonValue(42n), 42);
  assert.equal(toJsonValue(2n ** 63n - 1n), '9223372036854775807');
  assert.equal(toJsonValue(-(2n ** 60n)), '-1152921504606846976');
});

test('bytes, dates, non-finite numbers, nested values', () => {
  assert.deepEqual(toJsonValue(Buffer.from([0xca, 0xfe])), { base64: 'yv4=' });
  assert.deepEqual(toJsonValue(new Uint8Array([1])), { base64: 'AQ==' });
  assert.equal(toJsonValue(new Date('2024-05-01T10:00:00Z')), '2024-05-01T10:00:00.000Z');
  assert.equal(toJsonValue(new Date('nonsense')), null);
  assert.equal(toJsonValue(Number.NaN), 'NaN');
  assert.equal(toJsonValue(Number.NEGATIVE_INFINITY), '-Infinity');
  assert.equal(toJsonValue(undefined), null);
  assert.deepEqual(toJsonValue({ at: new Date(0), ids: [1n, null] }), {
    at: '1970-01-01T00:00:00.000Z',
    ids: [1, null],
  });
});
