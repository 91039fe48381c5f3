import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { backendUnavailable, defineBackend, isConnectionError, isPlugboardError } from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';
import { closedPort } from '../support/closed-port.ts';

describe('backend connection errors', () => {
  test("fetch's refused connection is recognised and described, with the address and the advice", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const failure = await fetch(url).catch((error: unknown) => error);
    assert.ok(isConnectionError(failure), 'fetch failed → connection error');
    const error = backendUnavailable('ollama', url, 'start it with `ollama serve`', failure);
    assert.ok(isPlugboardError(error, 'BACKEND_UNAVAILABLE'));
    assert.equal(error.status, 503);
    assert.equal(error.plugin, 'ollama');
    assert.equal(error.message, `ollama: connection refused at ${url} — start it with \`ollama serve\``);
  });

  test('other errors are not connection errors', () => {
    assert.equal(isConnectionError(new Error('400 bad request')), false);
    assert.equal(isConnectionError(undefined), false);
    assert.equal(isConnectionError(Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' })), false);
  });
});

describe('how the pipeline reports a failing backend', () => {
  const failing = (error: () => Error) =>
    defineBackend({
      metadata: { name: 'down', version: '1.0.0' },
      chat: () => {
        throw error();
      },
      listModels: () => [{ id: 'm' }],
    });

  test("a backend's own BACKEND_UNAVAILABLE reaches the caller as it is (503, its message)", async () => {
    const manager = await startManager([
      failing(() => backendUnavailable('down', 'http://127.0.0.1:1', 'start it', new Error('x'))),
    ]);
    after(() => manager.shutdown());
    for (const stream of [false, true]) {
      const run = stream ? collectStream(manager.stream(chatRequest('hi'))) : manager.chat(chatRequest('hi'));
      await assert.rejects(run, (error: unknown) => {
        assert.ok(isPlugboardError(error, 'BACKEND_UNAVAILABLE'), String(error));
        assert.equal(error.status, 503);
        assert.match(error.message, /^down: not reachable at http:\/\/127\.0\.0\.1:1 — start it$/);
        return true;
      });
    }
  });

  test('a backend that does not answer in time is BACKEND_FAILED with status 504', async () => {
    const manager = await startManager([
      [createScriptedBackend({ latencyMs: Number.POSITIVE_INFINITY }), { timeoutMs: 50 }],
    ]);
    after(() => manager.shutdown());
    await assert.rejects(manager.chat(chatRequest('hi')), (error: unknown) => {
      assert.ok(isPlugboardError(error, 'BACKEND_FAILED'), String(error));
      assert.equal(error.status, 504);
      return true;
    });
  });

  test('any other failure is BACKEND_FAILED (502) naming the backend', async () => {
    const manager = await startManager([failing(() => new Error('kaput'))]);
    after(() => manager.shutdown());
    await assert.rejects(manager.chat(chatRequest('hi')), (error: unknown) => {
      assert.ok(isPlugboardError(error, 'BACKEND_FAILED'));
      assert.equal(error.status, 502);
      assert.match(error.message, /Backend "down" failed: .*kaput/);
      return true;
    });
  });
});
