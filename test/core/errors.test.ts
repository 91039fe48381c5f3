/**
 * The error catalogue and PlugboardError: every code is documented and well-formed, errors
 * carry their origin, and serialise cleanly for logs and API bodies.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { describeCause, toPlugboardError } from '../../src/core/errors/plugboard-error.ts';
import '../../src/server/server-errors.ts';
import {
  createChatContext,
  type ErrorCode,
  errorCatalogue,
  fail,
  isPlugboardError,
  listErrorCodes,
  PlugboardError,
} from '../../src/index.ts';
import { chatRequest, createScriptedBackend, startManager } from '../../src/testing/index.ts';

const entries = Object.entries(errorCatalogue) as [ErrorCode, (typeof errorCatalogue)[ErrorCode]][];

describe('error catalogue', () => {
  test('is not empty and has the codes the runtime documents', () => {
    assert.ok(entries.length >= 20);
    for (const code of [
      'PLUGIN_CALL_FAILED',
      'PLUGIN_TIMEOUT',
      'PLUGIN_CIRCUIT_OPEN',
      'PLUGIN_INVALID_RESULT',
      'PLUGIN_FAILED_CLOSED',
      'PLUGIN_INIT_FAILED',
      'HOOK_UNKNOWN',
      'REQUEST_ABORTED',
    ]) {
      assert.ok(code in errorCatalogue, code);
    }
  });

  for (const [code, entry] of entries) {
    test(`${code} is well-formed`, () => {
      assert.match(code, /^[A-Z_]+$/);
      assert.match(code, /^[A-Z]/, 'starts with a letter');
      assert.doesNotMatch(code, /__|_$/, 'no empty words');
      assert.deepEqual(Object.keys(entry).sort(), ['hint', 'status', 'summary']);

      for (const [field, text] of [
        ['summary', entry.summary],
        ['hint', entry.hint],
      ] as const) {
        assert.equal(typeof text, 'string');
        assert.equal(text, text.trim(), `${field} has no surrounding blanks`);
        assert.ok(text.length >= 15, `${field} is a real sentence`);
        assert.match(text, /^[A-Z]/, `${field} starts with a capital letter`);
        assert.match(text, /\s/, `${field} has more than one word`);
        assert.doesNotMatch(text, /\n/, `${field} is one line`);
        assert.doesNotMatch(text, /TODO|FIXME|XXX/);
      }
      assert.match(entry.hint, /[.!)]$/, 'the hint is a finished sentence');
      assert.doesNotMatch(entry.summary, /\.$/, 'the summary has no trailing period (messages append to it)');
      assert.notEqual(entry.summary, entry.hint);

      assert.ok(Number.isInteger(entry.status), 'status is an integer');
      assert.ok(entry.status >= 400 && entry.status <= 599, `status ${entry.status} is an HTTP error status`);
    });
  }

  test('summaries and hints are unique', () => {
    const summaries = entries.map(([, entry]) => entry.summary);
    const hints = entries.map(([, entry]) => entry.hint);
    assert.equal(new Set(summaries).size, summaries.length);
    assert.equal(new Set(hints).size, hints.length);
  });

  test('statuses fit the meaning of the code', () => {
    const status = (code: ErrorCode) => errorCatalogue[code].status;
    assert.equal(status('PLUGIN_TIMEOUT'), 504);
    assert.equal(status('PLUGIN_CIRCUIT_OPEN'), 503);
    assert.equal(status('PLUGIN_FAILED_CLOSED'), 503);
    assert.equal(status('PLUGIN_NOT_FOUND'), 404);
    assert.equal(status('PLUGIN_DUPLICATE_NAME'), 409);
    // The server's own codes join the same catalogue (see server-errors.ts).
    const registered = (code: string) => listErrorCodes().find((entry) => entry.code === code);
    // A request that outlives the server's limit is the server's (gateway) timeout, not the client's.
    assert.equal(registered('REQUEST_TIMEOUT')?.status, 504);
    assert.equal(registered('REQUEST_TOO_LARGE')?.status, 413);
    for (const { code, status: entryStatus } of listErrorCodes()) {
      if (code.startsWith('REQUEST_') && code !== 'REQUEST_ABORTED' && code !== 'REQUEST_TIMEOUT') {
        assert.ok(entryStatus < 500, `${code} is the client's doing`);
      }
    }
  });

  test('every code the source raises is in the catalogue', () => {
    const root = new URL('../../src/', import.meta.url).pathname;
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter(
      (file) => file.endsWith('.ts') && !file.endsWith('.test.ts'),
    );
    const used = new Set<string>();
    const pattern = /(?:PlugboardError|CodedError|reject|fail|toPlugboardError)\([^'")]*'([A-Z][A-Z_]+)'/g;
    for (const file of files) {
      for (const match of readFileSync(join(root, file), 'utf8').matchAll(pattern)) used.add(match[1]!);
    }
    assert.ok(used.size >= 15, `found the codes in use (${used.size})`);
    for (const code of used) assert.ok(code in errorCatalogue, `${code} is used in src but not in the catalogue`);
  });
});

describe('PlugboardError', () => {
  test('carries code, plugin, hook, cause, status and details', () => {
    const cause = new Error('socket hang up');
    const error = new PlugboardError('PLUGIN_TIMEOUT', 'rag took too long', {
      plugin: 'rag',
      hook: 'extend',
      cause,
      details: { timeoutMs: 100 },
    });
    assert.ok(error instanceof Error);
    assert.ok(error instanceof PlugboardError);
    assert.equal(error.name, 'PlugboardError');
    assert.equal(error.code, 'PLUGIN_TIMEOUT');
    assert.equal(error.message, 'rag took too long');
    assert.equal(error.plugin, 'rag');
    assert.equal(error.hook, 'extend');
    assert.equal(error.cause, cause);
    assert.deepEqual(error.details, { timeoutMs: 100 });
    assert.equal(error.status, 504, 'the catalogue status by default');
    assert.equal(error.hint, errorCatalogue.PLUGIN_TIMEOUT.hint);
    assert.match(String(error.stack), /rag took too long/);
    assert.match(String(error), /^PlugboardError: rag took too long/);
  });

  test('has no cause, plugin, hook or details unless given', () => {
    const error = new PlugboardError('INTERNAL_ERROR', 'oops');
    assert.equal(error.plugin, undefined);
    assert.equal(error.hook, undefined);
    assert.equal(error.details, undefined);
    assert.equal('cause' in error, false);
    assert.equal(error.status, 500);
  });

  test('a status override wins over the catalogue', () => {
    const error = new PlugboardError('REQUEST_REJECTED', 'slow down', { status: 429 });
    assert.equal(error.status, 429);
    assert.equal(errorCatalogue.REQUEST_REJECTED.status, 400);
  });

  test('isPlugboardError checks the class and, optionally, the code', () => {
    const error = new PlugboardError('HOOK_UNKNOWN', 'no such hook');
    assert.equal(isPlugboardError(error), true);
    assert.equal(isPlugboardError(error, 'HOOK_UNKNOWN'), true);
    assert.equal(isPlugboardError(error, 'PLUGIN_TIMEOUT'), false);
    assert.equal(isPlugboardError(new Error('plain')), false);
    assert.equal(isPlugboardError({ code: 'HOOK_UNKNOWN', message: 'duck' }), false);
    assert.equal(isPlugboardError(undefined), false);
  });

  test('toPlugboardError keeps a PlugboardError and wraps anything else', () => {
    const own = new PlugboardError('REQUEST_REJECTED', 'mine');
    assert.equal(toPlugboardError(own, 'PLUGIN_CALL_FAILED', { plugin: 'p' }), own);
    const thrown = new TypeError('Cannot assign to read only property');
    const wrapped = toPlugboardError(thrown, 'PLUGIN_CALL_FAILED', { plugin: 'p', hook: 'extend' });
    assert.equal(wrapped.code, 'PLUGIN_CALL_FAILED');
    assert.equal(wrapped.message, 'Cannot assign to read only property');
    assert.equal(wrapped.cause, thrown);
    assert.equal(wrapped.plugin, 'p');
    assert.equal(wrapped.hook, 'extend');
    const fromString = toPlugboardError('plain string', 'PLUGIN_CALL_FAILED', {});
    assert.equal(fromString.message, 'plain string');
    assert.equal(fromString.cause, 'plain string');
  });

  test('describeCause turns anything into a line of text', () => {
    assert.equal(describeCause(new Error('with message')), 'with message');
    assert.equal(describeCause(new RangeError('')), 'RangeError');
    assert.equal(describeCause('text'), 'text');
    assert.equal(describeCause({ a: 1 }), '{"a":1}');
    assert.equal(describeCause(42), '42');
    assert.equal(describeCause(undefined), 'undefined');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.equal(typeof describeCause(circular), 'string');
    assert.equal(typeof describeCause(10n), 'string');
  });

  test('fail() builds a failure result from a code or an error', () => {
    const fromCode = fail('PLUGIN_CALL_FAILED', 'nope');
    assert.equal(fromCode.ok, false);
    assert.ok(isPlugboardError(fromCode.error, 'PLUGIN_CALL_FAILED'));
    assert.equal(fromCode.error.message, 'nope');
    const own = new PlugboardError('BACKEND_FAILED', 'down');
    assert.equal(fail(own).error, own);
  });
});

describe('toJSON', () => {
  test('is a plain serialisable object with code, message, origin, details, cause and hint', () => {
    const error = new PlugboardError('PLUGIN_CALL_FAILED', 'rag failed', {
      plugin: 'rag',
      hook: 'extend',
      cause: new Error('connection refused'),
      details: { attempt: 2, hosts: ['a', 'b'] },
    });
    const json = error.toJSON();
    assert.deepEqual(json, {
      code: 'PLUGIN_CALL_FAILED',
      message: 'rag failed',
      plugin: 'rag',
      hook: 'extend',
      details: { attempt: 2, hosts: ['a', 'b'] },
      cause: 'connection refused',
      hint: errorCatalogue.PLUGIN_CALL_FAILED.hint,
    });
    assert.deepEqual(JSON.parse(JSON.stringify(error)), json, 'JSON.stringify uses toJSON and round-trips');
  });

  test('leaves out what is not set', () => {
    assert.deepEqual(new PlugboardError('MANAGER_NOT_RUNNING', 'stopped').toJSON(), {
      code: 'MANAGER_NOT_RUNNING',
      message: 'stopped',
      hint: errorCatalogue.MANAGER_NOT_RUNNING.hint,
    });
  });

  test('reduces awkward causes to text', () => {
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    for (const cause of [
      circular,
      10n,
      Symbol('s'),
      new PlugboardError('PLUGIN_TIMEOUT', 'inner'),
      { deep: { x: 1 } },
    ]) {
      const error = new PlugboardError('PLUGIN_CALL_FAILED', 'outer', { cause });
      const text = JSON.stringify(error);
      assert.equal(typeof JSON.parse(text).cause, 'string');
    }
    const nested = new PlugboardError('PLUGIN_FAILED_CLOSED', 'outer', {
      cause: new PlugboardError('PLUGIN_TIMEOUT', 'inner timeout'),
    });
    assert.equal(nested.toJSON().cause, 'inner timeout');
  });

  test('errors raised by the runtime serialise', async () => {
    const raised: PlugboardError[] = [];
    const m = await startManager(
      [
        createScriptedBackend(),
        {
          metadata: { name: 'faulty', version: '1.0.0' },
          processMessage: () => new Promise(() => {}),
          direction: 'input',
        },
        {
          metadata: { name: 'observer', version: '1.0.0' },
          onError: ({ error }: { error: PlugboardError }) => void raised.push(error),
        },
      ],
      { circuitBreaker: { failureThreshold: 1 }, defaultTimeoutMs: 15 },
    );
    try {
      await m.chat(chatRequest('one')); // PLUGIN_TIMEOUT
      await m.chat(chatRequest('two')); // PLUGIN_CIRCUIT_OPEN, with the breaker status in details
      try {
        createChatContext({ messages: [{ role: 'robot' as never, content: 'x' }] });
      } catch (error) {
        raised.push(error as PlugboardError);
      }
      assert.deepEqual(
        raised.map((error) => error.code),
        ['PLUGIN_TIMEOUT', 'PLUGIN_CIRCUIT_OPEN', 'REQUEST_INVALID'],
      );
      for (const error of raised) {
        const json = JSON.parse(JSON.stringify(error)) as Record<string, unknown>;
        assert.equal(json.code, error.code);
        assert.equal(json.message, error.message);
        assert.equal(json.hint, error.hint);
        assert.deepEqual(json, JSON.parse(JSON.stringify(error.toJSON())));
      }
      assert.equal(raised[1]!.toJSON().plugin, 'faulty');
      assert.equal((raised[1]!.toJSON().details as { breaker: { state: string } }).breaker.state, 'open');
      assert.deepEqual(raised[0]!.toJSON().details, { timeoutMs: 15 });
    } finally {
      await m.shutdown();
    }
  });
});
