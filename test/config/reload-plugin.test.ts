/**
 * ConfigRuntime.reloadPlugin (the admin API's "reload one plugin"): it re-imports one
 * plugin's module fresh with its entry in effect and swaps it in — the new code runs, the old
 * instance is shut down; a later reload() sees nothing left to do; a broken module or a
 * failing initialize is refused and the running version stays; a plugin that could not be
 * imported at start is added once fixed; unknown names throw PLUGIN_NOT_FOUND; and it shares
 * reload()'s queue, so the two never overlap.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { ConfigRuntime } from '../../src/config/config-runtime.ts';
import { isPlugboardError } from '../../src/index.ts';
import { chatRequest } from '../../src/testing/index.ts';
import { ECHO_BACKEND_SOURCE } from '../support/plugin-sources.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';

const SRC = fileURLToPath(new URL('../../src/index.ts', import.meta.url));

interface ProbeEvent {
  readonly plugin: string;
  readonly event: 'init-start' | 'init' | 'shutdown';
  readonly code: string;
  readonly tag: string;
}
interface Probe {
  events: ProbeEvent[];
  /** Awaited inside every initialize (when set). */
  init?: ((plugin: string, code: string, tag: string) => Promise<void> | void) | undefined;
}
const probe: Probe = { events: [] };
(globalThis as Record<string, unknown>).__plugboardReloadPluginProbe = probe;

/** An input processor appending `[name:code:tag]`; `code` is a constant of the file, `tag` its config. */
function processorSource(name: string, code: string, options: { initThrows?: boolean } = {}): string {
  return `
import { defineMessageProcessor, withContent } from ${JSON.stringify(SRC)};
const probe = globalThis.__plugboardReloadPluginProbe;
const NAME = ${JSON.stringify(name)};
const CODE = ${JSON.stringify(code)};
export default () => {
  let tag = '-';
  return defineMessageProcessor({
    metadata: { name: NAME, version: '1.0.0' },
    direction: 'input',
    async initialize(config) {
      tag = config.config.tag ?? '-';
      probe.events.push({ plugin: NAME, event: 'init-start', code: CODE, tag });
      await probe.init?.(NAME, CODE, tag);
      ${options.initThrows ? "throw new Error('initialize exploded in ' + CODE);" : ''}
      probe.events.push({ plugin: NAME, event: 'init', code: CODE, tag });
    },
    processMessage: (message) => withContent(message, message.content + '[' + NAME + ':' + CODE + ':' + tag + ']'),
    shutdown() {
      probe.events.push({ plugin: NAME, event: 'shutdown', code: CODE, tag });
    },
  });
};
`;
}

const ECHO_SOURCE = ECHO_BACKEND_SOURCE;

class Fixture extends RuntimeFixture {
  static async create(): Promise<Fixture> {
    const fixture = new Fixture(await RuntimeFixture.tempDir('plugboard-reload-plugin-'));
    await fixture.write('echo.plugin.ts', ECHO_SOURCE);
    return fixture;
  }

  processor(name: string, code: string, options: { initThrows?: boolean } = {}): Promise<void> {
    return this.write(`${name}.plugin.ts`, processorSource(name, code, options));
  }

  /** config.yaml with the echo backend and processors `name → tag`, in order, without watching. */
  config(processors: Record<string, string>): Promise<void> {
    return this.write(
      'config.yaml',
      stringify({
        mode: 'staging',
        plugin_manager: { enable_hot_reload: false },
        backends: { echo: { plugin_file: 'echo.plugin.ts' } },
        message_processors: Object.fromEntries(
          Object.entries(processors).map(([name, tag]) => [
            name,
            { plugin_file: `${name}.plugin.ts`, config: { tag } },
          ]),
        ),
      }),
    );
  }
}

let fixture: Fixture | undefined;
async function setUp(): Promise<Fixture> {
  probe.events.length = 0;
  probe.init = undefined;
  fixture = await Fixture.create();
  return fixture;
}
afterEach(async () => {
  probe.init = undefined;
  await fixture?.dispose();
  fixture = undefined;
});

async function ask(runtime: ConfigRuntime): Promise<string> {
  return (await runtime.manager.chat(chatRequest('hi'))).message.content;
}
const eventsOf = (plugin: string, event: ProbeEvent['event']) =>
  probe.events.filter((entry) => entry.plugin === plugin && entry.event === event).map((entry) => entry.code);

/** A gate a test opens by hand, and a signal that something reached it. */
function gate(): { reached: Promise<void>; reach: () => void; opened: Promise<void>; open: () => void } {
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => {
    reach = resolve;
  });
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { reached, reach, opened, open };
}

describe('ConfigRuntime.reloadPlugin', () => {
  test('re-imports the changed code, swaps it in, shuts the old instance down; reload() then has nothing to do', async () => {
    const f = await setUp();
    await f.processor('a', 'v1');
    await f.processor('b', 'v1');
    await f.config({ a: 'ta', b: 'tb' });
    const runtime = await f.start();
    assert.equal(await ask(runtime), 'hi[a:v1:ta][b:v1:tb]');

    await f.processor('a', 'v2');
    const report = await runtime.reloadPlugin('a');
    assert.deepEqual(report.applied, ['a']);
    assert.deepEqual(report.refused, []);
    assert.equal(await ask(runtime), 'hi[a:v2:ta][b:v1:tb]', 'the new code runs with the config in effect');
    assert.deepEqual(eventsOf('a', 'init'), ['v1', 'v2']);
    assert.deepEqual(eventsOf('a', 'shutdown'), ['v1']);
    assert.deepEqual(eventsOf('b', 'init'), ['v1'], 'other plugins are left alone');
    assert.equal(runtime.manager.getPluginStatus().plugins.a?.state, 'ACTIVE');

    const after = await runtime.reload();
    assert.deepEqual(after.applied, [], 'the reloaded code is what the runtime now holds');
    assert.deepEqual(eventsOf('a', 'init'), ['v1', 'v2']);
  });

  test('reloading unchanged code still starts a fresh instance', async () => {
    const f = await setUp();
    await f.processor('a', 'v1');
    await f.config({ a: 'ta' });
    const runtime = await f.start();
    const report = await runtime.reloadPlugin('a');
    assert.deepEqual(report.applied, ['a']);
    assert.deepEqual(eventsOf('a', 'init'), ['v1', 'v1']);
    assert.deepEqual(eventsOf('a', 'shutdown'), ['v1']);
    assert.ok(report.snapshotVersion > 0);
  });

  test('a module that no longer imports is refused; the running version keeps serving', async () => {
    const f = await setUp();
    await f.processor('a', 'v1');
    await f.config({ a: 'ta' });
    const runtime = await f.start();
    await f.write('a.plugin.ts', 'export default {{{ not typescript');
    const report = await runtime.reloadPlugin('a');
    assert.deepEqual(report.applied, []);
    assert.equal(report.refused.length, 1);
    assert.equal(report.refused[0]?.plugin, 'a');
    assert.equal(report.refused[0]?.error.code, 'PLUGIN_MODULE_LOAD_FAILED');
    assert.equal(await ask(runtime), 'hi[a:v1:ta]');
    assert.equal(runtime.manager.getPluginStatus().plugins.a?.state, 'ACTIVE');
    assert.deepEqual(eventsOf('a', 'shutdown'), []);
  });

  test('a new version whose initialize fails is refused; the running version keeps serving', async () => {
    const f = await setUp();
    await f.processor('a', 'v1');
    await f.config({ a: 'ta' });
    const runtime = await f.start();
    await f.processor('a', 'v2', { initThrows: true });
    const report = await runtime.reloadPlugin('a');
    assert.deepEqual(report.applied, []);
    assert.equal(report.refused[0]?.error.code, 'PLUGIN_INIT_FAILED');
    assert.match(report.refused[0]?.error.message ?? '', /initialize exploded in v2/);
    assert.equal(await ask(runtime), 'hi[a:v1:ta]');
  });

  test('a plugin that could not be imported at start is added once its file is fixed', async () => {
    const f = await setUp();
    await f.write('a.plugin.ts', 'export default {{{ broken');
    await f.config({ a: 'ta' });
    const runtime = await f.start();
    assert.equal(runtime.manager.getPluginStatus().plugins.a, undefined);
    assert.deepEqual(
      runtime.manager.getPluginStatus().loadErrors.map((problem) => problem.plugin),
      ['a'],
    );

    await f.processor('a', 'v1');
    const report = await runtime.reloadPlugin('a');
    assert.deepEqual(report.applied, ['a']);
    assert.equal(await ask(runtime), 'hi[a:v1:ta]');
    assert.deepEqual(runtime.manager.getPluginStatus().loadErrors, [], 'its load problem is cleared');
    assert.deepEqual((await runtime.reload()).applied, [], 'reload() sees it as applied');
  });

  test('an unknown name throws PLUGIN_NOT_FOUND listing the configured plugins', async () => {
    const f = await setUp();
    await f.processor('a', 'v1');
    await f.config({ a: 'ta' });
    const runtime = await f.start();
    await assert.rejects(runtime.reloadPlugin('nope'), (error: unknown) => {
      assert.ok(isPlugboardError(error, 'PLUGIN_NOT_FOUND'), String(error));
      assert.equal(error.plugin, 'nope');
      assert.match(error.message, /configured: echo, a/);
      return true;
    });
  });

  test('it waits for a running reload(), and a reload() requested meanwhile waits for it: never overlapping', async () => {
    const f = await setUp();
    await f.processor('a', 'v1');
    await f.processor('b', 'v1');
    await f.config({ a: 't1', b: 'tb' });
    const runtime = await f.start();

    let initializing = 0;
    let most = 0;
    const held = gate();
    const bStarted = gate();
    probe.init = async (name, code, tag) => {
      initializing++;
      most = Math.max(most, initializing);
      if (name === 'b' && code === 'v2') bStarted.reach();
      if (tag === 't2') {
        held.reach();
        await held.opened;
      }
      initializing--;
    };

    await f.config({ a: 't2', b: 'tb' });
    const first = runtime.reload();
    await held.reached; // the reload is inside a's new initialize
    await f.processor('b', 'v2');
    const pluginReload = runtime.reloadPlugin('b');
    await f.config({ a: 't3', b: 'tb' });
    const second = runtime.reload();
    // Give a plugin reload that does not wait its turn ample time to reach initialize.
    const overlapped = await Promise.race([bStarted.reached.then(() => true), sleep(500).then(() => false)]);
    assert.equal(overlapped, false, 'the plugin reload does not start while the reload runs');
    assert.deepEqual(eventsOf('b', 'init-start'), ['v1']);
    held.open();

    const [one, plugin, two] = await Promise.all([first, pluginReload, second]);
    assert.deepEqual(one.applied, ['a']);
    assert.deepEqual(plugin.applied, ['b']);
    assert.deepEqual(two.applied, ['a']);
    assert.ok(one.snapshotVersion < plugin.snapshotVersion && plugin.snapshotVersion < two.snapshotVersion);
    assert.equal(most, 1, 'never two initializations at once');
    assert.deepEqual(
      probe.events
        .filter((event) => event.event === 'init')
        .map((event) => `${event.plugin}:${event.code}:${event.tag}`),
      ['a:v1:t1', 'b:v1:tb', 'a:v1:t2', 'b:v2:tb', 'a:v1:t3'],
      'in request order',
    );
    assert.equal(await ask(runtime), 'hi[a:v1:t3][b:v2:tb]');
  });
});
