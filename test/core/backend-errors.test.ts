import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { backendUnavailable, isConnectionError, isPlugboardError } from '../../src/index.ts';

/** A port on 127.0.0.1 with nothing listening (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

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
