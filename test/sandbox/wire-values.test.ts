/**
 * What crosses the sandbox boundary: errors (a PlugboardError rebuilt with its code, status and
 * both messages; a foreign error as a plain Error), PluginResults unwrapped, and decisions that
 * carry an error inside — through a real JSON round trip, as the IPC channel sends them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PlugboardError } from '../../src/core/errors/plugboard-error.ts';
import { fail, ok } from '../../src/core/result.ts';
import { decodeAnswer, encodeAnswer, fromWireError, toWireError } from '../../src/sandbox/wire-values.ts';

const overTheWire = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('wire values', () => {
  test('a PlugboardError arrives with its code, status, both messages, headers and details', () => {
    const sent = new PlugboardError('REQUEST_REJECTED', 'user 42 is over quota (log only)', {
      status: 429,
      publicMessage: 'Too many requests',
      headers: { 'retry-after': '10' },
      details: { limit: 5 },
      plugin: 'quota',
    });
    const received = fromWireError(overTheWire(toWireError(sent)));
    assert.ok(received instanceof PlugboardError, 'rebuilt as a PlugboardError');
    assert.equal(received.code, 'REQUEST_REJECTED');
    assert.equal(received.status, 429);
    assert.equal(received.message, 'user 42 is over quota (log only)');
    assert.equal(received.publicMessage, 'Too many requests');
    assert.deepEqual(received.headers, { 'retry-after': '10' });
    assert.deepEqual(received.details, { limit: 5 });
    assert.equal(received.plugin, 'quota');
  });

  test("a foreign exception stays a plain Error: its text is for the log, never the client's message", () => {
    const received = fromWireError(overTheWire(toWireError(new TypeError('secret sk-123 in a message'))));
    assert.ok(!(received instanceof PlugboardError), 'not promoted to a PlugboardError (the runtime wraps it)');
    assert.equal(received.name, 'TypeError');
    assert.equal(received.message, 'secret sk-123 in a message');
  });

  test('a PluginResult is unwrapped: ok to its value, fail to a throw of its error', () => {
    assert.deepEqual(encodeAnswer(ok({ role: 'user', content: 'x' })), { role: 'user', content: 'x' });
    assert.throws(
      () => encodeAnswer(fail('PLUGIN_CALL_FAILED', 'nope')),
      (error: unknown) => (error as PlugboardError).code === 'PLUGIN_CALL_FAILED',
    );
  });

  test("a reject decision's error survives the round trip; plain data is passed through uncopied", () => {
    const decision = { decision: 'reject', error: new PlugboardError('REQUEST_REJECTED', 'no', { status: 403 }) };
    const back = decodeAnswer(overTheWire(encodeAnswer(decision))) as typeof decision;
    assert.ok(back.error instanceof PlugboardError, 'the error is a PlugboardError again');
    assert.equal(back.error.status, 403);
    const plain = { role: 'assistant', content: 'hi', metadata: { nested: { deep: [1, 2] } } };
    assert.equal(encodeAnswer(plain), plain, 'no copy when nothing needs encoding');
  });
});
