/**
 * How failures reach clients and operators: a plugin's exception text never reaches a client
 * (the code, the plugin and the catalogue's words do; the log gets the message and the stack);
 * plugins' own error codes answer with their status on both APIs and are listed with every
 * other code; a response served without a fail-open plugin says so (header, last stream
 * chunk, log line); a fail-closed plugin made fail-open is warned about.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { defineErrors, defineMessageProcessor, defineMiddleware, PluginManager, withContent } from '../../src/index.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';
import { captureLogs, chat, get } from './observability-support.ts';

const SECRET = 'sk-live-0123456789abcdef';

/** Fails closed while a request says "leak", quoting the user's secret in its exception. */
const guard = defineMessageProcessor({
  metadata: { name: 'guard', version: '1.0.0', failurePolicy: 'closed' },
  direction: 'input',
  processMessage: (message) => {
    if (message.content.includes('leak')) throw new Error(`cannot check ${SECRET} against the vault`);
    return message;
  },
});

/** Fails (fail-open) while a request says "degrade". */
const flaky = defineMessageProcessor({
  metadata: { name: 'flaky', version: '1.0.0' },
  direction: 'input',
  processMessage: (message) => {
    if (message.content.includes('degrade')) throw new Error('flaky on purpose');
    return message;
  },
});

/** A streaming output processor whose transform breaks on a "!" (it arrives whole in any chunking). */
const shouty = defineMessageProcessor({
  metadata: { name: 'shouty', version: '1.0.0' },
  direction: 'output',
  processMessage: (message) => withContent(message, message.content.toUpperCase()),
  streaming: {
    window: 0,
    transform: (text) => {
      if (text.includes('!')) throw new Error('transform exploded');
      return text.toUpperCase();
    },
  },
});

const limits = defineErrors('quota', {
  EXCEEDED: { summary: 'The caller used up its quota', hint: 'Wait for the next window.', status: 429 },
});
const quota = defineMiddleware({
  metadata: { name: 'quota', version: '1.0.0', errors: limits },
  processRequest: (context) =>
    context.client?.headers?.['x-quota'] === 'gone'
      ? { decision: 'reject', error: limits.EXCEEDED('Quota used up: retry in 60 s') }
      : context,
});

describe('failures as clients and operators see them', () => {
  const logs = captureLogs();
  let server: TestServer;
  before(async () => {
    server = await startTestServer([createScriptedBackend({ chunking: 4 }), guard, flaky, shouty, quota], {
      logger: logs.logger,
      manager: { circuitBreaker: { failureThreshold: 100 } },
    });
  });
  after(() => server.close());

  test("a fail-closed plugin's exception text reaches the log, never the client (both APIs)", async () => {
    const openai = await chat(server.url, 'leak it', { headers: { 'x-request-id': 'req-leak-1' } });
    assert.equal(openai.status, 503);
    assert.ok(!openai.text.includes(SECRET), openai.text);
    const error = (JSON.parse(openai.text) as { error: { message: string; code: string; plugin: string } }).error;
    assert.equal(error.code, 'plugin_failed_closed');
    assert.equal(error.plugin, 'guard');
    assert.match(error.message, /plugin "guard" failed in processMessage\.input and is fail-closed/);

    const ollama = await fetch(`${server.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'scripted-model', stream: false, messages: [{ role: 'user', content: 'leak' }] }),
    });
    const text = await ollama.text();
    assert.equal(ollama.status, 503);
    assert.ok(!text.includes(SECRET), text);

    const logged = logs.lines().filter((line) => line.request_id === 'req-leak-1' && line.plugin === 'guard');
    assert.ok(
      logged.some((line) => String(line.cause).includes(SECRET)),
      'the log keeps the whole message',
    );
    const stack = logged.map((line) => (line.err as { stack?: string } | undefined)?.stack).find(Boolean);
    assert.match(stack ?? '', /at processMessage|failure-reporting\.test\.ts/, 'and the stack');
  });

  test("a plugin's own error code answers with its status, in each API's format", async () => {
    const openai = await chat(server.url, 'hi', { headers: { 'x-quota': 'gone' } });
    assert.equal(openai.status, 429);
    const body = JSON.parse(openai.text) as { error: { code: string; type: string; message: string; hint: string } };
    assert.equal(body.error.code, 'quota/exceeded');
    assert.equal(body.error.type, 'rate_limit_error');
    assert.equal(body.error.message, 'Quota used up: retry in 60 s');
    assert.equal(body.error.hint, 'Wait for the next window.');

    const ollama = await fetch(`${server.url}/api/tags`, { headers: { 'x-quota': 'gone' } });
    assert.equal(ollama.status, 429);
    assert.deepEqual(await ollama.json(), {
      error: 'Quota used up: retry in 60 s',
      code: 'quota/EXCEEDED',
      hint: 'Wait for the next window.',
    });
  });

  test('GET /plugins/errors lists the core’s, the server’s and each plugin’s codes', async () => {
    const { errors } = (await (await get(`${server.url}/plugins/errors`)).json()) as {
      errors: { code: string; source: string; status: number; summary: string; hint: string }[];
    };
    const find = (code: string) => errors.find((entry) => entry.code === code);
    assert.deepEqual(
      { source: find('PLUGIN_TIMEOUT')?.source, status: find('PLUGIN_TIMEOUT')?.status },
      { source: 'core', status: 504 },
    );
    assert.equal(find('ROUTE_NOT_FOUND')?.source, 'server');
    assert.deepEqual(find('quota/EXCEEDED'), {
      code: 'quota/EXCEEDED',
      source: 'quota',
      summary: 'The caller used up its quota',
      hint: 'Wait for the next window.',
      status: 429,
    });
    for (const entry of errors) assert.ok(entry.summary && entry.hint, `${entry.code} has a summary and a hint`);
  });

  test('a response served without a fail-open plugin says so: header on both APIs, and the log', async () => {
    const openai = await chat(server.url, 'degrade me', { headers: { 'x-request-id': 'req-degraded-1' } });
    assert.equal(openai.status, 200);
    assert.equal(openai.headers.get('x-plugboard-degraded'), 'flaky');
    const whole = await chat(server.url, 'all fine');
    assert.equal(whole.headers.get('x-plugboard-degraded'), null, 'only when a plugin was bypassed');

    const ollama = await fetch(`${server.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({
        model: 'scripted-model',
        stream: false,
        messages: [{ role: 'user', content: 'degrade' }],
      }),
    });
    assert.equal(ollama.headers.get('x-plugboard-degraded'), 'flaky');

    const line = logs.lines().find((entry) => entry.request_id === 'req-degraded-1' && entry.operation === 'http');
    assert.deepEqual(line?.degraded, ['flaky']);
  });

  test('a stream names a plugin bypassed before its first chunk in the header, and every one at its end', async () => {
    const sse = await chat(server.url, 'degrade, then explode!', { stream: true });
    assert.equal(sse.headers.get('x-plugboard-degraded'), 'flaky');
    const events = sse.text.split('\n\n').filter((event) => event.startsWith('data: {'));
    const last = JSON.parse(events.at(-1)!.slice('data: '.length)) as { plugboard?: { degraded: string[] } };
    // The transform broke mid-stream: too late for the header, named in the last chunk.
    assert.deepEqual(last.plugboard?.degraded, ['flaky', 'shouty']);

    const ndjson = await fetch(`${server.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'scripted-model', messages: [{ role: 'user', content: 'explode!' }] }),
    });
    const done = JSON.parse((await ndjson.text()).trim().split('\n').at(-1)!) as { done: boolean; degraded?: string[] };
    assert.equal(done.done, true);
    assert.deepEqual(done.degraded, ['shouty']);
  });

  test('a failing streaming transform is logged like any failed call, counted, and charged to its own breaker', async () => {
    const before = server.manager.getMetrics().plugins.shouty!.operations['streaming.transform']?.failures ?? 0;
    await chat(server.url, 'explode again!', { stream: true, headers: { 'x-request-id': 'req-transform-1' } });
    const line = logs
      .lines()
      .find((entry) => entry.request_id === 'req-transform-1' && entry.operation === 'streaming.transform');
    assert.equal(line?.plugin, 'shouty');
    assert.equal(line?.level, 'ERROR');
    assert.equal(line?.error, 'PLUGIN_CALL_FAILED');
    assert.match(String(line?.cause), /transform exploded/);
    const after = server.manager.getMetrics().plugins.shouty!.operations['streaming.transform']!.failures;
    assert.equal(after, before + 1);
  });
});

describe('failure policies a plugin declares', () => {
  test('a fail-closed plugin configured to fail open is loaded, with a warning in the log', async () => {
    const logs = captureLogs();
    const manager = new PluginManager({ logger: logs.logger });
    await manager.register(guard, { failurePolicy: 'open' });
    await manager.register(flaky);
    await manager.initialize();
    try {
      assert.equal(manager.getPluginStatus().plugins.guard?.failurePolicy, 'open');
      const warning = logs.lines().find((line) => line.level === 'WARN' && line.plugin === 'guard');
      assert.match(String(warning?.message), /declares itself fail-closed, but its configuration makes it fail open/);
      assert.equal(manager.getPluginStatus().plugins.flaky?.failurePolicy, 'open', 'no declaration: open, no warning');
      assert.equal(logs.lines().filter((line) => line.level === 'WARN').length, 1);
    } finally {
      await manager.shutdown();
    }
  });

  test('without configuration, the declared policy applies', async () => {
    const manager = new PluginManager({ logger: captureLogs().logger });
    await manager.register(guard);
    await manager.initialize();
    try {
      assert.equal(manager.getPluginStatus().plugins.guard?.failurePolicy, 'closed');
    } finally {
      await manager.shutdown();
    }
  });
});
