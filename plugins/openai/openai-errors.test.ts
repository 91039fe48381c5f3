/**
 * How the openai backend reports failures: an unreachable service, a refused key, an unknown
 * model, upstream failures before and during a stream, rate limits. The upstream is a real
 * Plugboard server; refusals come from a middleware on it.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { PluginManager } from '../../src/core/manager/plugin-manager.ts';
import { defineMiddleware, isPlugboardError, type Logger, PlugboardError, reject } from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';
import { closedPort } from '../../test/support/closed-port.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { createOpenAiBackend } from './openai.plugin.ts';

/** Runs `context` whole and streamed, expecting both to fail; returns both errors. */
async function bothWays(manager: PluginManager, model: string): Promise<PlugboardError[]> {
  const errors: PlugboardError[] = [];
  for (const stream of [false, true]) {
    const context = chatRequest('hi', { backend: 'openai', model, stream });
    const run = stream ? collectStream(manager.stream(context)) : manager.chat(context);
    await assert.rejects(run, (error: unknown) => {
      assert.ok(isPlugboardError(error), String(error));
      errors.push(error);
      return true;
    });
  }
  return errors;
}

async function managerFor(config: Record<string, unknown>): Promise<PluginManager> {
  return startManager([[createOpenAiBackend(), { config }]]);
}

describe('openai backend: an unreachable service', () => {
  test('is BACKEND_UNAVAILABLE (503) naming the address, for chat, stream, models and embeddings', async () => {
    const baseUrl = `http://127.0.0.1:${await closedPort()}/v1`;
    const manager = await managerFor({ base_url: baseUrl, api_key: 'test' });
    after(() => manager.shutdown());
    for (const error of await bothWays(manager, 'any')) {
      assert.equal(error.code, 'BACKEND_UNAVAILABLE');
      assert.equal(error.status, 503);
      assert.equal(error.plugin, 'openai');
      assert.match(error.message, new RegExp(`^openai: connection refused at ${baseUrl} — check base_url`));
    }
    const handle = manager.getBackendProvider('openai')!;
    for (const result of [await handle.listModels(), await handle.embed({ model: 'e', input: ['x'] })]) {
      assert.equal(result.ok, false);
      if (!result.ok) assert.equal(result.error.code, 'BACKEND_UNAVAILABLE');
    }
    const health = await manager.getHealth();
    assert.equal(health.plugins.openai?.health.status, 'unhealthy');
    assert.match(health.plugins.openai?.health.message ?? '', new RegExp(`connection refused at ${baseUrl}`));
  });
});

describe('openai backend: upstream errors', () => {
  /** Refuses requests whose last user message names a status: `401`, `403`, `429`. */
  const gatekeeper = defineMiddleware({
    metadata: { name: 'gatekeeper', version: '1.0.0' },
    processRequest: (context) => {
      const text = context.messages.at(-1)?.content ?? '';
      if (text === '401') return reject('REQUEST_REJECTED', 'Incorrect API key provided', { status: 401 });
      if (text === '403') return reject('REQUEST_REJECTED', 'No access to this model', { status: 403 });
      if (text === '429') return reject('REQUEST_REJECTED', 'Rate limit reached, retry in 20s', { status: 429 });
      return context;
    },
  });
  const failing = createScriptedBackend({
    name: 'up',
    models: ['up-model', 'broken', 'mid-stream'],
    reply: 'abcdefghijklmnop',
    // Coded errors: a backend's own report of its service passes on to clients (a bare Error's text would not).
    fail: (_call, context) => {
      if (context.model === 'broken') return { error: new PlugboardError('BACKEND_FAILED', 'the GPU caught fire') };
      if (context.model === 'mid-stream')
        return { error: new PlugboardError('BACKEND_FAILED', 'boom'), afterChunks: 2 };
      return undefined;
    },
  });
  let upstream: TestServer;
  let manager: PluginManager;
  before(async () => {
    upstream = await startTestServer([failing, gatekeeper]);
    manager = await managerFor({ base_url: `${upstream.url}/v1`, api_key: 'sk-secret-key-123' });
  });
  after(async () => {
    await manager.shutdown();
    await upstream.close();
  });

  test('an unknown model is MODEL_NOT_FOUND (404)', async () => {
    for (const error of await bothWays(manager, 'no-such-model')) {
      assert.equal(error.code, 'MODEL_NOT_FOUND');
      assert.equal(error.status, 404);
      assert.match(error.message, /the model "no-such-model" does not exist at http:\/\/127\.0\.0\.1:\d+\/v1/);
    }
  });

  test('an upstream failure before any output is BACKEND_FAILED (502) with its message', async () => {
    for (const error of await bothWays(manager, 'broken')) {
      assert.equal(error.code, 'BACKEND_FAILED');
      assert.equal(error.status, 502);
      assert.match(error.message, /the GPU caught fire/);
    }
  });

  test('a failure mid-stream ends the stream with an error carrying the message, after the first chunks', async () => {
    const received: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of manager.stream(
          chatRequest('go', { backend: 'openai', model: 'mid-stream', stream: true }),
        )) {
          if (chunk.content) received.push(chunk.content);
        }
      })(),
      (error: unknown) => {
        assert.ok(isPlugboardError(error, 'BACKEND_FAILED'), String(error));
        assert.match(error.message, /boom/);
        return true;
      },
    );
    assert.deepEqual(received, ['abcd', 'efgh'], 'the chunks before the failure arrived');
  });

  test('a refused key is BACKEND_FAILED (502) saying so, without showing the key', async () => {
    for (const status of ['401', '403']) {
      const error = await manager
        .chat(chatRequest(status, { backend: 'openai', model: 'up-model' }))
        .catch((thrown: unknown) => thrown);
      assert.ok(isPlugboardError(error, 'BACKEND_FAILED'), String(error));
      assert.equal(error.status, 502, 'the caller is not told its own credentials are wrong');
      assert.match(error.message, new RegExp(`refused the api_key \\(${status}: .+\\) — set a valid api_key`));
      assert.doesNotMatch(JSON.stringify(error.toJSON()), /sk-secret-key-123/);
    }
  });

  test('a rate limit keeps its status 429', async () => {
    const error = await manager
      .chat(chatRequest('429', { backend: 'openai', model: 'up-model' }))
      .catch((thrown: unknown) => thrown);
    assert.ok(isPlugboardError(error, 'BACKEND_FAILED'), String(error));
    assert.equal(error.status, 429);
    assert.match(error.message, /Rate limit reached, retry in 20s/);
  });

  test('a base_url without /v1 is BACKEND_FAILED pointing at base_url', async () => {
    const wrong = await managerFor({ base_url: upstream.url, api_key: 'test' });
    after(() => wrong.shutdown());
    const error = await wrong
      .chat(chatRequest('hi', { backend: 'openai', model: 'up-model' }))
      .catch((thrown: unknown) => thrown);
    assert.ok(isPlugboardError(error, 'BACKEND_FAILED'), String(error));
    assert.match(error.message, /answered 404 .*check base_url \(it usually ends in \/v1\)/);
  });

  test('no model and no default_model is a clear 400', async () => {
    const error = await manager.chat(chatRequest('hi')).catch((thrown: unknown) => thrown);
    assert.ok(isPlugboardError(error, 'BACKEND_FAILED'), String(error));
    assert.equal(error.status, 400);
    assert.match(error.message, /names no model and no default_model is configured/);
  });
});

describe('openai backend: credentials in base_url', () => {
  test('errors, health and the log show the address with its password redacted', async () => {
    const port = await closedPort();
    const lines: string[] = [];
    const logger = rawLogger(lines);
    const manager = await startManager(
      [[createOpenAiBackend(), { config: { base_url: `http://user:s3cretkey@127.0.0.1:${port}/v1` } }]],
      { logger },
    );
    after(() => manager.shutdown());
    for (const error of await bothWays(manager, 'any')) {
      assert.equal(error.code, 'BACKEND_UNAVAILABLE');
      assert.match(
        error.message,
        new RegExp(`^openai: connection refused at http://user:\\*\\*\\*@127\\.0\\.0\\.1:${port}/v1`),
      );
      assert.doesNotMatch(`${error.message} ${String(error.cause)}`, /s3cretkey/);
    }
    const health = (await manager.getHealth()).plugins.openai?.health;
    assert.doesNotMatch(JSON.stringify(health), /s3cretkey/);
    assert.equal(health?.details?.base_url, `http://user:***@127.0.0.1:${port}/v1`);
    assert.ok(lines.length > 0);
    assert.doesNotMatch(lines.join(''), /s3cretkey/);
  });

  test('are sent as HTTP Basic authorization, not in the URL', async () => {
    const seen: (string | undefined)[] = [];
    const upstream = createServer((request, response) => {
      seen.push(request.headers.authorization);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ object: 'list', data: [{ id: 'm', object: 'model', created: 0, owned_by: 'me' }] }),
      );
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    after(() => new Promise((resolve) => upstream.close(resolve)));
    const port = (upstream.address() as { port: number }).port;
    const manager = await managerFor({ base_url: `http://user:p%40ss@127.0.0.1:${port}/v1` });
    after(() => manager.shutdown());
    const listed = await manager.getBackendProvider('openai')!.listModels();
    assert.ok(listed.ok, JSON.stringify(listed));
    assert.deepEqual(seen, [`Basic ${Buffer.from('user:p@ss').toString('base64')}`]);
  });
});

/** A logger that keeps every line as written, unredacted (errors with their message and stack). */
function rawLogger(lines: string[]): Logger {
  const line = (object: Record<string, unknown>, message?: string) =>
    lines.push(
      JSON.stringify({ ...object, message }, (_key, value: unknown) =>
        value instanceof Error ? { message: value.message, stack: value.stack, cause: value.cause } : value,
      ),
    );
  const logger: Logger = { debug: line, info: line, warn: line, error: line, child: () => logger };
  return logger;
}
