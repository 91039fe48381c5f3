/**
 * Backend failures as HTTP clients see them: an unreachable backend is a 503 that says where
 * it looked and what to do; with a fallback the client gets an answer, and /metrics counts
 * the failed attempt. The unreachable backend really connects to a closed port.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { backendUnavailable, createMessage, defineBackend, isConnectionError } from '../../src/index.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { closedPort } from '../support/closed-port.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

async function closedPortUrl(): Promise<string> {
  return `http://127.0.0.1:${await closedPort()}`;
}

function unreachable(name: string, url: string) {
  return defineBackend({
    metadata: { name, version: '1.0.0' },
    async chat(_context, call) {
      try {
        await fetch(url, { signal: call.signal });
      } catch (error) {
        if (isConnectionError(error)) {
          throw backendUnavailable(name, url, `start it, or enable another backend in plugins/config.yaml`, error);
        }
        throw error;
      }
      return { message: createMessage({ role: 'assistant', content: 'unexpected' }) };
    },
    listModels: () => [{ id: 'far-model' }],
  });
}

const chat = (url: string, model: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });

describe('an unreachable backend over HTTP', () => {
  let server: TestServer;
  let address: string;
  before(async () => {
    address = await closedPortUrl();
    server = await startTestServer([
      [unreachable('far', address), { backend: { fallback: 'near', retryDelayMs: 1 } }],
      createScriptedBackend({ name: 'near', models: ['near-model'], reply: 'near answers' }),
      unreachable('alone', address),
    ]);
  });
  after(() => server.close());

  test('without a fallback: 503 whose message names the address and what to do', async () => {
    const response = await chat(server.url, 'alone/far-model');
    assert.equal(response.status, 503);
    const { error } = (await response.json()) as { error: { message: string; code: string; type: string } };
    assert.equal(error.code, 'backend_unavailable');
    assert.equal(error.type, 'service_unavailable_error');
    assert.equal(
      error.message,
      `alone: connection refused at ${address} — start it, or enable another backend in plugins/config.yaml`,
    );
  });

  test('with a fallback: the fallback answers, and /metrics counts the failed attempt', async () => {
    const response = await chat(server.url, 'far/far-model');
    assert.equal(response.status, 200);
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    assert.equal(body.choices[0]?.message.content, 'near answers');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(
      metrics,
      /^plugboard_backend_attempts_failed_total\{backend="far",code="BACKEND_UNAVAILABLE",next="near"\} 1$/m,
    );
  });
});

describe('a backend whose service accepts connections but never answers', () => {
  let server: TestServer;
  let silent: import('node:net').Server;
  const sockets = new Set<import('node:net').Socket>();
  before(async () => {
    // A TCP server that accepts and then says nothing, like a hung service.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const { createOllamaBackend } = await import('../../plugins/ollama/ollama.plugin.ts');
    server = await startTestServer([
      [
        createOllamaBackend(),
        {
          timeoutMs: 300,
          config: { host: `http://127.0.0.1:${port}` },
          backend: { retries: 1, retryDelayMs: 1, fallback: 'near' },
        },
      ],
      createScriptedBackend({ name: 'near', models: ['near-model'], reply: 'near answers' }),
    ]);
  });
  after(async () => {
    await server.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  test('times out, is retried, then the fallback answers', async () => {
    const response = await chat(server.url, 'ollama/llama3.2');
    assert.equal(response.status, 200);
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    assert.equal(body.choices[0]?.message.content, 'near answers');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(
      metrics,
      /^plugboard_backend_attempts_failed_total\{backend="ollama",code="BACKEND_FAILED",next="retry"\} 1$/m,
    );
    assert.match(
      metrics,
      /^plugboard_backend_attempts_failed_total\{backend="ollama",code="BACKEND_FAILED",next="near"\} 1$/m,
    );
  });
});
