/**
 * The web UI's address at start, and the development admin token: `plugboard serve` (serve()
 * with `devAdminToken`) in development mode with no admin token configured makes one per start
 * and logs `Web UI: http://…/#token=<token>` once — the admin API works with it; in production
 * (or with a token configured, or the UI off, or without the option) nothing is generated and
 * the line, when the UI is on, is the plain address. Only on a loopback address: a server the
 * network can reach gets no token (and a warning) — its admin API stays closed.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { type RunningPlugboard, serve } from '../../src/server/serve.ts';
import { devAdminTokenDecision, isLoopbackHost } from '../../src/server/ui/dev-admin-token.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';
import { CapturingLogger } from './admin-support.ts';

const CONFIGURED = 'configured-admin-token-0123456789';

let fixture: RuntimeFixture | undefined;
const running: RunningPlugboard[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.stop();
  await fixture?.dispose();
  fixture = undefined;
});

/** Starts on a config of `mode` (the UI on unless `ui: false`); answers the server and its log. */
async function start(
  mode: 'development' | 'production',
  options: { ui?: boolean; env?: Record<string, string>; devAdminToken?: boolean } = {},
): Promise<{ server: RunningPlugboard; logger: CapturingLogger }> {
  fixture ??= new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-dev-token-'));
  await fixture.write(
    'config.yaml',
    stringify({
      mode,
      // Keep the test light: no file watcher, no discovery (development turns both on).
      plugin_manager: { enable_hot_reload: false, discover: false },
      ...(options.ui === undefined ? {} : { server: { ui: options.ui } }),
    }),
  );
  const logger = new CapturingLogger();
  const server = await serve({
    configFile: fixture.file,
    env: options.env ?? {},
    host: '127.0.0.1',
    port: 0,
    handleSignals: false,
    logger,
    devAdminToken: options.devAdminToken ?? true,
  });
  running.push(server);
  return { server, logger };
}

function webUiLines(logger: CapturingLogger): string[] {
  return logger.of('web_ui').map((line) => String(line.message));
}

function adminStatus(server: RunningPlugboard, token: string): Promise<number> {
  return fetch(`${server.url}/admin/config`, { headers: { authorization: `Bearer ${token}` } }).then(
    (response) => response.status,
  );
}

describe('the development admin token', () => {
  test('development, no token: one is made, logged once in the UI address’s fragment, and opens the admin API', async () => {
    const { server, logger } = await start('development');
    const lines = webUiLines(logger);
    assert.equal(lines.length, 1, 'one Web UI line');
    const match = /^Web UI: (http:\/\/127\.0\.0\.1:\d+)\/#token=([A-Za-z0-9_-]{32})$/.exec(lines[0]!);
    assert.ok(match, `the line gives the address and the token: ${lines[0]}`);
    assert.equal(match[1], server.url);
    const token = match[2]!;
    assert.equal(await adminStatus(server, token), 200);
    assert.equal(await adminStatus(server, 'not-the-generated-token-000'), 401);
    const [line] = logger.of('web_ui');
    assert.equal(line?.url, `${server.url}/`, 'the structured field has the address without the token');
    assert.equal(line?.generated_admin, true);
    const mentions = logger.lines.filter((entry) => JSON.stringify(entry).includes(token));
    assert.equal(mentions.length, 1, 'the token is in that one line only');
  });

  test('a new token at every start', async () => {
    const first = await start('development');
    const second = await start('development');
    const tokenOf = (logger: CapturingLogger) => /#token=(.+)$/.exec(webUiLines(logger)[0] ?? '')?.[1];
    assert.ok(tokenOf(first.logger) && tokenOf(second.logger), 'both starts made one');
    assert.notEqual(tokenOf(first.logger), tokenOf(second.logger));
  });

  test('production: no token is made; the address is logged plain and the admin API stays closed', async () => {
    const { server, logger } = await start('production');
    assert.deepEqual(webUiLines(logger), [`Web UI: ${server.url}/`]);
    assert.equal(logger.of('web_ui')[0]?.generated_admin, false);
    assert.equal(await adminStatus(server, 'any-token-at-all-0123456789'), 401);
  });

  test('development with a token configured: that token, none made', async () => {
    const { server, logger } = await start('development', { env: { PLUGBOARD_ADMIN_TOKEN: CONFIGURED } });
    assert.deepEqual(webUiLines(logger), [`Web UI: ${server.url}/`]);
    assert.equal(await adminStatus(server, CONFIGURED), 200);
  });

  test('the UI off, or serve() without the option: no token, and no Web UI line when the UI is off', async () => {
    const off = await start('development', { ui: false });
    assert.deepEqual(webUiLines(off.logger), []);
    assert.equal(await adminStatus(off.server, 'any-token-at-all-0123456789'), 401);
    const plain = await start('development', { devAdminToken: false });
    assert.deepEqual(webUiLines(plain.logger), [`Web UI: ${plain.server.url}/`]);
    assert.equal(await adminStatus(plain.server, 'any-token-at-all-0123456789'), 401);
  });
});

describe('only on a loopback address', () => {
  test('loopback addresses are told from the ones the network can reach', () => {
    for (const host of [
      '127.0.0.1',
      '127.8.9.10',
      'localhost',
      'LOCALHOST',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
    ]) {
      assert.ok(isLoopbackHost(host), `${host} is loopback`);
    }
    for (const host of [
      '0.0.0.0',
      '::',
      '[::]',
      '192.168.1.10',
      '10.0.0.1',
      '::2',
      'example.com',
      '128.0.0.1',
      '::ffff:10.0.0.1',
    ]) {
      assert.ok(!isLoopbackHost(host), `${host} is not loopback`);
    }
  });

  test('development, no token, but a non-loopback address: no token is made, and the caller is told why', () => {
    const base = { wanted: true, ui: true, mode: 'development', configured: false };
    assert.equal(devAdminTokenDecision({ ...base, host: '127.0.0.1' }), 'make');
    assert.equal(devAdminTokenDecision({ ...base, host: '0.0.0.0' }), 'not-loopback');
    assert.equal(devAdminTokenDecision({ ...base, host: '192.168.1.10' }), 'not-loopback');
    assert.equal(devAdminTokenDecision({ ...base, host: '0.0.0.0', configured: true }), 'not-wanted');
    assert.equal(devAdminTokenDecision({ ...base, host: '0.0.0.0', mode: 'production' }), 'not-wanted');
  });

  test('serve() on a non-loopback address makes no token and warns that the admin API stays closed', async () => {
    // 192.0.2.1 (TEST-NET-1) is assigned to no interface: the listen fails, after the decision,
    // so nothing is ever reachable from the network.
    fixture ??= new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-dev-token-'));
    await fixture.write(
      'config.yaml',
      stringify({ mode: 'development', plugin_manager: { enable_hot_reload: false, discover: false } }),
    );
    const logger = new CapturingLogger();
    await assert.rejects(
      serve({
        configFile: fixture.file,
        env: {},
        host: '192.0.2.1',
        port: 0,
        handleSignals: false,
        logger,
        devAdminToken: true,
      }),
      'the listen on an address of no interface fails',
    );
    const lines = logger.of('web_ui');
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0]?.generated_admin, false);
    assert.match(
      String(lines[0]?.message),
      /listens on 192\.0\.2\.1.*admin API .*stays closed until server\.admin_token/,
    );
    assert.ok(!JSON.stringify(logger.lines).includes('#token='), 'no token anywhere in the log');
  });
});
