// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` in plain strings is the configuration syntax
/**
 * Admin API on a server run from a configuration file (`serve()`): the effective
 * configuration with secrets redacted, configuration reloads (a priority swap and an added
 * plugin apply and are reported; a broken file is refused and reported), reloading one
 * plugin's code (applied; broken code refused with the running version kept; unknown → 404),
 * and the admin token taken from PLUGBOARD_ADMIN_TOKEN.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { PluginStatus } from '../../src/index.ts';
import type { RunningPlugboard } from '../../src/server/serve.ts';
import { chatRequest } from '../../src/testing/index.ts';
import { ECHO_BACKEND_SOURCE } from '../support/plugin-sources.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';
import { adminCall } from './admin-support.ts';

const SRC = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
const TOKEN = 'config-file-admin-token-0123';
const SECRET = 'sk-live-do-not-print-4242';

/** An input processor appending `[name:code]`. */
const processorSource = (name: string, code: string) => `
import { defineMessageProcessor, withContent } from ${JSON.stringify(SRC)};
export default defineMessageProcessor({
  metadata: { name: ${JSON.stringify(name)}, version: '1.0.0' },
  direction: 'input',
  processMessage: (message) => withContent(message, message.content + '[${name}:${code}]'),
});
`;

const ECHO_SOURCE = ECHO_BACKEND_SOURCE;

type Processors = Record<string, { priority?: string; config?: Record<string, unknown> }>;

class Fixture extends RuntimeFixture {
  running: RunningPlugboard | undefined;

  static async create(): Promise<Fixture> {
    const fixture = new Fixture(await RuntimeFixture.tempDir('plugboard-admin-'));
    await fixture.write('echo.plugin.ts', ECHO_SOURCE);
    return fixture;
  }

  processor(name: string, code = 'v1'): Promise<void> {
    return this.write(`${name}.plugin.ts`, processorSource(name, code));
  }

  config(processors: Processors, server: Record<string, unknown> = { admin_token: TOKEN }): Promise<void> {
    return this.write(
      'config.yaml',
      stringify({
        mode: 'staging',
        plugin_manager: { enable_hot_reload: false },
        server,
        backends: { echo: { plugin_file: 'echo.plugin.ts' } },
        message_processors: Object.fromEntries(
          Object.entries(processors).map(([name, entry]) => [name, { plugin_file: `${name}.plugin.ts`, ...entry }]),
        ),
      }),
    );
  }

  /** Serves with `env` as the environment, and keeps the server for `call`. */
  override async serve(options: { env?: Record<string, string> } = {}): Promise<RunningPlugboard> {
    this.running = await super.serve(options);
    return this.running;
  }

  call(method: 'GET' | 'POST', path: string, token = TOKEN) {
    return adminCall(this.running!.url, token, method, path);
  }

  async ask(text = 'hi'): Promise<string> {
    return (await this.running!.runtime.manager.chat(chatRequest(text))).message.content;
  }

  override async dispose(): Promise<void> {
    await this.running?.stop();
    await super.dispose();
  }
}

let fixture: Fixture | undefined;
async function setUp(): Promise<Fixture> {
  fixture = await Fixture.create();
  return fixture;
}
afterEach(async () => {
  await fixture?.dispose();
  fixture = undefined;
});

interface ReloadAnswer {
  file: string;
  snapshotVersion: number;
  applied: string[];
  refused: { plugin: string; code: string; message: string }[];
  issues: string[];
}
interface ErrorAnswer {
  error: { code: string; message: string; plugin?: string };
}

describe('admin API: configuration', () => {
  test('GET /admin/config answers the effective configuration and its file, secrets redacted', async () => {
    const f = await setUp();
    await f.processor('a');
    await f.config({ a: { config: { api_key: '${A_KEY}', region: 'eu', nested: { password: 'hunter2hunter2' } } } });
    await f.serve({ env: { A_KEY: SECRET } });

    const { status, body } = await f.call('GET', '/admin/config');
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.file, f.file);
    const config = body.config as {
      mode: string;
      server: { admin_token: string };
      plugins: { name: string; config: Record<string, unknown> }[];
    };
    assert.equal(config.mode, 'staging');
    const a = config.plugins.find((entry) => entry.name === 'a');
    assert.ok(a, 'the plugin entry is listed');
    assert.equal(a.config.api_key, '[redacted]');
    assert.equal(a.config.region, 'eu', 'ordinary values are shown');
    assert.deepEqual(a.config.nested, { password: '[redacted]' });
    assert.equal(config.server.admin_token, '[redacted]');
    const text = JSON.stringify(body);
    for (const secret of [SECRET, TOKEN, 'hunter2hunter2']) assert.ok(!text.includes(secret), `${secret} not shown`);
    assert.equal(await f.ask(), 'hi[a:v1]', 'the plugin itself still gets the real value');
    assert.equal(f.running!.runtime.config.plugins.find((entry) => entry.name === 'a')?.config.api_key, SECRET);
  });

  test('the token can come from PLUGBOARD_ADMIN_TOKEN; without one anywhere, /admin refuses every request', async () => {
    const f = await setUp();
    await f.processor('a');
    await f.config({ a: {} }, {});
    const envToken = 'token-from-the-environment';
    await f.serve({ env: { PLUGBOARD_ADMIN_TOKEN: envToken } });
    assert.equal((await f.call('GET', '/admin/config', envToken)).status, 200);
    assert.equal((await f.call('GET', '/admin/config', TOKEN)).status, 401);
    await f.running!.stop();

    await f.serve();
    const missing = await f.call('GET', '/admin/config', envToken);
    assert.equal(missing.status, 401);
    assert.equal((missing.body as unknown as ErrorAnswer).error.code, 'UNAUTHORIZED');
  });
});

describe('admin API: POST /admin/reload', () => {
  test('a priority swap and an added plugin are applied and reported', async () => {
    const f = await setUp();
    await f.processor('a');
    await f.processor('b');
    await f.processor('c');
    await f.config({ a: { priority: 'HIGH' }, b: { priority: 'LOW' } });
    await f.serve();
    assert.equal(await f.ask(), 'hi[a:v1][b:v1]');
    const before = f.running!.runtime.manager.getPluginStatus().snapshotVersion;

    await f.config({ a: { priority: 'LOW' }, b: { priority: 'HIGH' }, c: { priority: 'LOW' } });
    const { status, body } = await f.call('POST', '/admin/reload');
    assert.equal(status, 200, JSON.stringify(body));
    const report = body as unknown as ReloadAnswer;
    assert.deepEqual([...report.applied].sort(), ['a', 'b', 'c']);
    assert.deepEqual(report.refused, []);
    assert.deepEqual(report.issues, []);
    assert.equal(report.file, f.file);
    assert.ok(report.snapshotVersion > before);
    assert.equal(await f.ask(), 'hi[b:v1][a:v1][c:v1]');
  });

  test('a file that cannot be used is refused and reported; the running configuration stays', async () => {
    const f = await setUp();
    await f.processor('a');
    await f.config({ a: {} });
    await f.serve();
    await f.write('config.yaml', 'message_processors: [ this is: not yaml');

    const { status, body } = await f.call('POST', '/admin/reload');
    assert.equal(status, 200, JSON.stringify(body));
    const report = body as unknown as ReloadAnswer;
    assert.deepEqual(report.applied, []);
    assert.equal(report.refused.length, 1);
    assert.equal(report.refused[0]?.plugin, '(config)');
    assert.equal(report.refused[0]?.code, 'CONFIG_INVALID');
    assert.match(report.refused[0]?.message ?? '', /YAML/);
    assert.ok(report.issues.length > 0, 'the issues are listed');
    assert.equal(await f.ask(), 'hi[a:v1]');
  });

  test('an entry with an unknown key is refused with its code and message; the others apply', async () => {
    const f = await setUp();
    await f.processor('a');
    await f.processor('b');
    await f.config({ a: {}, b: {} });
    await f.serve();
    await f.write(
      'config.yaml',
      stringify({
        mode: 'staging',
        plugin_manager: { enable_hot_reload: false },
        server: { admin_token: TOKEN },
        backends: { echo: { plugin_file: 'echo.plugin.ts' } },
        message_processors: {
          a: { plugin_file: 'a.plugin.ts', priority: 'LOW' },
          b: { plugin_file: 'b.plugin.ts', priorty: 'HIGH' },
        },
      }),
    );
    const report = (await f.call('POST', '/admin/reload')).body as unknown as ReloadAnswer;
    assert.deepEqual(report.applied, ['a']);
    assert.deepEqual(
      report.refused.map((refusal) => [refusal.plugin, refusal.code]),
      [['b', 'CONFIG_INVALID']],
    );
    assert.match(report.refused[0]?.message ?? '', /priorty/);
    assert.equal(await f.ask(), 'hi[b:v1][a:v1]');
  });
});

describe('admin API: POST /admin/plugins/:name/reload', () => {
  test("picks up the plugin's changed code and answers its status", async () => {
    const f = await setUp();
    await f.processor('a');
    await f.processor('b');
    await f.config({ a: {}, b: {} });
    await f.serve();
    assert.equal(await f.ask(), 'hi[a:v1][b:v1]');

    await f.processor('a', 'v2');
    await f.processor('b', 'v2');
    const { status, body } = await f.call('POST', '/admin/plugins/a/reload');
    assert.equal(status, 200, JSON.stringify(body));
    const answer = body as unknown as {
      plugin: string;
      changed: boolean;
      snapshotVersion: number;
      status: PluginStatus;
    };
    assert.equal(answer.plugin, 'a');
    assert.equal(answer.changed, true);
    assert.equal(answer.status.state, 'ACTIVE');
    assert.equal(answer.snapshotVersion, f.running!.runtime.manager.getPluginStatus().snapshotVersion);
    assert.equal(await f.ask(), 'hi[a:v2][b:v1]', 'only that plugin was reloaded');
  });

  test('a plugin disabled through the admin API comes back ACTIVE after a plugin reload', async () => {
    const f = await setUp();
    await f.processor('a');
    await f.config({ a: {} });
    await f.serve();
    assert.equal((await f.call('POST', '/admin/plugins/a/disable')).status, 200);
    assert.equal(await f.ask(), 'hi');
    const { body } = await f.call('POST', '/admin/plugins/a/reload');
    assert.equal((body as unknown as { status: PluginStatus }).status.state, 'ACTIVE');
    assert.equal(await f.ask(), 'hi[a:v1]');
  });

  test('broken code is refused with its error; the running version keeps serving', async () => {
    const f = await setUp();
    await f.processor('a');
    await f.config({ a: {} });
    await f.serve();
    await f.write('a.plugin.ts', 'export default ((( nope');

    const { status, body } = await f.call('POST', '/admin/plugins/a/reload');
    assert.equal(status, 500);
    const { error } = body as unknown as ErrorAnswer;
    assert.equal(error.code, 'PLUGIN_MODULE_LOAD_FAILED');
    assert.equal(error.plugin, 'a');
    assert.match(error.message, /reload of plugin "a" was refused; the running version \(if any\) stays/);
    assert.equal(await f.ask(), 'hi[a:v1]');
    assert.equal(f.running!.runtime.manager.getPluginStatus().plugins.a?.state, 'ACTIVE');
  });

  test('an unknown plugin is 404 PLUGIN_NOT_FOUND', async () => {
    const f = await setUp();
    await f.processor('a');
    await f.config({ a: {} });
    await f.serve();
    for (const name of ['nope', 'constructor']) {
      const { status, body } = await f.call('POST', `/admin/plugins/${name}/reload`);
      assert.equal(status, 404, JSON.stringify(body));
      assert.equal((body as unknown as ErrorAnswer).error.code, 'PLUGIN_NOT_FOUND');
    }
  });
});
