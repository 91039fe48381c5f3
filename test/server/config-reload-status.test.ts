/**
 * What a configuration reload left behind, where an operator looks: `GET /plugins` and
 * `GET /health` carry `config.lastReload` — when, whether it applied, and for a refused file
 * the error with its code, message, file and line — cleared by the next reload that applies.
 * `/health` stays 200 while the running configuration is fine. And a plugin whose entry was
 * refused (its `lastError` says why) loses that error once a reload finds its entry valid
 * again, even when the valid entry is the one already running (nothing to re-apply).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { createSilentLogger } from '../../src/index.ts';
import { type RunningPlugboard, serve } from '../../src/server/serve.ts';
import { ECHO_BACKEND_SOURCE, PLUGBOARD_SRC } from '../support/plugin-sources.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';

/** An input processor `a` whose config `tag` must be a string (a hand-written Standard Schema). */
const PROCESSOR_SOURCE = `
import { defineMessageProcessor, withContent } from ${JSON.stringify(PLUGBOARD_SRC)};
const schema = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: (value) =>
      value && value.tag !== undefined && typeof value.tag !== 'string'
        ? { issues: [{ message: 'tag must be a string', path: ['tag'] }] }
        : { value },
  },
};
export default defineMessageProcessor({
  metadata: { name: 'a', version: '1.0.0', configSchema: schema },
  direction: 'input',
  processMessage: (message) => withContent(message, message.content + '[a]'),
});
`;

interface LastReload {
  readonly at: string;
  readonly ok: boolean;
  readonly error?: { code: string; message: string; file?: string; line?: number };
  readonly refused?: readonly { plugin: string; code: string; message: string }[];
}
interface WithConfig {
  readonly config?: { readonly file?: string; readonly lastReload?: LastReload };
}

class Fixture extends RuntimeFixture {
  running: RunningPlugboard | undefined;

  config(entry: Record<string, unknown> = {}): Promise<void> {
    return this.write(
      'config.yaml',
      stringify({
        mode: 'staging',
        plugin_manager: { enable_hot_reload: false },
        backends: { echo: { plugin_file: 'echo.plugin.ts' } },
        message_processors: { a: { plugin_file: 'a.plugin.ts', ...entry } },
      }),
    );
  }

  async get(path: string): Promise<{ status: number; body: WithConfig & Record<string, unknown> }> {
    const response = await fetch(`${this.running!.url}${path}`);
    return { status: response.status, body: (await response.json()) as WithConfig & Record<string, unknown> };
  }

  override async dispose(): Promise<void> {
    await this.running?.stop();
    await super.dispose();
  }
}

let fixture: Fixture | undefined;
async function setUp(): Promise<Fixture> {
  fixture = new Fixture(await RuntimeFixture.tempDir('plugboard-reload-status-'));
  await fixture.write('echo.plugin.ts', ECHO_BACKEND_SOURCE);
  await fixture.write('a.plugin.ts', PROCESSOR_SOURCE);
  await fixture.config();
  fixture.running = await serve({
    configFile: fixture.file,
    env: {},
    port: 0,
    host: '127.0.0.1',
    handleSignals: false,
    logger: createSilentLogger(),
  });
  return fixture;
}
afterEach(async () => {
  await fixture?.dispose();
  fixture = undefined;
});

describe('the last config reload in GET /plugins and GET /health', () => {
  test('a refused file is shown with code, message, file and line; a reload that applies clears it', async () => {
    const f = await setUp();
    const runtime = f.running!.runtime;
    const before = await f.get('/plugins');
    assert.equal(before.body.config?.file, f.file);
    assert.equal(before.body.config?.lastReload, undefined, 'no reload yet');

    await f.write('config.yaml', 'mode: staging\nbackends:\n  echo: { plugin_file: echo.plugin.ts\n');
    const started = Date.now();
    const refused = await runtime.reload();
    assert.equal(refused.applied.length, 0);

    for (const path of ['/plugins', '/health']) {
      const { status, body } = await f.get(path);
      assert.equal(status, 200, `${path} stays 200: the running configuration is fine`);
      const last = body.config?.lastReload;
      assert.equal(last?.ok, false, `${path}: ${JSON.stringify(body.config)}`);
      assert.ok(Date.parse(last?.at ?? '') >= started - 1000, `${path}: at ${last?.at}`);
      assert.equal(last?.error?.code, 'CONFIG_INVALID');
      assert.equal(last?.error?.file, f.file);
      assert.equal(typeof last?.error?.line, 'number', `${path}: the line of the syntax error`);
      assert.ok((last?.error?.message ?? '').length > 0);
    }

    await f.config();
    const fixed = await runtime.reload();
    assert.deepEqual(fixed.refused, []);
    for (const path of ['/plugins', '/health']) {
      const last = (await f.get(path)).body.config?.lastReload;
      assert.equal(last?.ok, true, `${path}: ${JSON.stringify(last)}`);
      assert.equal(last?.error, undefined, `${path}: the error is cleared`);
      assert.equal(last?.refused, undefined);
    }
  });

  test('refused entries are listed; a plugin whose entry is valid again loses its config lastError', async () => {
    const f = await setUp();
    const runtime = f.running!.runtime;
    const lastErrorOf = () => runtime.manager.getPluginStatus().plugins.a?.lastError;

    // An invalid entry (a priority that does not exist): refused, the running version stays.
    await f.config({ priority: 'HIGHEST' });
    await runtime.reload();
    assert.equal(lastErrorOf()?.code, 'CONFIG_INVALID');
    const listed = (await f.get('/plugins')).body.config?.lastReload;
    assert.equal(listed?.ok, false);
    assert.equal(listed?.refused?.[0]?.plugin, 'a', JSON.stringify(listed));
    assert.equal(listed?.refused?.[0]?.code, 'CONFIG_INVALID');
    assert.match(listed?.refused?.[0]?.message ?? '', /priority/);

    // Fixed back to the entry that runs: nothing to apply, but the error is gone.
    await f.config();
    await runtime.reload();
    assert.equal(lastErrorOf(), undefined, JSON.stringify(lastErrorOf()));
    assert.equal((await f.get('/plugins')).body.config?.lastReload?.ok, true);

    // The same for a config its plugin's schema rejects.
    await f.config({ config: { tag: 7 } });
    await runtime.reload();
    assert.equal(lastErrorOf()?.code, 'PLUGIN_CONFIG_INVALID');
    await f.config();
    await runtime.reload();
    assert.equal(lastErrorOf(), undefined, JSON.stringify(lastErrorOf()));
    const status = (await f.get('/plugins')).body as { plugins: Record<string, { lastError?: unknown }> };
    assert.equal(status.plugins.a?.lastError, undefined);
  });
});
