/**
 * Admin API plugin actions on a server without a configuration file (startTestServer):
 * disable takes a message processor out of the chat pipeline and enable puts it back; both
 * are idempotent and answer 409 for states they cannot act on (ERROR, disabled by
 * configuration); a circuit breaker driven open by failures is closed by a reset; unknown
 * plugins are 404; config reloads and the config view are 501 without a config runtime; and
 * every action leaves an audit line with operation, plugin, outcome and request id.
 *
 * Chats go through `manager.chat` (the HTTP chat routes are tested on their own).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import redactEmails from '../../examples/plugins/redact-emails.plugin.ts';
import { defineMessageProcessor, type PluginStatus } from '../../src/index.ts';
import { chatRequest, createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';
import { adminCall, CapturingLogger } from './admin-support.ts';

const TOKEN = 'admin-token-for-plugin-tests';

/** Throws while `failing` is set: drives its circuit breaker open. */
const flaky = { failing: false, calls: 0 };
const flakyProcessor = defineMessageProcessor({
  metadata: { name: 'flaky', version: '1.0.0' },
  direction: 'input',
  processMessage(message) {
    flaky.calls++;
    if (flaky.failing) throw new Error('flaky is failing');
    return message;
  },
});

const brokenProcessor = defineMessageProcessor({
  metadata: { name: 'broken', version: '1.0.0' },
  initialize() {
    throw new Error('cannot start');
  },
  processMessage: (message) => message,
});

const dormantProcessor = defineMessageProcessor({
  metadata: { name: 'dormant', version: '1.0.0' },
  processMessage: (message) => message,
});

interface PluginAnswer {
  plugin: string;
  action: string;
  changed: boolean;
  status: PluginStatus;
}
interface ErrorAnswer {
  error: { code: string; message: string; plugin?: string; request_id: string };
}

describe('admin API: plugin actions', () => {
  let server: TestServer;
  const logger = new CapturingLogger();
  const call = (method: 'GET' | 'POST', path: string) => adminCall(server.url, TOKEN, method, path);
  const ask = async (text: string) => (await server.manager.chat(chatRequest(text))).message.content;
  const state = (name: string) => server.manager.getPluginStatus().plugins[name]?.state;

  before(async () => {
    server = await startTestServer(
      [
        createScriptedBackend(),
        redactEmails,
        [flakyProcessor, { failurePolicy: 'open' }],
        brokenProcessor,
        [dormantProcessor, { enabled: false }],
      ],
      {
        settings: { adminToken: TOKEN },
        logger,
        manager: { circuitBreaker: { enabled: true, failureThreshold: 2, halfOpenAfterMs: 3_600_000 } },
      },
    );
  });
  after(() => server.close());

  test('disable takes the processor out of the pipeline; enable puts it back', async () => {
    assert.equal(await ask('write to ann@example.com'), 'You said: write to [email]');

    const disabled = await call('POST', '/admin/plugins/redact-emails/disable');
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    const off = disabled.body as unknown as PluginAnswer;
    assert.equal(off.plugin, 'redact-emails');
    assert.equal(off.action, 'disable');
    assert.equal(off.changed, true);
    assert.equal(off.status.state, 'PAUSED');
    assert.match(off.status.transitions.at(-1)?.reason ?? '', /admin API \(request .+\)/);
    assert.equal(state('redact-emails'), 'PAUSED');
    assert.equal(await ask('write to ann@example.com'), 'You said: write to ann@example.com');

    const enabled = await call('POST', '/admin/plugins/redact-emails/enable');
    assert.equal(enabled.status, 200, JSON.stringify(enabled.body));
    const on = enabled.body as unknown as PluginAnswer;
    assert.equal(on.changed, true);
    assert.equal(on.status.state, 'ACTIVE');
    assert.equal(await ask('write to ann@example.com'), 'You said: write to [email]');
  });

  test('disable and enable are idempotent: a second call changes nothing and says so', async () => {
    assert.equal((await call('POST', '/admin/plugins/redact-emails/disable')).status, 200);
    const again = await call('POST', '/admin/plugins/redact-emails/disable');
    assert.equal(again.status, 200);
    assert.equal((again.body as unknown as PluginAnswer).changed, false);
    assert.equal((again.body as unknown as PluginAnswer).status.state, 'PAUSED');

    assert.equal((await call('POST', '/admin/plugins/redact-emails/enable')).status, 200);
    const twice = await call('POST', '/admin/plugins/redact-emails/enable');
    assert.equal(twice.status, 200);
    assert.equal((twice.body as unknown as PluginAnswer).changed, false);
    assert.equal(state('redact-emails'), 'ACTIVE');
  });

  test('a plugin in ERROR cannot be enabled or disabled: 409 saying why', async () => {
    assert.equal(state('broken'), 'ERROR');
    for (const action of ['enable', 'disable']) {
      const answer = await call('POST', `/admin/plugins/broken/${action}`);
      assert.equal(answer.status, 409, `${action}: ${JSON.stringify(answer.body)}`);
      const { error } = answer.body as unknown as ErrorAnswer;
      assert.equal(error.code, 'ILLEGAL_STATE_TRANSITION');
      assert.equal(error.plugin, 'broken');
      assert.match(error.message, new RegExp(`Cannot ${action} plugin "broken" in state ERROR`));
    }
    assert.match(
      ((await call('POST', '/admin/plugins/broken/enable')).body as unknown as ErrorAnswer).error.message,
      /cannot start.*POST \/admin\/plugins\/broken\/reload/,
    );
    assert.equal(state('broken'), 'ERROR');
  });

  test('a plugin disabled by configuration is not enabled by the admin API (409); disabling it changes nothing', async () => {
    assert.equal(state('dormant'), 'LOADED');
    const enable = await call('POST', '/admin/plugins/dormant/enable');
    assert.equal(enable.status, 409);
    assert.match((enable.body as unknown as ErrorAnswer).error.message, /disabled in the configuration.*enabled: true/);
    const disable = await call('POST', '/admin/plugins/dormant/disable');
    assert.equal(disable.status, 200);
    assert.equal((disable.body as unknown as PluginAnswer).changed, false);
    assert.equal(state('dormant'), 'LOADED');
  });

  test('breaker reset: failures open the circuit (status shows it), reset closes it and calls resume', async () => {
    flaky.failing = true;
    try {
      await ask('one');
      await ask('two');
    } finally {
      flaky.failing = false;
    }
    assert.equal(server.manager.getPluginStatus().plugins.flaky?.breaker.state, 'open');
    const callsWhileOpen = flaky.calls;
    await ask('three');
    assert.equal(flaky.calls, callsWhileOpen, 'an open circuit skips the plugin');

    const reset = await call('POST', '/admin/plugins/flaky/breaker/reset');
    assert.equal(reset.status, 200, JSON.stringify(reset.body));
    const answer = reset.body as unknown as PluginAnswer;
    assert.equal(answer.action, 'breaker-reset');
    assert.equal(answer.changed, true);
    assert.equal(answer.status.breaker.state, 'closed');
    assert.equal(server.manager.getPluginStatus().plugins.flaky?.breaker.state, 'closed');
    await ask('four');
    assert.equal(flaky.calls, callsWhileOpen + 1, 'the plugin is called again');

    const again = await call('POST', '/admin/plugins/flaky/breaker/reset');
    assert.equal(again.status, 200);
    assert.equal((again.body as unknown as PluginAnswer).changed, false, 'a closed breaker: nothing to reset');
  });

  test('unknown plugins are 404 PLUGIN_NOT_FOUND for every action (names of Object.prototype too)', async () => {
    for (const name of ['nope', 'constructor', '__proto__', 'toString']) {
      for (const action of ['disable', 'enable', 'breaker/reset']) {
        const answer = await call('POST', `/admin/plugins/${encodeURIComponent(name)}/${action}`);
        assert.equal(answer.status, 404, `${name} ${action}: ${JSON.stringify(answer.body)}`);
        const { error } = answer.body as unknown as ErrorAnswer;
        assert.equal(error.code, 'PLUGIN_NOT_FOUND');
        assert.equal(error.plugin, name);
      }
    }
  });

  test('reloads and the config view need a config runtime: 501 NOT_IMPLEMENTED', async () => {
    for (const [method, path] of [
      ['POST', '/admin/reload'],
      ['POST', '/admin/plugins/redact-emails/reload'],
      ['GET', '/admin/config'],
    ] as const) {
      const answer = await call(method, path);
      assert.equal(answer.status, 501, `${method} ${path}`);
      const { error } = answer.body as unknown as ErrorAnswer;
      assert.equal(error.code, 'NOT_IMPLEMENTED');
      assert.match(error.message, /does not run from a configuration file/);
    }
  });

  test('every action is logged with operation, plugin, outcome and the request id', async () => {
    const mark = logger.lines.length;
    const disable = await call('POST', '/admin/plugins/redact-emails/disable');
    const enable = await call('POST', '/admin/plugins/redact-emails/enable');
    const conflict = await call('POST', '/admin/plugins/broken/enable');
    const missing = await call('POST', '/admin/plugins/nope/breaker/reset');
    const reload = await call('POST', '/admin/reload');

    const expectLine = (
      operation: string,
      answer: { headers: Headers },
      fields: Record<string, unknown>,
      level: string,
    ): void => {
      const requestId = answer.headers.get('x-request-id');
      const line = logger.of(operation, mark).find((candidate) => candidate.request_id === requestId);
      assert.ok(line, `a ${operation} line for request ${requestId}`);
      assert.equal(line.level, level);
      for (const [key, value] of Object.entries(fields)) assert.equal(line[key], value, `${operation}.${key}`);
    };
    expectLine(
      'admin_plugin_disable',
      disable,
      { plugin: 'redact-emails', outcome: 'applied', success: true, from: 'ACTIVE', to: 'PAUSED' },
      'info',
    );
    expectLine('admin_plugin_enable', enable, { plugin: 'redact-emails', outcome: 'applied', success: true }, 'info');
    expectLine(
      'admin_plugin_enable',
      conflict,
      { plugin: 'broken', outcome: 'refused', success: false, error: 'ILLEGAL_STATE_TRANSITION' },
      'warn',
    );
    expectLine(
      'admin_breaker_reset',
      missing,
      { plugin: 'nope', outcome: 'refused', error: 'PLUGIN_NOT_FOUND' },
      'warn',
    );
    expectLine('admin_reload', reload, { outcome: 'refused', error: 'NOT_IMPLEMENTED' }, 'warn');
  });
});
