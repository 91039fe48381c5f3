/**
 * Structured logs of the server: the request id reaches the client (`x-request-id`) and every
 * log line of the request — the HTTP line, the core's plugin-failure lines, the lines a
 * plugin writes through `call.logger` — and secrets are redacted at any depth.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createDefaultLogger, redactLogFields } from '../../src/core/logger.ts';
import { defineMessageProcessor, definePlugin } from '../../src/index.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';
import { captureLogs, chat, get, type LogLine } from './observability-support.ts';

const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('request ids in responses and log lines', () => {
  const logs = captureLogs();
  const chatty = defineMessageProcessor({
    metadata: { name: 'chatty', version: '1.0.0' },
    direction: 'input',
    processMessage: (message, _context, call) => {
      call.logger.info({ operation: 'inspect', length: message.content.length }, 'looked at the message');
      return message;
    },
  });
  const broken = defineMessageProcessor({
    metadata: { name: 'broken', version: '1.0.0' },
    direction: 'input',
    processMessage: () => {
      throw new Error('broken on purpose');
    },
  });
  const auditor = definePlugin({
    metadata: { name: 'auditor', version: '1.0.0' },
    onRequestEnd: () => {
      throw new Error('audit store is down');
    },
  });
  let server: TestServer;
  before(async () => {
    server = await startTestServer([createScriptedBackend(), chatty, broken, auditor], { logger: logs.logger });
  });
  after(() => server.close());

  const linesOf = (requestId: string): LogLine[] => logs.lines().filter((line) => line.request_id === requestId);

  test('a request id the client sends is echoed in x-request-id; otherwise one is made', async () => {
    const given = await get(`${server.url}/health/live`, { 'x-request-id': 'client-id-42' });
    assert.equal(given.headers.get('x-request-id'), 'client-id-42');
    const made = await get(`${server.url}/health/live`);
    assert.match(made.headers.get('x-request-id') ?? '', REQUEST_ID);
    // Not a sane token (spaces, too long): replaced.
    const refused = await get(`${server.url}/health/live`, { 'x-request-id': 'has spaces in it' });
    assert.match(refused.headers.get('x-request-id') ?? '', REQUEST_ID);
  });

  test('every log line of a chat request carries its request id: HTTP, plugin failures, plugin lines', async () => {
    const response = await chat(server.url, 'hello', { headers: { 'x-request-id': 'req-logs-1' } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-request-id'), 'req-logs-1');
    const lines = linesOf('req-logs-1');

    const http = lines.find((line) => line.operation === 'http');
    assert.ok(http, 'the request line');
    assert.equal(http.message, 'request completed');
    assert.equal(http.level, 'INFO');
    assert.equal(http.method, 'POST');
    assert.equal(http.route, '/v1/chat/completions');
    assert.equal(http.status, 200);
    assert.equal(http.success, true);
    assert.equal(typeof http.duration_ms, 'number');
    assert.ok(!Number.isNaN(Date.parse(http.timestamp as string)));

    const failure = lines.find((line) => line.plugin === 'broken');
    assert.ok(failure, "the failing plugin's error line has the request id");
    assert.equal(failure.level, 'ERROR');
    assert.equal(failure.operation, 'processMessage.input');
    assert.equal(failure.success, false);
    assert.equal(failure.error, 'PLUGIN_CALL_FAILED');
    assert.match(failure.cause as string, /broken on purpose/);

    const own = lines.find((line) => line.plugin === 'chatty');
    assert.ok(own, "a plugin's own line through call.logger has the request id");
    assert.equal(own.operation, 'inspect');
    assert.equal(own.length, 5);

    const hook = lines.find((line) => line.plugin === 'auditor');
    assert.ok(hook, 'a failing requestEnd hook (which runs outside the request scope) still logs the request id');
    assert.equal(hook.operation, 'hook:requestEnd');
  });

  test('a failed request logs its error with the request id', async () => {
    const response = await chat(server.url, 'hello', {
      model: 'no-such-model',
      headers: { 'x-request-id': 'req-logs-2' },
    });
    assert.equal(response.status, 404);
    const http = linesOf('req-logs-2').find((line) => line.operation === 'http');
    assert.ok(http);
    assert.equal(http.status, 404);
    assert.equal(http.success, false);
  });

  test('no log line of a request is without its id (besides the server-wide ones)', async () => {
    logs.lines(); // earlier lines are from earlier tests
    const before = logs.lines().length;
    await chat(server.url, 'once more', { headers: { 'x-request-id': 'req-logs-3' } });
    const fresh = logs.lines().slice(before);
    assert.ok(fresh.length >= 3, `expected several lines, got ${fresh.length}`);
    for (const line of fresh) assert.equal(line.request_id, 'req-logs-3', JSON.stringify(line));
  });
});

describe('redaction of secrets in log lines', () => {
  test('authorization headers and API keys are redacted at any depth; usage counts are not', () => {
    const logs = captureLogs();
    logs.logger.info({ headers: { authorization: 'Bearer x', accept: 'application/json' } }, 'headers');
    logs.logger.info({ config: { api_key: 'sk-live-123', apiKey: 'sk-2', max_tokens: 64 } }, 'config');
    logs.logger.warn(
      { request: { headers: { cookie: 'session=abc', 'x-api-key': 'k-1' } }, admin_token: 'adm-0123456789abcdef' },
      'deep',
    );
    logs.logger.error({ plugins: [{ name: 'ollama', config: { password: 'hunter2', token: 't-1' } }] }, 'in a list');
    logs.logger.info({ usage: { promptTokens: 3, completion_tokens: 4 }, client_secret: 's' }, 'counts');

    const raw = logs.raw();
    for (const secret of ['Bearer x', 'sk-live-123', 'sk-2', 'session=abc', 'k-1', 'adm-0123', 'hunter2', 't-1"']) {
      assert.ok(!raw.includes(secret), `"${secret}" leaked into the logs`);
    }
    const [headers, config, deep, list, counts] = logs.lines();
    assert.deepEqual(headers!.headers, { authorization: '[redacted]', accept: 'application/json' });
    assert.deepEqual(config!.config, { api_key: '[redacted]', apiKey: '[redacted]', max_tokens: 64 });
    assert.deepEqual(deep!.request, { headers: { cookie: '[redacted]', 'x-api-key': '[redacted]' } });
    assert.equal(deep!.admin_token, '[redacted]');
    assert.deepEqual(list!.plugins, [{ name: 'ollama', config: { password: '[redacted]', token: '[redacted]' } }]);
    assert.deepEqual(counts!.usage, { promptTokens: 3, completion_tokens: 4 });
    assert.equal(counts!.client_secret, '[redacted]');
  });

  test('the pretty format (development) redacts the same way', () => {
    const written: string[] = [];
    const logger = createDefaultLogger('info', 'pretty', { write: (line: string) => written.push(line) });
    logger.info({ headers: { authorization: 'Bearer pretty-secret' }, request_id: 'r-1' }, 'pretty line');
    const text = written.join('');
    assert.match(text, /pretty line/);
    assert.match(text, /\[redacted\]/);
    assert.ok(!text.includes('pretty-secret'));
  });

  test('the object logged is left as it was; objects without secrets are not copied', () => {
    const logged = { headers: { authorization: 'Bearer x' } };
    const redacted = redactLogFields(logged);
    assert.equal(logged.headers.authorization, 'Bearer x');
    assert.deepEqual(redacted, { headers: { authorization: '[redacted]' } });
    const clean = { operation: 'http', nested: { status: 200 } };
    assert.equal(redactLogFields(clean), clean);
  });

  test('a plugin logging its config through call.logger does not leak the key', async () => {
    const logs = captureLogs();
    const careless = defineMessageProcessor({
      metadata: { name: 'careless', version: '1.0.0' },
      direction: 'input',
      processMessage: (message, _context, call) => {
        call.logger.warn({ config: { api_key: 'sk-careless-999' } }, 'my settings');
        return message;
      },
    });
    const server = await startTestServer([createScriptedBackend(), careless], { logger: logs.logger });
    try {
      assert.equal((await chat(server.url, 'hi', { headers: { authorization: 'Bearer sk-header-1' } })).status, 200);
    } finally {
      await server.close();
    }
    assert.ok(!logs.raw().includes('sk-careless-999'));
    assert.ok(!logs.raw().includes('sk-header-1'));
    const line = logs.lines().find((entry) => entry.message === 'my settings');
    assert.deepEqual(line?.config, { api_key: '[redacted]' });
  });
});
