/**
 * Hot reload through the file watcher and SIGHUP (FR-1.5, FR-11.5, spec §13.2): with
 * `enable_hot_reload`, editing the config file or a plugin file reloads after
 * `reload_debounce`; editors' atomic saves (write a temporary file, rename it over) are picked
 * up; a plugin added by a reload is watched from then on; a broken save is refused and the
 * running version stays; development mode turns watching on; `reloadOnSignal()` reloads on
 * SIGHUP.
 *
 * Tests wait on the configReloaded hook, never on sleeps. Where a file-system event may be
 * lost while the watcher is still attaching to a new file, the edit is repeated (it is
 * idempotent) within a deadline.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { ConfigRuntime } from '../../src/config/config-runtime.ts';
import type { ConfigReloadReport } from '../../src/index.ts';
import { chatRequest } from '../../src/testing/index.ts';
import { ECHO_BACKEND_SOURCE } from '../support/plugin-sources.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';

// ——— fixture kit ———

const SRC = fileURLToPath(new URL('../../src/index.ts', import.meta.url));

interface ProbeEvent {
  readonly plugin: string;
  readonly event: 'init' | 'shutdown';
  readonly code: string;
}
const probe: { events: ProbeEvent[] } = { events: [] };
(globalThis as Record<string, unknown>).__plugboardHotProbe = probe;

/** An input processor appending `[name:code:tag]` (code: a constant of the file; tag: its config). */
function processorSource(name: string, code: string): string {
  return `
import { defineMessageProcessor, withContent } from ${JSON.stringify(SRC)};
const probe = globalThis.__plugboardHotProbe;
export default () => {
  let tag = '-';
  return defineMessageProcessor({
    metadata: { name: ${JSON.stringify(name)}, version: '1.0.0' },
    direction: 'input',
    initialize(config) {
      tag = config.config.tag ?? '-';
      probe.events.push({ plugin: ${JSON.stringify(name)}, event: 'init', code: ${JSON.stringify(code)} });
    },
    processMessage: (message) => withContent(message, message.content + '[${name}:${code}:' + tag + ']'),
    shutdown() {
      probe.events.push({ plugin: ${JSON.stringify(name)}, event: 'shutdown', code: ${JSON.stringify(code)} });
    },
  });
};
`;
}

const ECHO_SOURCE = ECHO_BACKEND_SOURCE;

type Entry = { plugin_file: string; priority?: string; config?: Record<string, unknown>; enabled?: boolean };
const proc = (name: string, extra: Omit<Entry, 'plugin_file'> = {}): Entry => ({
  plugin_file: `${name}.plugin.ts`,
  ...extra,
});

class Fixture extends RuntimeFixture {
  static async create(): Promise<Fixture> {
    const fixture = new Fixture(await RuntimeFixture.tempDir('plugboard-hot-'));
    await fixture.write('echo.plugin.ts', ECHO_SOURCE);
    return fixture;
  }

  processor(name: string, code: string): Promise<void> {
    return this.write(`${name}.plugin.ts`, processorSource(name, code));
  }

  configText(
    processors: Record<string, Entry>,
    pluginManager: Record<string, unknown> = { enable_hot_reload: true, reload_debounce: 0.05 },
    mode = 'staging',
  ): string {
    return stringify({
      mode,
      plugin_manager: pluginManager,
      backends: { echo: { plugin_file: 'echo.plugin.ts' } },
      message_processors: processors,
    });
  }
}

let fixture: Fixture | undefined;
async function setUp(): Promise<Fixture> {
  probe.events.length = 0;
  fixture = await Fixture.create();
  return fixture;
}
afterEach(async () => {
  await fixture?.dispose();
  fixture = undefined;
});

async function ask(runtime: ConfigRuntime): Promise<string> {
  return (await runtime.manager.chat(chatRequest('hi'))).message.content;
}

/** Every configReloaded payload, as it fires (the hook belongs to `echo`, which never changes). */
class Reloads {
  readonly seen: ConfigReloadReport[] = [];
  #waiters: (() => void)[] = [];

  constructor(runtime: ConfigRuntime) {
    runtime.manager.registerHook(
      'configReloaded',
      (payload) => {
        this.seen.push(payload);
        for (const wake of this.#waiters.splice(0)) wake();
      },
      'NORMAL',
      'echo',
    );
  }

  /** How many reloads have fired so far: a mark to wait from. */
  mark(): number {
    return this.seen.length;
  }

  /**
   * Resolves with the first payload after `mark` that satisfies `matches` (a save can fire the
   * watcher more than once); fails after `timeoutMs`.
   */
  async after(
    mark: number,
    matches: (payload: ConfigReloadReport) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<ConfigReloadReport> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`no matching configReloaded within ${timeoutMs} ms: ${JSON.stringify(this.seen.slice(mark))}`),
          ),
        timeoutMs,
      );
    });
    try {
      for (let index = mark; ; index++) {
        while (this.seen.length <= index) {
          await Promise.race([new Promise<void>((wake) => this.#waiters.push(wake)), timeout]);
        }
        if (matches(this.seen[index]!)) return this.seen[index]!;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Performs `edit` and waits for a reload that applies `plugin`; repeats the (idempotent) edit
   * when none came within `attemptMs`, for a file the watcher may still be attaching to.
   */
  async byEdit(
    plugin: string,
    edit: () => Promise<void>,
    attempts = 10,
    attemptMs = 1000,
  ): Promise<ConfigReloadReport> {
    const mark = this.mark();
    for (let attempt = 1; ; attempt++) {
      await edit();
      try {
        return await this.after(mark, (payload) => payload.changed.includes(plugin), attemptMs);
      } catch (error) {
        if (attempt >= attempts) throw error;
      }
    }
  }
}

/** A reload that applied exactly these plugins. */
const applied =
  (...plugins: string[]) =>
  (payload: ConfigReloadReport) =>
    JSON.stringify([...payload.changed].sort()) === JSON.stringify(plugins.sort());

const initsOf = (plugin: string) =>
  probe.events.filter((event) => event.plugin === plugin && event.event === 'init').map((event) => event.code);
const shutdownsOf = (plugin: string) =>
  probe.events.filter((event) => event.plugin === plugin && event.event === 'shutdown').map((event) => event.code);

// ——— the watcher ———

describe('hot reload (enable_hot_reload)', () => {
  test('editing the config file reloads it after reload_debounce', async () => {
    const f = await setUp();
    await Promise.all([f.processor('a', 'v1'), f.processor('b', 'v1')]);
    const settings = { enable_hot_reload: true, reload_debounce: 0.3 };
    await f.write('config.yaml', f.configText({ a: proc('a', { priority: 'HIGH' }), b: proc('b') }, settings));
    const runtime = await f.start();
    const reloads = new Reloads(runtime);
    assert.equal(await ask(runtime), 'hi[a:v1:-][b:v1:-]');

    const saved = performance.now();
    await f.write('config.yaml', f.configText({ a: proc('a', { priority: 'LOW' }), b: proc('b') }, settings));
    const payload = await reloads.after(0);
    const waited = performance.now() - saved;
    assert.ok(waited >= 250, `the reload waited for reload_debounce (0.3 s), not ${waited.toFixed(0)} ms`);
    assert.deepEqual(payload.changed, ['a']);
    assert.deepEqual(payload.refused, []);
    assert.equal(await ask(runtime), 'hi[b:v1:-][a:v1:-]');
  });

  test('a burst of saves within reload_debounce is applied as its last state', async () => {
    const f = await setUp();
    await f.processor('a', 'v1');
    const settings = { enable_hot_reload: true, reload_debounce: 0.3 };
    await f.write('config.yaml', f.configText({ a: proc('a', { config: { tag: 't0' } }) }, settings));
    const runtime = await f.start();
    const reloads = new Reloads(runtime);
    for (let save = 1; save <= 5; save++) {
      await f.write('config.yaml', f.configText({ a: proc('a', { config: { tag: `t${save}` } }) }, settings));
    }
    const payload = await reloads.after(0);
    assert.deepEqual(payload.changed, ['a']);
    assert.equal(await ask(runtime), 'hi[a:v1:t5]', 'the first reload already saw the last save');
    assert.deepEqual(initsOf('a'), ['v1', 'v1'], 'one new instance, not one per save');
  });

  test('editing a plugin file reloads it: the new code runs, the old instance is shut down', async () => {
    const f = await setUp();
    await Promise.all([f.processor('a', 'v1'), f.processor('b', 'v1')]);
    await f.write('config.yaml', f.configText({ a: proc('a'), b: proc('b') }));
    const runtime = await f.start();
    const reloads = new Reloads(runtime);
    await f.processor('a', 'v2');
    const payload = await reloads.after(0);
    assert.deepEqual(payload.changed, ['a']);
    assert.equal(await ask(runtime), 'hi[a:v2:-][b:v1:-]');
    assert.deepEqual(initsOf('a'), ['v1', 'v2']);
    assert.deepEqual(shutdownsOf('a'), ['v1']);
    assert.deepEqual(initsOf('b'), ['v1'], 'the unchanged plugin is left alone');
  });

  test("an editor's atomic save (temporary file renamed over) is picked up, again and again", async () => {
    const f = await setUp();
    await f.processor('a', 'v1');
    await f.write('config.yaml', f.configText({ a: proc('a', { config: { tag: 'one' } }) }));
    const runtime = await f.start();
    const reloads = new Reloads(runtime);

    await f.atomicWrite('config.yaml', f.configText({ a: proc('a', { config: { tag: 'two' } }) }));
    await reloads.after(0, applied('a'));
    assert.equal(await ask(runtime), 'hi[a:v1:two]');

    // The file watched is now another inode: the next atomic save must still be seen.
    let mark = reloads.mark();
    await f.atomicWrite('config.yaml', f.configText({ a: proc('a', { config: { tag: 'three' } }) }));
    await reloads.after(mark, applied('a'));
    assert.equal(await ask(runtime), 'hi[a:v1:three]');

    // And the same for a plugin file.
    mark = reloads.mark();
    await f.atomicWrite('a.plugin.ts', processorSource('a', 'v2'));
    await reloads.after(mark, applied('a'));
    assert.equal(await ask(runtime), 'hi[a:v2:three]');
    mark = reloads.mark();
    await f.atomicWrite('a.plugin.ts', processorSource('a', 'v3'));
    await reloads.after(mark, applied('a'));
    assert.equal(await ask(runtime), 'hi[a:v3:three]');
    assert.deepEqual(shutdownsOf('a'), ['v1', 'v1', 'v1', 'v2'], 'each replaced instance is shut down');
  });

  test('a plugin added by a reload is watched from then on', async () => {
    const f = await setUp();
    await Promise.all([f.processor('a', 'v1'), f.processor('c', 'v1')]);
    await f.write('config.yaml', f.configText({ a: proc('a') }));
    const runtime = await f.start();
    const reloads = new Reloads(runtime);
    await f.write('config.yaml', f.configText({ a: proc('a'), c: proc('c', { priority: 'HIGH' }) }));
    await reloads.after(0, applied('c'));
    assert.equal(await ask(runtime), 'hi[c:v1:-][a:v1:-]');

    await reloads.byEdit('c', () => f.processor('c', 'v2'));
    assert.equal(await ask(runtime), 'hi[c:v2:-][a:v1:-]');
  });

  test('a broken save is refused, the running version keeps serving, and the fix is applied', async () => {
    const f = await setUp();
    await f.processor('a', 'v1');
    await f.write('config.yaml', f.configText({ a: proc('a') }));
    const runtime = await f.start();
    const reloads = new Reloads(runtime);

    await f.write('a.plugin.ts', `${processorSource('a', 'v2')}\nconst broken = ;\n`);
    const refused = await reloads.after(0);
    assert.deepEqual(refused.changed, []);
    assert.equal(refused.refused[0]?.plugin, 'a');
    assert.match(refused.refused[0]?.reason ?? '', /a\.plugin\.ts:\d+:\d+/);
    assert.equal(await ask(runtime), 'hi[a:v1:-]');

    let mark = reloads.mark();
    await f.write('config.yaml', 'message_processors: [this is: not: valid');
    await reloads.after(mark, (payload) => /YAML syntax/.test(payload.refused[0]?.reason ?? ''));
    assert.equal(await ask(runtime), 'hi[a:v1:-]');

    // The file is usable again, the plugin still broken: still refused.
    mark = reloads.mark();
    await f.write('config.yaml', f.configText({ a: proc('a', { priority: 'HIGH' }) }));
    const stillBroken = await reloads.after(mark);
    assert.deepEqual(stillBroken.changed, []);
    assert.deepEqual(
      stillBroken.refused.map((refusal) => refusal.plugin),
      ['a'],
    );
    assert.equal(await ask(runtime), 'hi[a:v1:-]');
    assert.equal(runtime.manager.getPluginStatus().plugins.a?.state, 'ACTIVE');

    mark = reloads.mark();
    await f.processor('a', 'v3');
    await reloads.after(mark, applied('a'));
    assert.equal(await ask(runtime), 'hi[a:v3:-]');
    assert.equal(runtime.manager.getPluginStatus().plugins.a?.priority, 'HIGH');
    assert.deepEqual(shutdownsOf('a'), ['v1']);
  });

  test('development mode watches by default', async () => {
    const f = await setUp();
    await f.processor('a', 'v1');
    await f.write('config.yaml', f.configText({ a: proc('a') }, { reload_debounce: 0.05 }, 'development'));
    const runtime = await f.start();
    assert.equal(runtime.config.plugin_manager.enable_hot_reload, true);
    const reloads = new Reloads(runtime);
    await f.processor('a', 'v2');
    await reloads.after(0, applied('a'));
    assert.equal(await ask(runtime), 'hi[a:v2:-]');
  });

  test('watch() can be started by hand when the file does not ask for it', async () => {
    const f = await setUp();
    await f.processor('a', 'v1');
    await f.write('config.yaml', f.configText({ a: proc('a') }, { enable_hot_reload: false, reload_debounce: 0.05 }));
    const runtime = await f.start();
    const reloads = new Reloads(runtime);
    await runtime.watch();
    await f.write(
      'config.yaml',
      f.configText(
        { a: proc('a', { config: { tag: 'watched' } }) },
        {
          enable_hot_reload: false,
          reload_debounce: 0.05,
        },
      ),
    );
    await reloads.after(0, applied('a'));
    assert.equal(await ask(runtime), 'hi[a:v1:watched]');
  });
});

// ——— SIGHUP ———

describe('reloadOnSignal', () => {
  test('SIGHUP reloads the configuration; the returned function removes the handler', async () => {
    const f = await setUp();
    await Promise.all([f.processor('a', 'v1'), f.processor('b', 'v1')]);
    const settings = { enable_hot_reload: false };
    await f.write('config.yaml', f.configText({ a: proc('a') }, settings));
    const runtime = await f.start();
    const reloads = new Reloads(runtime);
    const listeners = process.listenerCount('SIGHUP');
    const stop = runtime.reloadOnSignal();
    try {
      assert.equal(process.listenerCount('SIGHUP'), listeners + 1);
      await f.write('config.yaml', f.configText({ a: proc('a'), b: proc('b', { priority: 'HIGH' }) }, settings));
      await f.processor('a', 'v2');
      process.kill(process.pid, 'SIGHUP');
      const payload = await reloads.after(0);
      assert.deepEqual([...payload.changed].sort(), ['a', 'b']);
      assert.equal(await ask(runtime), 'hi[b:v1:-][a:v2:-]');
    } finally {
      stop();
    }
    assert.equal(process.listenerCount('SIGHUP'), listeners);
  });

  test('close() removes the handlers reloadOnSignal installed', async () => {
    const f = await setUp();
    await f.processor('a', 'v1');
    await f.write('config.yaml', f.configText({ a: proc('a') }, { enable_hot_reload: false }));
    const runtime = await f.start();
    const listeners = process.listenerCount('SIGHUP');
    const stop = runtime.reloadOnSignal();
    runtime.reloadOnSignal('SIGUSR2');
    assert.equal(process.listenerCount('SIGHUP'), listeners + 1);
    await runtime.close();
    assert.equal(process.listenerCount('SIGHUP'), listeners);
    assert.equal(process.listenerCount('SIGUSR2'), 0);
    stop(); // harmless after close
    assert.equal(process.listenerCount('SIGHUP'), listeners);
  });
});
