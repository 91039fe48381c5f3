// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` in plain strings is the configuration syntax under test
/**
 * The configuration side of the core seams: first-party plugins by name (the spec's §8.2
 * example as written), FR-2 discovery with hot reload, shared connections named in the file
 * and used by several plugins, change detection that ignores key order, an empty file that a
 * reload refuses, and a start-up log that says what hot reload watches.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chatRequest } from '../../src/testing/index.ts';
import { captureLogs } from '../server/observability-support.ts';
import { ECHO_BACKEND_SOURCE, PLUGBOARD_SRC } from '../support/plugin-sources.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';

const fixtures: RuntimeFixture[] = [];
afterEach(async () => {
  for (const fixture of fixtures.splice(0)) await fixture.dispose();
});

async function fixture(): Promise<RuntimeFixture> {
  const made = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-seams-'));
  fixtures.push(made);
  return made;
}

/** A hooks-only plugin that tags responses, named `name`. */
const tagger = (name: string) => `
import { definePlugin } from ${JSON.stringify(PLUGBOARD_SRC)};
export default definePlugin({ metadata: { name: ${JSON.stringify(name)}, version: '1.0.0' }, onRequestEnd() {} });
`;

/** Waits until `check` holds (hot reload is asynchronous), or fails after `ms`. */
async function eventually(check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) assert.fail('the condition did not hold in time');
    await sleep(25);
  }
}

describe('built-in plugins by name', () => {
  test('the spec’s §8.2 example loads as written: the built-in openai backend, its keys accepted', async () => {
    const made = await fixture();
    await made.write(
      'config.yaml',
      [
        'mode: staging',
        'backends:',
        '  openai:',
        '    config:',
        '      api_key: "${OPENAI_API_KEY}"',
        '      model: "${OPENAI_MODEL:gpt-4}"',
        '      timeout: "${OPENAI_TIMEOUT:60}"',
      ].join('\n'),
    );
    const runtime = await made.start({ env: { OPENAI_API_KEY: 'sk-test' } });
    const status = runtime.manager.getPluginStatus().plugins.openai!;
    assert.equal(status.state, 'ACTIVE', JSON.stringify(status.lastError));
    assert.equal(status.source, fileURLToPath(new URL('../../plugins/openai/openai.plugin.ts', import.meta.url)));
  });
});

describe('discovery (FR-2)', () => {
  test('unnamed plugin files load with defaults, named ones are left to their entry, bad ones are reported', async () => {
    const made = await fixture();
    await made.write('echo.plugin.ts', ECHO_BACKEND_SOURCE);
    await made.write('extra.plugin.ts', tagger('extra'));
    await made.write('broken.plugin.ts', 'export default { metadata: { name: "broken" } };');
    await made.write('config.yaml', 'backends:\n  echo:\n    plugin_file: echo.plugin.ts\n    priority: HIGH\n');
    const logs = captureLogs();
    const runtime = await made.start({ logger: logs.logger });
    const status = runtime.manager.getPluginStatus();
    assert.deepEqual(Object.keys(status.plugins).sort(), ['echo', 'extra']);
    assert.equal(status.plugins.echo?.priority, 'HIGH', 'the entry, not discovery, loaded echo');
    assert.deepEqual(runtime.discovered, ['extra']);
    assert.ok(status.loadErrors.some((problem) => problem.path.endsWith('broken.plugin.ts')));
    const line = logs.lines().find((entry) => entry.operation === 'discover');
    assert.deepEqual(line?.plugins, ['extra']);
    assert.equal((await runtime.manager.chat(chatRequest('hi'))).message.content, 'hi');
  });

  test('with hot reload, a plugin file dropped in is loaded, and removed when deleted', async () => {
    const made = await fixture();
    await made.write('echo.plugin.ts', ECHO_BACKEND_SOURCE);
    await made.write(
      'config.yaml',
      'plugin_manager:\n  reload_debounce: 0.05\nbackends:\n  echo:\n    plugin_file: echo.plugin.ts\n',
    );
    const runtime = await made.start();
    const plugins = () => Object.keys(runtime.manager.getPluginStatus().plugins).sort();
    assert.deepEqual(plugins(), ['echo']);
    await made.write('late.plugin.ts', tagger('late'));
    await eventually(() => plugins().includes('late'));
    await rm(join(made.dir, 'late.plugin.ts'));
    await eventually(() => !plugins().includes('late'));
  });

  test('production mode does not discover', async () => {
    const made = await fixture();
    await made.write('echo.plugin.ts', ECHO_BACKEND_SOURCE);
    await made.write('extra.plugin.ts', tagger('extra'));
    await made.write('config.yaml', 'mode: production\nbackends:\n  echo:\n    plugin_file: echo.plugin.ts\n');
    const runtime = await made.start();
    assert.deepEqual(Object.keys(runtime.manager.getPluginStatus().plugins), ['echo']);
  });
});

describe('shared connections', () => {
  test('three plugins naming one Redis connection share one client; health checks it; shutdown closes it last', async () => {
    const made = await fixture();
    const prefix = `plugboard-seams-${process.pid}-${Date.now()}:`;
    const user = (name: string) => `
import { connectionsRef, definePlugin } from ${JSON.stringify(PLUGBOARD_SRC)};
export default definePlugin({
  metadata: { name: ${JSON.stringify(name)}, version: '1.0.0', consumes: [connectionsRef] },
  async initialize(config, call) {
    const redis = call.services.get(connectionsRef).redis(config.config.connection);
    await redis.incr('users');
    const seen = (globalThis.__seamsClients ??= new Set());
    seen.add(redis);
  },
  async shutdown() {
    (globalThis.__seamsOrder ??= []).push(${JSON.stringify(name)});
  },
  onRequestEnd() {},
});
`;
    for (const name of ['one', 'two', 'three']) await made.write(`${name}.plugin.ts`, user(name));
    await made.write('echo.plugin.ts', ECHO_BACKEND_SOURCE);
    await made.write(
      'config.yaml',
      [
        'mode: staging',
        'backends:',
        '  echo: { plugin_file: echo.plugin.ts }',
        'middleware:',
        ...['one', 'two', 'three'].map(
          (name) => `  ${name}: { plugin_file: ${name}.plugin.ts, config: { connection: cache } }`,
        ),
        'connections:',
        '  redis:',
        `    cache: { url: "redis://127.0.0.1:6379/0", key_prefix: "${prefix}" }`,
      ].join('\n'),
    );
    const runtime = await made.start();
    const status = runtime.manager.getPluginStatus().plugins;
    for (const name of ['one', 'two', 'three'])
      assert.equal(status[name]?.state, 'ACTIVE', JSON.stringify(status[name]?.lastError));
    const globals = globalThis as { __seamsClients?: Set<unknown>; __seamsOrder?: string[] };
    assert.equal(globals.__seamsClients?.size, 1, 'one client for the three plugins');
    const [client] = [...globals.__seamsClients!] as {
      get(key: string): Promise<string | null>;
      del(key: string): Promise<number>;
      status: string;
    }[];
    assert.equal(await client!.get('users'), '3');
    const health = await runtime.manager.getHealth();
    assert.equal(health.plugins.connections?.health.status, 'healthy');
    assert.equal(
      (health.plugins.connections?.health.custom_metrics as Record<string, { status: string }> | undefined)?.cache
        ?.status,
      'up',
    );
    await client!.del('users');
    await runtime.close();
    made.runtime = undefined;
    assert.deepEqual(globals.__seamsOrder?.sort(), ['one', 'three', 'two'], 'every consumer stopped');
    assert.equal(client!.status, 'end', 'the client closed after its consumers');
    delete globals.__seamsClients;
    delete globals.__seamsOrder;
  });

  test('a plugin naming a connection that is not configured fails with a did-you-mean', async () => {
    const made = await fixture();
    await made.write(
      'user.plugin.ts',
      `import { connectionsRef, definePlugin } from ${JSON.stringify(PLUGBOARD_SRC)};
export default definePlugin({
  metadata: { name: 'user', version: '1.0.0', consumes: [connectionsRef] },
  initialize(_config, call) { call.services.get(connectionsRef).sqlite('histroy'); },
  onRequestEnd() {},
});`,
    );
    await made.write('echo.plugin.ts', ECHO_BACKEND_SOURCE);
    await made.write(
      'config.yaml',
      [
        'mode: staging',
        'backends:',
        '  echo: { plugin_file: echo.plugin.ts }',
        'middleware:',
        '  user: { plugin_file: user.plugin.ts }',
        'connections:',
        `  data_dir: ${JSON.stringify(join(made.dir, 'data'))}`,
        '  sqlite:',
        '    history: { file: history.db }',
      ].join('\n'),
    );
    const runtime = await made.start();
    const error = runtime.manager.getPluginStatus().plugins.user?.lastError;
    assert.match(error?.message ?? '', /no sqlite connection named "histroy" \(did you mean "history"\?\)/);
  });
});

describe('reloads', () => {
  test('reordered keys in a plugin’s config are no change: the running instance stays', async () => {
    const made = await fixture();
    await made.write('echo.plugin.ts', ECHO_BACKEND_SOURCE);
    await made.write(
      'config.yaml',
      'mode: staging\nbackends:\n  echo:\n    plugin_file: echo.plugin.ts\n    config: { a: 1, b: { c: 2, d: 3 } }\n',
    );
    const runtime = await made.start();
    await made.write(
      'config.yaml',
      'mode: staging\nbackends:\n  echo:\n    config: { b: { d: 3, c: 2 }, a: 1 }\n    plugin_file: echo.plugin.ts\n',
    );
    const report = await runtime.reload();
    assert.deepEqual(report.applied, []);
    assert.deepEqual(report.refused, []);
  });

  test('an emptied file is refused on reload: every plugin keeps running', async () => {
    const made = await fixture();
    await made.write('echo.plugin.ts', ECHO_BACKEND_SOURCE);
    await made.write('config.yaml', 'mode: staging\nbackends:\n  echo:\n    plugin_file: echo.plugin.ts\n');
    const runtime = await made.start();
    await made.write('config.yaml', '  \n');
    const report = await runtime.reload();
    assert.deepEqual(report.applied, []);
    assert.match(report.refused[0]?.error.message ?? '', /the configuration file is empty/);
    assert.equal(runtime.manager.getPluginStatus().plugins.echo?.state, 'ACTIVE');
  });

  test('the start-up log says whether hot reload is on and what it watches', async () => {
    const made = await fixture();
    await made.write('echo.plugin.ts', ECHO_BACKEND_SOURCE);
    await made.write('config.yaml', 'backends:\n  echo:\n    plugin_file: echo.plugin.ts\n');
    const on = captureLogs();
    await (await made.start({ logger: on.logger })).close();
    const watching = on.lines().find((line) => line.operation === 'hot_reload');
    assert.equal(watching?.enabled, true);
    assert.ok((watching?.watching as string[] | undefined)?.includes(made.file));
    assert.ok((watching?.watching as string[] | undefined)?.includes(made.dir), 'the discovery folder too');

    await made.write('config.yaml', 'mode: production\nbackends:\n  echo:\n    plugin_file: echo.plugin.ts\n');
    const off = captureLogs();
    await (await made.start({ logger: off.logger })).close();
    made.runtime = undefined;
    const line = off.lines().find((entry) => entry.operation === 'hot_reload');
    assert.equal(line?.enabled, false);
    assert.match(String(line?.message), /hot reload is off/);
  });
});

describe('the connections section', () => {
  test('is validated like every section: each issue located, with a did-you-mean', async () => {
    const { parseConfig } = await import('../../src/config/load-config.ts');
    const { formatIssue } = await import('../../src/config/config-issue.ts');
    const loaded = parseConfig(
      ['connections:', '  redis:', '    cache:', '      ulr: redis://127.0.0.1:6379'].join('\n'),
      '/srv/config.yaml',
      { env: {} },
    );
    const errors = loaded.issues.filter((issue) => issue.severity === 'error').map(formatIssue);
    assert.ok(
      errors.some((line) =>
        /^\/srv\/config\.yaml:4:7: connections\.redis\.cache\.ulr: unknown key \(did you mean "url"\?\)/.test(line),
      ),
      errors.join('\n'),
    );
    assert.deepEqual(loaded.config.connections.redis, {}, 'an invalid section falls back to its defaults');
  });
});
