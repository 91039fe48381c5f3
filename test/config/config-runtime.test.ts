/**
 * ConfigRuntime (FR-1.5, FR-11.5): starting a PluginManager from a configuration file, and
 * `reload()` applying only what changed — enable/disable, priority, plugin config, plugin code,
 * plugins added and removed — with rollback of anything broken (the running version keeps
 * serving), a configuration file that cannot be used refused as a whole, restart-only global
 * sections reported, the configReloaded hook's payload, and reloads never overlapping.
 *
 * Every test writes its own config.yaml and plugin files into a fresh temporary folder. The
 * plugins report what happens to them (initialize, shutdown, held calls) through a probe on
 * globalThis, since jiti evaluates them in this process.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { ConfigRuntime, type ReloadReport } from '../../src/config/config-runtime.ts';
import {
  type ConfigReloadReport,
  createSilentLogger,
  isPlugboardError,
  type PlugboardError,
  type PluginConfig,
} from '../../src/index.ts';
import { chatRequest, collectStream } from '../../src/testing/index.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';

// ——— fixture kit ———

const SRC = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
const ZOD = fileURLToPath(import.meta.resolve('zod'));

interface ProbeEvent {
  readonly plugin: string;
  readonly event: 'init' | 'shutdown' | 'held-call';
  readonly code: string;
  readonly tag: string;
  readonly config?: PluginConfig<{ tag: string }>;
}
/** What the plugin files report to the test, and the knobs the test turns in them. */
interface Probe {
  events: ProbeEvent[];
  /** Awaited by every processMessage (when set): lets a test hold a request inside a plugin. */
  hold?: ((plugin: string, code: string, tag: string) => Promise<void> | void) | undefined;
  /** Awaited by every initialize (when set). */
  init?: ((plugin: string, code: string, tag: string) => Promise<void> | void) | undefined;
}
const probe: Probe = { events: [] };
(globalThis as Record<string, unknown>).__plugboardProbe = probe;

/**
 * An input message processor that appends `[name:code:tag]` to the user message; `code` is a
 * constant of the file (a code change), `tag` comes from its config (validated by zod).
 */
function processorSource(name: string, code = 'v1', options: { initThrows?: boolean } = {}): string {
  return `
import { z } from ${JSON.stringify(ZOD)};
import { defineMessageProcessor, withContent } from ${JSON.stringify(SRC)};
const CODE = ${JSON.stringify(code)};
const NAME = ${JSON.stringify(name)};
const probe = globalThis.__plugboardProbe;
export default () => {
  let tag = '?';
  return defineMessageProcessor({
    metadata: {
      name: NAME,
      version: '1.0.0',
      configSchema: z.strictObject({ tag: z.string().default('-'), size: z.number().int().positive().optional() }),
    },
    direction: 'input',
    async initialize(config) {
      tag = config.config.tag;
      await probe.init?.(NAME, CODE, tag);
      ${options.initThrows ? "throw new Error('initialize exploded in ' + CODE);" : ''}
      probe.events.push({ plugin: NAME, event: 'init', code: CODE, tag, config });
    },
    async processMessage(message) {
      if (probe.hold) {
        await probe.hold(NAME, CODE, tag);
        probe.events.push({ plugin: NAME, event: 'held-call', code: CODE, tag });
      }
      return withContent(message, message.content + '[' + NAME + ':' + CODE + ':' + tag + ']');
    },
    shutdown() {
      probe.events.push({ plugin: NAME, event: 'shutdown', code: CODE, tag });
    },
  });
};
`;
}

/** A processor whose config schema needs a string `url`. */
const NEEDY_SOURCE = `import { z } from ${JSON.stringify(ZOD)};
import { defineMessageProcessor } from ${JSON.stringify(SRC)};
export default defineMessageProcessor({
  metadata: { name: 'needy', version: '1.0.0', configSchema: z.object({ url: z.string() }) },
  processMessage: (message) => message,
});`;

/** A backend that echoes the last user message (in two chunks when streaming). */
const ECHO_SOURCE = `
import { createMessage, defineBackend, lastUserMessage } from ${JSON.stringify(SRC)};
export default defineBackend({
  metadata: { name: 'echo', version: '1.0.0' },
  chat(context) {
    const text = lastUserMessage(context)?.content ?? '';
    if (!context.stream) return { message: createMessage({ role: 'assistant', content: text }), finishReason: 'stop' };
    return (async function* () {
      const half = Math.ceil(text.length / 2);
      yield { content: text.slice(0, half) };
      yield { content: text.slice(half) };
      yield { finishReason: 'stop' };
    })();
  },
  listModels: () => [{ id: 'echo' }],
});
`;

interface EntrySpec {
  readonly plugin_file: string;
  readonly enabled?: boolean;
  readonly priority?: string;
  readonly failure_policy?: string;
  readonly timeout?: number;
  readonly config?: Record<string, unknown>;
}
interface ConfigSpec {
  readonly mode?: string;
  readonly strict?: boolean;
  readonly plugin_manager?: Record<string, unknown>;
  readonly hooks?: Record<string, unknown>;
  readonly backends?: Record<string, EntrySpec>;
  readonly message_processors?: Record<string, EntrySpec>;
  readonly middleware?: Record<string, EntrySpec>;
}

const echo: EntrySpec = { plugin_file: 'echo.plugin.ts' };
const proc = (name: string, extra: Omit<EntrySpec, 'plugin_file'> = {}): EntrySpec => ({
  plugin_file: `${name}.plugin.ts`,
  ...extra,
});

class Fixture extends RuntimeFixture {
  static async create(): Promise<Fixture> {
    const fixture = new Fixture(await RuntimeFixture.tempDir('plugboard-runtime-'));
    await fixture.write('echo.plugin.ts', ECHO_SOURCE);
    return fixture;
  }

  processor(name: string, code = 'v1', options: { initThrows?: boolean } = {}): Promise<void> {
    return this.write(`${name}.plugin.ts`, processorSource(name, code, options));
  }

  /** Writes config.yaml: staging mode, no file watching, the given sections. */
  config(spec: ConfigSpec | string): Promise<void> {
    if (typeof spec === 'string') return this.write('config.yaml', spec);
    const { plugin_manager, mode, ...rest } = spec;
    return this.write(
      'config.yaml',
      stringify({ mode: mode ?? 'staging', plugin_manager: { enable_hot_reload: false, ...plugin_manager }, ...rest }),
    );
  }
}

let fixture: Fixture;
async function setUp(): Promise<Fixture> {
  probe.events.length = 0;
  probe.hold = undefined;
  probe.init = undefined;
  fixture = await Fixture.create();
  return fixture;
}
afterEach(async () => {
  probe.hold = undefined;
  probe.init = undefined;
  await fixture?.dispose();
});

/** The reply's content for a chat request (what the processors appended to "hi", echoed). */
async function ask(runtime: ConfigRuntime, text = 'hi'): Promise<string> {
  return (await runtime.manager.chat(chatRequest(text))).message.content;
}
async function askStreaming(runtime: ConfigRuntime, text = 'hi'): Promise<string> {
  return (await collectStream(runtime.manager.stream(chatRequest(text, { stream: true })))).text;
}

const eventsOf = (plugin: string, event: ProbeEvent['event']) =>
  probe.events.filter((entry) => entry.plugin === plugin && entry.event === event);

/** Holds the first call of `plugin` inside processMessage until released. */
function holdFirstCall(plugin: string): { entered: Promise<void>; release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let signal!: () => void;
  const entered = new Promise<void>((resolve) => {
    signal = resolve;
  });
  let used = false;
  probe.hold = async (name) => {
    if (name !== plugin || used) return;
    used = true;
    signal();
    await released;
  };
  return { entered, release };
}

/** Bounded wait for a condition the test cannot await directly (a commit inside a pending reload). */
async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await nextTurn();
  }
}

const refusedNames = (report: ReloadReport) => report.refused.map((refusal) => refusal.plugin).sort();
const refusalOf = (report: ReloadReport, plugin: string): PlugboardError => {
  const refusal = report.refused.find((candidate) => candidate.plugin === plugin);
  assert.ok(refusal, `expected a refusal for ${plugin}, got ${JSON.stringify(refusedNames(report))}`);
  return refusal.error;
};

async function startError(start: () => Promise<unknown>): Promise<PlugboardError> {
  try {
    await start();
  } catch (error) {
    assert.ok(isPlugboardError(error), `expected a PlugboardError, got ${String(error)}`);
    return error;
  }
  assert.fail('start() should have thrown');
}

// ——— start ———

describe('ConfigRuntime.start', () => {
  test('plugins run with the settings of their entries (priority, enabled, failure_policy, timeout s → ms, config)', async () => {
    const f = await setUp();
    await Promise.all([f.processor('a'), f.processor('b'), f.processor('c')]);
    await f.config({
      plugin_manager: { default_timeout: 12 },
      backends: { echo },
      message_processors: {
        b: proc('b', { priority: 'LOW' }),
        a: proc('a', { priority: 'HIGH', failure_policy: 'closed', timeout: 2.5, config: { tag: 'alpha', size: 3 } }),
        c: proc('c', { enabled: false, config: { tag: 'gamma' } }),
      },
    });
    const runtime = await f.start();
    const { plugins, loadErrors } = runtime.manager.getPluginStatus();
    assert.deepEqual(loadErrors, []);
    assert.equal(plugins.a?.state, 'ACTIVE');
    assert.equal(plugins.a?.priority, 'HIGH');
    assert.equal(plugins.a?.failurePolicy, 'closed');
    assert.equal(plugins.a?.timeoutMs, 2500);
    assert.equal(plugins.a?.source, join(f.dir, 'a.plugin.ts'));
    assert.equal(plugins.b?.priority, 'LOW');
    assert.equal(plugins.b?.failurePolicy, 'open');
    assert.equal(plugins.b?.timeoutMs, 12_000, 'plugin_manager.default_timeout (seconds) is the default');
    assert.equal(plugins.c?.enabled, false);
    assert.equal(plugins.c?.state, 'LOADED', 'a disabled plugin is loaded but never initialized');

    const [aInit] = eventsOf('a', 'init');
    assert.ok(aInit?.config);
    assert.deepEqual(aInit.config.config, { tag: 'alpha', size: 3 });
    assert.ok(Object.isFrozen(aInit.config.config), 'the plugin config is frozen');
    assert.equal(aInit.config.timeoutMs, 2500);
    assert.equal(aInit.config.priority, 'HIGH');
    assert.deepEqual(eventsOf('b', 'init')[0]?.config?.config, { tag: '-' }, 'schema defaults are applied');
    assert.deepEqual(eventsOf('c', 'init'), []);

    // HIGH before LOW, the disabled one out of the pipeline; the same for streams.
    assert.equal(await ask(runtime), 'hi[a:v1:alpha][b:v1:-]');
    assert.equal(await askStreaming(runtime), 'hi[a:v1:alpha][b:v1:-]');
  });

  test("an entry's key must be the plugin's metadata name", async () => {
    const f = await setUp();
    await Promise.all([f.processor('a'), f.processor('b')]);
    await f.config({ backends: { echo }, message_processors: { alias: proc('a'), b: proc('b') } });
    const runtime = await f.start();
    const { plugins, loadErrors } = runtime.manager.getPluginStatus();
    assert.equal(loadErrors.length, 1);
    assert.equal(loadErrors[0]?.plugin, 'alias');
    assert.equal(loadErrors[0]?.error.code, 'CONFIG_INVALID');
    assert.match(loadErrors[0]!.error.message, /message_processors\.alias: .*a\.plugin\.ts holds the plugin "a"/);
    assert.match(loadErrors[0]!.error.message, /name the entry "a"/);
    assert.deepEqual(Object.keys(plugins).sort(), ['b', 'echo']);
    assert.equal(await ask(runtime), 'hi[b:v1:-]');
  });

  test('a plugin in the wrong section is refused with a message naming both kinds', async () => {
    const f = await setUp();
    await Promise.all([f.processor('a'), f.processor('b')]);
    await f.config({
      backends: { echo, a: proc('a') },
      message_processors: { b: proc('b') },
      middleware: { echo2: { plugin_file: 'echo.plugin.ts' } },
    });
    const runtime = await f.start();
    const { plugins, loadErrors } = runtime.manager.getPluginStatus();
    const byPlugin = new Map(loadErrors.map((problem) => [problem.plugin, problem.error]));
    assert.match(
      byPlugin.get('a')?.message ?? '',
      /backends\.a: the plugin is a message-processor, not a backend-provider; move it to the right section/,
    );
    // (echo2 is refused for its name first: the name check comes before the kind check)
    assert.ok(byPlugin.has('echo2'));
    assert.deepEqual(Object.keys(plugins).sort(), ['b', 'echo']);
    assert.equal(await ask(runtime), 'hi[b:v1:-]');
  });

  test('a backend under middleware is refused for its kind', async () => {
    const f = await setUp();
    await f.processor('b');
    await f.config({ middleware: { echo }, message_processors: { b: proc('b') } });
    const runtime = await f.start();
    const problem = runtime.manager.getPluginStatus().loadErrors.find((entry) => entry.plugin === 'echo');
    assert.match(problem?.error.message ?? '', /middleware\.echo: the plugin is a backend-provider, not a middleware/);
    assert.equal(runtime.manager.getPluginStatus().plugins.b?.state, 'ACTIVE');
  });

  test("a plugin config that fails the plugin's own schema puts it in ERROR with file:line:col; the others run", async () => {
    const f = await setUp();
    await Promise.all([f.processor('a'), f.processor('b')]);
    await f.config(
      [
        'mode: staging',
        'plugin_manager:',
        '  enable_hot_reload: false',
        'backends:',
        '  echo:',
        '    plugin_file: echo.plugin.ts',
        'message_processors:',
        '  a:',
        '    plugin_file: a.plugin.ts',
        '    config:',
        '      tag: 42',
        '      size: -1',
        '  b:',
        '    plugin_file: b.plugin.ts',
        '',
      ].join('\n'),
    );
    const runtime = await f.start();
    const { plugins } = runtime.manager.getPluginStatus();
    assert.equal(plugins.a?.state, 'ERROR');
    assert.equal(plugins.a?.lastError?.code, 'PLUGIN_CONFIG_INVALID');
    const message = plugins.a?.lastError?.message ?? '';
    assert.ok(message.includes(`${f.file}:11:12: message_processors.a.config.tag:`), message);
    assert.ok(message.includes(`${f.file}:12:13: message_processors.a.config.size:`), message);
    // The state history gives the same reason as lastError, not a different one.
    assert.equal(plugins.a?.transitions.at(-1)?.to, 'ERROR');
    assert.ok(plugins.a?.transitions.at(-1)?.reason.includes(`${f.file}:11:12`), plugins.a?.transitions.at(-1)?.reason);
    assert.deepEqual(eventsOf('a', 'init'), [], 'never initialized');
    assert.equal(plugins.b?.state, 'ACTIVE');
    assert.equal(await ask(runtime), 'hi[b:v1:-]');
  });

  test('a plugin whose schema rejects an empty config is in ERROR for the reason the file gives', async () => {
    const f = await setUp();
    await f.write('needy.plugin.ts', NEEDY_SOURCE);
    await f.config(
      'mode: staging\nmessage_processors:\n  needy:\n    plugin_file: needy.plugin.ts\n    config: { url: 5 }\n',
    );
    const runtime = await f.start();
    const status = runtime.manager.getPluginStatus().plugins.needy;
    assert.equal(status?.state, 'ERROR');
    const last = status?.transitions.at(-1);
    assert.equal(last?.to, 'ERROR');
    assert.ok(last?.reason.includes(`${f.file}:5:20: message_processors.needy.config.url`), last?.reason);
    assert.doesNotMatch(last?.reason ?? '', /received undefined/, 'not the reason an empty config fails for');
    assert.equal(status?.lastError?.message, last?.reason);
  });

  test('a plugin in ERROR for its config starts once a reload brings a valid config', async () => {
    const f = await setUp();
    await f.write('needy.plugin.ts', NEEDY_SOURCE);
    await f.config(
      'mode: staging\nmessage_processors:\n  needy:\n    plugin_file: needy.plugin.ts\n    config: { url: 5 }\n',
    );
    const runtime = await f.start();
    assert.equal(runtime.manager.getPluginStatus().plugins.needy?.state, 'ERROR');
    await f.config(
      'mode: staging\nmessage_processors:\n  needy:\n    plugin_file: needy.plugin.ts\n    config: { url: "http://x" }\n',
    );
    const report = await runtime.reload();
    assert.deepEqual(
      report.refused.map((refusal) => `${refusal.plugin}: ${refusal.error.message}`),
      [],
      'not refused as a duplicate of the plugin in ERROR',
    );
    assert.deepEqual(report.applied, ['needy']);
    assert.equal(runtime.manager.getPluginStatus().plugins.needy?.state, 'ACTIVE');
  });

  test('an unknown key in a plugin config is located at that key', async () => {
    const f = await setUp();
    await f.processor('a');
    await f.config(
      [
        'mode: staging',
        'plugin_manager: { enable_hot_reload: false }',
        'backends: { echo: { plugin_file: echo.plugin.ts } }',
        'message_processors:',
        '  a:',
        '    plugin_file: a.plugin.ts',
        '    config:',
        '      tag: fine',
        '      colour: red',
        '',
      ].join('\n'),
    );
    const runtime = await f.start();
    const message = runtime.manager.getPluginStatus().plugins.a?.lastError?.message ?? '';
    assert.ok(message.includes(`${f.file}:9:7: message_processors.a.config.colour:`), message);
  });

  test('an unloadable plugin_file is listed in loadErrors with the plugin name while the others run', async () => {
    const f = await setUp();
    await f.processor('b');
    await f.write('broken.plugin.ts', 'export default {{ this is not TypeScript');
    await f.config({
      backends: { echo },
      message_processors: { missing: proc('missing'), broken: proc('broken'), b: proc('b') },
    });
    const runtime = await f.start();
    const { plugins, loadErrors } = runtime.manager.getPluginStatus();
    const byPlugin = new Map(loadErrors.map((problem) => [problem.plugin, problem.error]));
    assert.deepEqual([...byPlugin.keys()].sort(), ['broken', 'missing']);
    for (const name of ['broken', 'missing']) {
      assert.equal(byPlugin.get(name)?.code, 'PLUGIN_MODULE_LOAD_FAILED');
      assert.ok(byPlugin.get(name)?.message.includes(join(f.dir, `${name}.plugin.ts`)), byPlugin.get(name)?.message);
    }
    assert.deepEqual(Object.keys(plugins).sort(), ['b', 'echo']);
    assert.equal(await ask(runtime), 'hi[b:v1:-]');
  });

  test('strict configurations with errors make start() throw CONFIG_INVALID listing every issue', async () => {
    const f = await setUp();
    await f.processor('a');
    const text = [
      'mode: staging',
      'strict: true',
      'plugin_manager:',
      '  enable_hot_reload: false',
      '  default_timout: 5',
      'backends: { echo: { plugin_file: echo.plugin.ts } }',
      'message_processors:',
      '  a:',
      '    plugin_file: a.plugin.ts',
      '    priority: URGENT',
      '',
    ].join('\n');
    await f.config(text);
    const error = await startError(() => f.start());
    assert.equal(error.code, 'CONFIG_INVALID');
    const issues = (error.details as { issues: string[] }).issues;
    assert.equal(issues.length, 2, issues.join('\n'));
    assert.ok(issues[0]?.startsWith(`${f.file}:5:3: plugin_manager.default_timout: unknown key`), issues[0]);
    assert.match(issues[0]!, /did you mean "default_timeout"/);
    assert.ok(issues[1]?.startsWith(`${f.file}:10:15: message_processors.a.priority:`), issues[1]);
    for (const issue of issues) assert.ok(error.message.includes(issue), 'the message lists every issue');
    assert.deepEqual(probe.events, [], 'no plugin was started');

    // Production mode is strict by default; the caller's strict overrides a lenient file.
    await f.config(text.replace('mode: staging\nstrict: true', 'mode: production'));
    assert.equal((await startError(() => f.start())).code, 'CONFIG_INVALID');
    await f.config(text.replace('strict: true', 'strict: false'));
    assert.equal((await startError(() => f.start({ strict: true }))).code, 'CONFIG_INVALID');

    // Without strict, the same file starts: the bad entry is reported, the global section falls back.
    const lenient = await f.start({ strict: false });
    const { loadErrors } = lenient.manager.getPluginStatus();
    assert.equal(loadErrors.length, 1);
    assert.equal(loadErrors[0]?.plugin, 'a');
    assert.equal(loadErrors[0]?.error.code, 'CONFIG_INVALID');
    assert.ok(loadErrors[0]?.error.message.includes(`${f.file}:10:15`));
  });

  test('a file that cannot be used at all (YAML syntax error, missing named file) is fatal', async () => {
    const f = await setUp();
    await f.config('backends:\n  echo: { plugin_file: echo.plugin.ts\n');
    const syntax = await startError(() => f.start());
    assert.equal(syntax.code, 'CONFIG_INVALID');
    assert.match(syntax.message, new RegExp(`${f.file.replaceAll('.', '\\.')}:\\d+:\\d+: YAML syntax`));
    const missing = await startError(() =>
      ConfigRuntime.start({ file: join(f.dir, 'nope.yaml'), env: {}, logger: createSilentLogger() }),
    );
    assert.equal(missing.code, 'CONFIG_INVALID');
    assert.match(missing.message, /nope\.yaml: cannot read the configuration file: ENOENT/);
  });
});

// ——— reload ———

describe('ConfigRuntime.reload', () => {
  test('a reload with nothing changed applies and refuses nothing', async () => {
    const f = await setUp();
    await f.processor('a');
    await f.config({ backends: { echo }, message_processors: { a: proc('a') } });
    const runtime = await f.start();
    const report = await runtime.reload();
    assert.deepEqual(report.applied, []);
    assert.deepEqual(report.refused, []);
    assert.deepEqual(report.issues, []);
    assert.equal(eventsOf('a', 'init').length, 1);
  });

  test('enable and disable: disabled → PAUSED and out of the pipeline; enabled again → ACTIVE, same instance', async () => {
    const f = await setUp();
    await Promise.all([f.processor('a'), f.processor('b')]);
    const config = (aEnabled: boolean, bEnabled: boolean) =>
      f.config({
        backends: { echo },
        message_processors: { a: proc('a', { enabled: aEnabled }), b: proc('b', { enabled: bEnabled }) },
      });
    await config(true, false);
    const runtime = await f.start();
    assert.equal(await ask(runtime), 'hi[a:v1:-]');

    // Disabled at start (never initialized), then enabled: initialized now.
    await config(true, true);
    let report = await runtime.reload();
    assert.deepEqual(report.applied, ['b']);
    assert.equal(runtime.manager.getPluginStatus().plugins.b?.state, 'ACTIVE');
    assert.equal(eventsOf('b', 'init').length, 1);
    assert.equal(await ask(runtime), 'hi[a:v1:-][b:v1:-]');

    await config(false, true);
    report = await runtime.reload();
    assert.deepEqual(report.applied, ['a']);
    const paused = runtime.manager.getPluginStatus().plugins.a;
    assert.equal(paused?.state, 'PAUSED');
    assert.equal(paused?.enabled, false);
    assert.equal(paused?.transitions.at(-1)?.reason, 'disabled by configuration');
    assert.equal(await ask(runtime), 'hi[b:v1:-]');
    assert.equal(await askStreaming(runtime), 'hi[b:v1:-]');
    assert.deepEqual(eventsOf('a', 'shutdown'), [], 'a paused plugin is not shut down');

    await config(true, true);
    report = await runtime.reload();
    assert.deepEqual(report.applied, ['a']);
    assert.equal(runtime.manager.getPluginStatus().plugins.a?.state, 'ACTIVE');
    assert.equal(await ask(runtime), 'hi[a:v1:-][b:v1:-]');
    assert.equal(eventsOf('a', 'init').length, 1, 're-enabling resumes the same instance');
  });

  test('a plugin enabled by a reload gets its hooks registered', async () => {
    const f = await setUp();
    await f.write(
      'watcher.plugin.ts',
      `import { definePlugin } from ${JSON.stringify(SRC)};
const probe = globalThis.__plugboardProbe;
export default definePlugin({
  metadata: { name: 'watcher', version: '1.0.0' },
  onRequestStart: ({ context }) => { probe.events.push({ plugin: 'watcher', event: 'held-call', code: 'hook', tag: context.requestId }); return context; },
});`,
    );
    const config = (enabled: boolean) =>
      f.config({ backends: { echo }, middleware: { watcher: { plugin_file: 'watcher.plugin.ts', enabled } } });
    await config(false);
    const runtime = await f.start();
    await ask(runtime);
    assert.equal(eventsOf('watcher', 'held-call').length, 0);
    await config(true);
    assert.deepEqual((await runtime.reload()).applied, ['watcher']);
    assert.equal(runtime.manager.getPluginStatus().plugins.watcher?.state, 'ACTIVE');
    await ask(runtime);
    assert.equal(eventsOf('watcher', 'held-call').length, 1, 'its onRequestStart hook runs');
  });

  test('a priority swap changes the order of processors without re-initializing them', async () => {
    const f = await setUp();
    await Promise.all([f.processor('a'), f.processor('b')]);
    const config = (aPriority: string, bPriority: string) =>
      f.config({
        backends: { echo },
        message_processors: { a: proc('a', { priority: aPriority }), b: proc('b', { priority: bPriority }) },
      });
    await config('HIGH', 'LOW');
    const runtime = await f.start();
    assert.equal(await ask(runtime), 'hi[a:v1:-][b:v1:-]');
    await config('LOW', 'HIGH');
    const report = await runtime.reload();
    assert.deepEqual([...report.applied].sort(), ['a', 'b']);
    assert.equal(await ask(runtime), 'hi[b:v1:-][a:v1:-]');
    assert.equal(await askStreaming(runtime), 'hi[b:v1:-][a:v1:-]');
    const { plugins } = runtime.manager.getPluginStatus();
    assert.equal(plugins.a?.priority, 'LOW');
    assert.equal(plugins.b?.priority, 'HIGH');
    assert.equal(probe.events.filter((event) => event.event === 'init').length, 2);
    assert.deepEqual(
      probe.events.filter((event) => event.event === 'shutdown'),
      [],
    );
  });

  test('a plugin config change starts a new instance; the old one is shut down after its requests drain', async () => {
    const f = await setUp();
    await Promise.all([f.processor('a'), f.processor('b')]);
    const config = (tag: string) =>
      f.config({ backends: { echo }, message_processors: { a: proc('a', { config: { tag } }), b: proc('b') } });
    await config('alpha');
    const runtime = await f.start();
    assert.equal(await ask(runtime), 'hi[a:v1:alpha][b:v1:-]');

    const held = holdFirstCall('a');
    const inFlight = runtime.manager.chat(chatRequest('old'));
    await held.entered;
    const before = runtime.manager.getPluginStatus().snapshotVersion;
    await config('beta');
    const reloading = runtime.reload();
    await until(() => runtime.manager.getPluginStatus().snapshotVersion > before, 'the new snapshot');

    // New requests run on the new instance while the old request is still inside the old one.
    assert.equal(await ask(runtime), 'hi[a:v1:beta][b:v1:-]');
    assert.deepEqual(
      eventsOf('a', 'init').map((event) => event.tag),
      ['alpha', 'beta'],
    );
    assert.deepEqual(eventsOf('a', 'shutdown'), [], 'the old instance still serves a request');
    assert.deepEqual(eventsOf('b', 'init').length, 1, 'an unchanged plugin is left alone');

    held.release();
    assert.equal(
      (await inFlight).message.content,
      'old[a:v1:alpha][b:v1:-]',
      'the old request finished on the old version',
    );
    const report = await reloading;
    assert.deepEqual(report.applied, ['a']);
    const order = probe.events.map((event) => `${event.plugin}:${event.event}:${event.tag}`);
    assert.deepEqual(
      eventsOf('a', 'shutdown').map((event) => event.tag),
      ['alpha'],
    );
    assert.ok(
      order.indexOf('a:held-call:alpha') < order.indexOf('a:shutdown:alpha'),
      `shutdown after the drained call: ${order.join(', ')}`,
    );
    assert.deepEqual(eventsOf('b', 'shutdown'), []);
  });

  test('a plugin code change: the new code runs and the old instance is shut down', async () => {
    const f = await setUp();
    await f.processor('a', 'v1');
    await f.config({ backends: { echo }, message_processors: { a: proc('a') } });
    const runtime = await f.start();
    assert.equal(await ask(runtime), 'hi[a:v1:-]');
    await f.processor('a', 'v2');
    const report = await runtime.reload();
    assert.deepEqual(report.applied, ['a']);
    assert.equal(await ask(runtime), 'hi[a:v2:-]');
    assert.equal(await askStreaming(runtime), 'hi[a:v2:-]');
    assert.deepEqual(
      eventsOf('a', 'init').map((event) => event.code),
      ['v1', 'v2'],
    );
    assert.deepEqual(
      eventsOf('a', 'shutdown').map((event) => event.code),
      ['v1'],
    );
    const status = runtime.manager.getPluginStatus().plugins.a;
    assert.equal(status?.state, 'ACTIVE');

    // A reload with the file unchanged does not re-import it.
    assert.deepEqual((await runtime.reload()).applied, []);
    assert.equal(eventsOf('a', 'init').length, 2);
  });

  test('a new plugin is added and started; its hook fires', async () => {
    const f = await setUp();
    await Promise.all([f.processor('a'), f.processor('b')]);
    await f.config({ backends: { echo }, message_processors: { a: proc('a') } });
    const runtime = await f.start();
    const loaded: string[] = [];
    runtime.manager.registerHook('pluginLoaded', ({ plugin }) => void loaded.push(plugin), 'NORMAL', 'echo');
    await f.config({
      backends: { echo },
      message_processors: { a: proc('a'), b: proc('b', { priority: 'HIGH', config: { tag: 'new' } }) },
    });
    const report = await runtime.reload();
    assert.deepEqual(report.applied, ['b']);
    assert.equal(runtime.manager.getPluginStatus().plugins.b?.state, 'ACTIVE');
    assert.deepEqual(loaded, ['b']);
    assert.equal(await ask(runtime), 'hi[b:v1:new][a:v1:-]');
  });

  test('a new plugin that fails to load on reload is listed in loadErrors, once, until it loads', async () => {
    const f = await setUp();
    await f.processor('a');
    await f.config({ backends: { echo }, message_processors: { a: proc('a') } });
    const runtime = await f.start();
    await f.write('b.plugin.ts', 'export default {{;');
    await f.config({ backends: { echo }, message_processors: { a: proc('a'), b: proc('b') } });
    for (let attempt = 0; attempt < 2; attempt++) {
      const report = await runtime.reload();
      assert.deepEqual(report.applied, []);
      const problems = runtime.manager.getPluginStatus().loadErrors.filter((problem) => problem.plugin === 'b');
      assert.equal(problems.length, 1, 'one entry per plugin, however often the reload fails');
      assert.equal(problems[0]?.error.code, 'PLUGIN_MODULE_LOAD_FAILED');
    }
    await f.processor('b');
    const fixed = await runtime.reload();
    assert.deepEqual(fixed.applied, ['b']);
    assert.deepEqual(
      runtime.manager.getPluginStatus().loadErrors.filter((problem) => problem.plugin === 'b'),
      [],
    );
    assert.equal(runtime.manager.getPluginStatus().plugins.b?.state, 'ACTIVE');
  });

  test('a removed plugin leaves the pipeline at once, is drained, then shut down', async () => {
    const f = await setUp();
    await Promise.all([f.processor('a'), f.processor('b')]);
    await f.config({ backends: { echo }, message_processors: { a: proc('a'), b: proc('b') } });
    const runtime = await f.start();
    const unloaded: string[] = [];
    runtime.manager.registerHook('pluginUnloaded', ({ plugin }) => void unloaded.push(plugin), 'NORMAL', 'echo');

    const held = holdFirstCall('b');
    const inFlight = runtime.manager.chat(chatRequest('old'));
    await held.entered;
    const before = runtime.manager.getPluginStatus().snapshotVersion;
    await f.config({ backends: { echo }, message_processors: { a: proc('a') } });
    const reloading = runtime.reload();
    await until(() => runtime.manager.getPluginStatus().snapshotVersion > before, 'the new snapshot');
    assert.equal(await ask(runtime), 'hi[a:v1:-]');
    assert.deepEqual(eventsOf('b', 'shutdown'), []);
    held.release();
    assert.equal((await inFlight).message.content, 'old[a:v1:-][b:v1:-]');
    const report = await reloading;
    assert.deepEqual(report.applied, ['b']);
    assert.equal(eventsOf('b', 'shutdown').length, 1);
    const order = probe.events.map((event) => `${event.plugin}:${event.event}`);
    assert.ok(order.indexOf('b:held-call') < order.indexOf('b:shutdown'), order.join(', '));
    assert.equal(runtime.manager.getPluginStatus().plugins.b, undefined);
    assert.deepEqual(unloaded, ['b']);
  });

  test('broken new versions are refused and the running version keeps serving', async () => {
    const f = await setUp();
    await Promise.all([f.processor('a'), f.processor('b')]);
    const config = (aConfig: Record<string, unknown> = {}) =>
      f.config({ backends: { echo }, message_processors: { a: proc('a', { config: aConfig }), b: proc('b') } });
    await config();
    const runtime = await f.start();
    const expectStillServing = async (report: ReloadReport) => {
      assert.deepEqual(report.applied, []);
      assert.equal(runtime.manager.getPluginStatus().plugins.a?.state, 'ACTIVE');
      assert.equal(await ask(runtime), 'hi[a:v1:-][b:v1:-]');
      assert.equal(await askStreaming(runtime), 'hi[a:v1:-][b:v1:-]');
      assert.deepEqual(eventsOf('a', 'shutdown'), []);
    };

    // syntax error
    {
      await f.write('a.plugin.ts', `${processorSource('a', 'v2')}\nexport const oops = {{;`);
      const report = await runtime.reload();
      const error = refusalOf(report, 'a');
      assert.equal(error.code, 'PLUGIN_MODULE_LOAD_FAILED');
      assert.ok(error.message.includes(`${join(f.dir, 'a.plugin.ts')}:`), error.message);
      assert.match(error.message, /a\.plugin\.ts:\d+:\d+/, 'the syntax error is located');
      await expectStillServing(report);
      const status = runtime.manager.getPluginStatus().plugins.a;
      assert.equal(status?.lastError?.code, 'PLUGIN_MODULE_LOAD_FAILED', 'the refusal is shown in the status');
    }

    // initialize throws
    {
      await f.processor('a', 'v3', { initThrows: true });
      const report = await runtime.reload();
      const error = refusalOf(report, 'a');
      assert.equal(error.code, 'PLUGIN_INIT_FAILED');
      assert.match(error.message, /initialize exploded in v3/);
      await expectStillServing(report);
      assert.equal(runtime.manager.getPluginStatus().plugins.a?.lastError?.code, 'PLUGIN_INIT_FAILED');
    }

    // config rejected by the plugin's schema
    {
      await f.processor('a', 'v1');
      await config({ tag: 7 });
      const report = await runtime.reload();
      const error = refusalOf(report, 'a');
      assert.equal(error.code, 'PLUGIN_CONFIG_INVALID');
      assert.match(error.message, /config\.yaml:\d+:\d+: message_processors\.a\.config\.tag:/);
      await expectStillServing(report);
    }

    // fixed: the new version is applied
    {
      await config({ tag: 'fixed' });
      const report = await runtime.reload();
      assert.deepEqual(report.applied, ['a']);
      assert.deepEqual(report.refused, []);
      assert.equal(await ask(runtime), 'hi[a:v1:fixed][b:v1:-]');
      const status = runtime.manager.getPluginStatus().plugins.a;
      assert.equal(status?.lastError, undefined);
      assert.deepEqual(
        eventsOf('a', 'shutdown').map((event) => event.tag),
        ['-'],
      );
    }
  });

  test('a config file with a YAML syntax error is refused entirely', async () => {
    const f = await setUp();
    await Promise.all([f.processor('a'), f.processor('b')]);
    await f.config({ backends: { echo }, message_processors: { a: proc('a'), b: proc('b') } });
    const runtime = await f.start();
    const payloads: ConfigReloadReport[] = [];
    runtime.manager.registerHook('configReloaded', (payload) => void payloads.push(payload), 'NORMAL', 'echo');

    await f.processor('a', 'v2'); // a code change that must wait for a usable file
    await f.config('backends:\n  echo: { plugin_file: echo.plugin.ts\nmessage_processors: {}\n');
    const report = await runtime.reload();
    assert.deepEqual(report.applied, []);
    assert.deepEqual(refusedNames(report), ['(config)']);
    assert.equal(refusalOf(report, '(config)').code, 'CONFIG_INVALID');
    assert.match(refusalOf(report, '(config)').message, /config\.yaml:\d+:\d+: YAML syntax/);
    assert.ok(report.issues.some((issue) => issue.includes('YAML syntax')));
    assert.equal(await ask(runtime), 'hi[a:v1:-][b:v1:-]', 'nothing changed, nothing removed');
    assert.equal(payloads.length, 1);
    assert.deepEqual(payloads[0]?.changed, []);
    assert.match(payloads[0]?.refused[0]?.reason ?? '', /YAML syntax/);

    await f.config({ backends: { echo }, message_processors: { a: proc('a'), b: proc('b') } });
    assert.deepEqual((await runtime.reload()).applied, ['a']);
    assert.equal(await ask(runtime), 'hi[a:v2:-][b:v1:-]');
  });

  test('in strict mode a file with any error is refused entirely; without it, only the bad entry is', async () => {
    const f = await setUp();
    await Promise.all([f.processor('a'), f.processor('b')]);
    const config = (strict: boolean, aPriority: string, bPriority: string) =>
      f.config({
        strict,
        backends: { echo },
        message_processors: { a: proc('a', { priority: aPriority }), b: proc('b', { priority: bPriority }) },
      });
    await config(true, 'HIGH', 'LOW');
    const runtime = await f.start();
    await config(true, 'SUPER', 'HIGHEST');
    let report = await runtime.reload();
    assert.deepEqual(report.applied, []);
    assert.deepEqual(refusedNames(report), ['(config)']);
    assert.match(refusalOf(report, '(config)').message, /config\.yaml:\d+:\d+: message_processors\.a\.priority/);
    assert.match(refusalOf(report, '(config)').message, /message_processors\.b\.priority/);
    assert.equal(await ask(runtime), 'hi[a:v1:-][b:v1:-]');

    // Strict and only a's entry invalid: still nothing is applied, not even b's valid change.
    await config(true, 'SUPER', 'CRITICAL');
    report = await runtime.reload();
    assert.deepEqual(report.applied, []);
    assert.equal(runtime.manager.getPluginStatus().plugins.b?.priority, 'LOW');

    // Lenient: b's change applies, a's invalid entry is refused and a keeps running as it was.
    await config(false, 'SUPER', 'CRITICAL');
    report = await runtime.reload();
    assert.deepEqual(report.applied, ['b']);
    assert.deepEqual(refusedNames(report), ['a']);
    assert.equal(refusalOf(report, 'a').code, 'CONFIG_INVALID');
    assert.equal(runtime.manager.getPluginStatus().plugins.a?.state, 'ACTIVE');
    assert.equal(await ask(runtime), 'hi[b:v1:-][a:v1:-]');
  });

  test('the configReloaded hook reports what changed and what was refused', async () => {
    const f = await setUp();
    await Promise.all([f.processor('a'), f.processor('b'), f.processor('c')]);
    await f.config({ backends: { echo }, message_processors: { a: proc('a'), b: proc('b') } });
    const runtime = await f.start();
    const payloads: ConfigReloadReport[] = [];
    runtime.manager.registerHook('configReloaded', (payload) => void payloads.push(payload), 'NORMAL', 'echo');
    await f.processor('b', 'v2', { initThrows: true });
    await f.write('c.plugin.ts', 'export default {');
    await f.config({
      backends: { echo },
      message_processors: { a: proc('a', { priority: 'HIGH' }), b: proc('b'), c: proc('c') },
    });
    const report = await runtime.reload();
    assert.equal(payloads.length, 1);
    const [payload] = payloads;
    assert.equal(payload?.version, report.snapshotVersion);
    assert.deepEqual(payload?.changed, ['a']);
    assert.deepEqual(payload?.refused.map((refusal) => refusal.plugin).sort(), ['b', 'c']);
    assert.match(payload?.refused.find((refusal) => refusal.plugin === 'b')?.reason ?? '', /initialize exploded in v2/);
    assert.match(payload?.refused.find((refusal) => refusal.plugin === 'c')?.reason ?? '', /c\.plugin\.ts/);
    assert.equal(report.snapshotVersion, runtime.manager.getPluginStatus().snapshotVersion);
  });

  test('changes to global sections are refused until a restart; plugin changes still apply', async () => {
    const f = await setUp();
    await f.processor('a');
    await f.config({ backends: { echo }, message_processors: { a: proc('a') } });
    const runtime = await f.start();
    await f.config({
      plugin_manager: { default_timeout: 7 },
      hooks: { max_concurrent_hooks: 3 },
      backends: { echo },
      message_processors: { a: proc('a', { priority: 'HIGH' }) },
    });
    const report = await runtime.reload();
    assert.deepEqual(report.applied, ['a']);
    assert.deepEqual(refusedNames(report), ['(hooks)', '(plugin_manager)']);
    for (const section of ['hooks', 'plugin_manager']) {
      assert.match(refusalOf(report, `(${section})`).message, new RegExp(`"${section}" take effect after a restart`));
    }
    assert.equal(runtime.config.plugin_manager.default_timeout, 30, 'the section in force stays');
    assert.equal(runtime.config.hooks.max_concurrent_hooks, 10);
    assert.equal(runtime.manager.getPluginStatus().plugins.a?.priority, 'HIGH');
    assert.equal(runtime.config.plugins.find((entry) => entry.name === 'a')?.priority, 'HIGH');
  });

  test('concurrent reload() calls are serialised; those made during a reload are merged into one', async () => {
    const f = await setUp();
    await f.processor('a');
    const config = (tag: string) =>
      f.config({ backends: { echo }, message_processors: { a: proc('a', { config: { tag } }) } });
    await config('t1');
    const runtime = await f.start();

    let initializing = 0;
    let most = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let signal!: () => void;
    const blocked = new Promise<void>((resolve) => {
      signal = resolve;
    });
    probe.init = async (_name, _code, tag) => {
      initializing++;
      most = Math.max(most, initializing);
      if (tag === 't2') {
        signal();
        await gate;
      }
      initializing--;
    };

    await config('t2');
    const first = runtime.reload();
    await blocked; // the first reload is inside the new instance's initialize
    await config('t3');
    const second = runtime.reload();
    const third = runtime.reload();
    assert.equal(second, third, 'requests made while one runs are merged');
    assert.equal(await ask(runtime), 'hi[a:v1:t1]');
    release();
    const [one, two] = await Promise.all([first, second]);
    assert.deepEqual(one.applied, ['a']);
    assert.deepEqual(two.applied, ['a']);
    assert.ok(two.snapshotVersion > one.snapshotVersion);
    assert.equal(most, 1, 'never two initializations at once');
    assert.deepEqual(
      eventsOf('a', 'init').map((event) => event.tag),
      ['t1', 't2', 't3'],
    );
    assert.deepEqual(
      eventsOf('a', 'shutdown').map((event) => event.tag),
      ['t1', 't2'],
    );
    assert.equal(await ask(runtime), 'hi[a:v1:t3]');
  });
});
