/**
 * Zero downtime (FR-1.5, FR-11.5; spec §1 "Configuration changes: zero downtime"): eight
 * concurrent loops of `manager.chat` and `manager.stream` run through a ConfigRuntime while it
 * reloads configuration and plugin code 24 times — enable/disable, priority swaps, code
 * changes, config changes, and broken versions (syntax error, throwing initialize, invalid
 * plugin config, unparsable YAML) that must be rolled back.
 *
 * Every plugin stamps what it is into the response: the processors append
 * `[name:code:tag]` to the user message (their order shows the priorities), a hooks-only
 * plugin appends `[h:code]` from its messageReceived hook, a middleware writes
 * `label:code` into response.metadata, and the backend echoes. Each reload's report gives
 * the snapshot version it produced, and the test knows what it applied at each version, so
 * each response can be checked against exactly the configuration of its own
 * `snapshotVersion`: a response mixing two versions cannot match.
 *
 * Asserts: 0 failed requests, 0 inconsistent responses, the rolled-back versions never served,
 * no instance left behind (each replaced instance shut down). In-process; bounded (< 60 s).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { ConfigRuntime, type ReloadReport } from '../../src/config/config-runtime.ts';
import { type ChatResponse, createSilentLogger, PRIORITIES, type Priority } from '../../src/index.ts';
import { chatRequest, collectStream } from '../../src/testing/index.ts';

const SRC = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
const ZOD = fileURLToPath(import.meta.resolve('zod'));
const LOOPS = 8;

/** Live instances per plugin (initialize +1, shutdown −1), reported by the plugin files. */
const live = new Map<string, number>();
(globalThis as Record<string, unknown>).__plugboardZeroProbe = {
  count: (plugin: string, delta: number) => live.set(plugin, (live.get(plugin) ?? 0) + delta),
};

// ——— the plugins ———

const header = `
import { z } from ${JSON.stringify(ZOD)};
import { createMessage, defineBackend, defineMessageProcessor, defineMiddleware, definePlugin, lastUserMessage, withContent } from ${JSON.stringify(SRC)};
const probe = globalThis.__plugboardZeroProbe;
`;

function processorSource(name: string, code: string, initThrows = false): string {
  return `${header}
export default () => {
  let tag = '?';
  return defineMessageProcessor({
    metadata: { name: '${name}', version: '1.0.0', configSchema: z.strictObject({ tag: z.string() }) },
    direction: 'input',
    initialize(config) {
      ${initThrows ? `throw new Error('${name} ${code} cannot start');` : ''}
      tag = config.config.tag;
      probe.count('${name}', 1);
    },
    async processMessage(message) {
      await new Promise((resolve) => setImmediate(resolve));
      return withContent(message, message.content + '[${name}:${code}:' + tag + ']');
    },
    shutdown() {
      probe.count('${name}', -1);
    },
  });
};
`;
}

/** Hooks only: the marker comes from its messageReceived hook. */
function hookSource(code: string): string {
  return `${header}
export default () => definePlugin({
  metadata: { name: 'h', version: '1.0.0' },
  initialize() { probe.count('h', 1); },
  onMessageReceived: ({ message }) => withContent(message, message.content + '[h:${code}]'),
  shutdown() { probe.count('h', -1); },
});
`;
}

function stampSource(code: string): string {
  return `${header}
export default () => {
  let label = '?';
  return defineMiddleware({
    metadata: { name: 'stamp', version: '1.0.0', configSchema: z.strictObject({ label: z.string() }) },
    initialize(config) {
      label = config.config.label;
      probe.count('stamp', 1);
    },
    processResponse: (response) => ({ ...response, metadata: { ...response.metadata, stamp: label + ':${code}' } }),
    shutdown() {
      probe.count('stamp', -1);
    },
  });
};
`;
}

/** Echoes the user message; yields to the event loop so requests overlap reloads. */
const ECHO_SOURCE = `${header}
export default defineBackend({
  metadata: { name: 'echo', version: '1.0.0' },
  async chat(context) {
    const text = lastUserMessage(context)?.content ?? '';
    await new Promise((resolve) => setImmediate(resolve));
    if (!context.stream) return { message: createMessage({ role: 'assistant', content: text }), finishReason: 'stop' };
    return (async function* () {
      const third = Math.ceil(text.length / 3);
      for (let start = 0; start < text.length; start += third) {
        yield { content: text.slice(start, start + third) };
        await new Promise((resolve) => setImmediate(resolve));
      }
      yield { finishReason: 'stop' };
    })();
  },
  listModels: () => [{ id: 'echo' }],
});
`;

// ——— the model: what the test applies, and what a response at that state must be ———

interface ProcessorState {
  code: string;
  tag: string;
  priority: Priority;
  enabled: boolean;
}
interface State {
  a: ProcessorState;
  b: ProcessorState;
  h: { code: string; enabled: boolean };
  stamp: { code: string; label: string };
}
type Breakage =
  | { readonly plugin: 'a' | 'b'; readonly how: 'syntax' | 'initialize' }
  | { readonly plugin: 'stamp'; readonly how: 'config' }
  | { readonly plugin: '(config)'; readonly how: 'yaml' };
type Patch = { [K in keyof State]?: Partial<State[K]> };
interface Step {
  readonly name: string;
  /** What changes (valid steps). */
  readonly set?: Patch;
  /** A broken version: must be refused, the state stays. */
  readonly broken?: Breakage;
}

const STEPS: readonly Step[] = [
  { name: 'disable b', set: { b: { enabled: false } } },
  { name: 'enable b', set: { b: { enabled: true } } },
  { name: 'swap priorities', set: { a: { priority: 'LOW' }, b: { priority: 'HIGH' } } },
  { name: 'code change a', set: { a: { code: 'a2' } } },
  { name: 'config change a', set: { a: { tag: 'ta2' } } },
  { name: 'broken a: syntax error', broken: { plugin: 'a', how: 'syntax' } },
  { name: 'code change a again', set: { a: { code: 'a3' } } },
  { name: 'config change stamp', set: { stamp: { label: 'L2' } } },
  { name: 'disable h', set: { h: { enabled: false } } },
  { name: 'enable h', set: { h: { enabled: true } } },
  { name: 'code change b', set: { b: { code: 'b2' } } },
  { name: 'broken b: initialize throws', broken: { plugin: 'b', how: 'initialize' } },
  { name: 'swap priorities back', set: { a: { priority: 'HIGH' }, b: { priority: 'LOW' } } },
  { name: 'code change h', set: { h: { code: 'h2' } } },
  { name: 'config and priority change b', set: { b: { tag: 'tb2', priority: 'NORMAL' } } },
  { name: 'broken stamp: invalid config', broken: { plugin: 'stamp', how: 'config' } },
  { name: 'code change stamp', set: { stamp: { code: 's2' } } },
  { name: 'disable a', set: { a: { enabled: false } } },
  { name: 'enable a with a new config', set: { a: { enabled: true, tag: 'ta3' } } },
  { name: 'code change a and b at once', set: { a: { code: 'a4' }, b: { code: 'b3' } } },
  { name: 'broken config file: YAML syntax', broken: { plugin: '(config)', how: 'yaml' } },
  { name: 'disable h and swap priorities', set: { h: { enabled: false }, a: { priority: 'LOW' } } },
  { name: 'enable h, new stamp label', set: { h: { enabled: true }, stamp: { label: 'L3' } } },
  { name: 'everything back to NORMAL', set: { a: { priority: 'NORMAL' }, b: { priority: 'NORMAL' } } },
];

function applyPatch(state: State, patch: Patch = {}): State {
  return {
    a: { ...state.a, ...patch.a },
    b: { ...state.b, ...patch.b },
    h: { ...state.h, ...patch.h },
    stamp: { ...state.stamp, ...patch.stamp },
  };
}

/** What a response must be under `state`. */
function expectation(state: State): { content: string; stamp: string } {
  const processors = (['a', 'b'] as const)
    .filter((name) => state[name].enabled)
    // Priority first; equal priorities keep load order (a was configured first).
    .sort((x, y) => PRIORITIES.indexOf(state[x].priority) - PRIORITIES.indexOf(state[y].priority));
  const markers = processors.map((name) => `[${name}:${state[name].code}:${state[name].tag}]`).join('');
  return {
    content: `hi${markers}${state.h.enabled ? `[h:${state.h.code}]` : ''}`,
    stamp: `${state.stamp.label}:${state.stamp.code}`,
  };
}

async function writeFiles(dir: string, state: State, broken?: Breakage): Promise<void> {
  const processor = (name: 'a' | 'b') => {
    const own = broken?.plugin === name ? broken.how : undefined;
    if (own === 'syntax') return `${processorSource(name, `${state[name].code}-broken`)}\nconst = ;\n`;
    if (own === 'initialize') return processorSource(name, `${state[name].code}-broken`, true);
    return processorSource(name, state[name].code);
  };
  const entry = (name: 'a' | 'b') => ({
    plugin_file: `${name}.plugin.ts`,
    enabled: state[name].enabled,
    priority: state[name].priority,
    config: { tag: state[name].tag },
  });
  const config = stringify({
    mode: 'staging',
    plugin_manager: { enable_hot_reload: false, drain_timeout: 20 },
    backends: { echo: { plugin_file: 'echo.plugin.ts' } },
    message_processors: { a: entry('a'), b: entry('b') },
    middleware: {
      h: { plugin_file: 'h.plugin.ts', enabled: state.h.enabled },
      stamp: {
        plugin_file: 'stamp.plugin.ts',
        config: { label: broken?.plugin === 'stamp' ? 42 : state.stamp.label },
      },
    },
  });
  await Promise.all([
    writeFile(join(dir, 'a.plugin.ts'), processor('a')),
    writeFile(join(dir, 'b.plugin.ts'), processor('b')),
    writeFile(join(dir, 'h.plugin.ts'), hookSource(state.h.code)),
    writeFile(join(dir, 'stamp.plugin.ts'), stampSource(state.stamp.code)),
    writeFile(join(dir, 'config.yaml'), broken?.plugin === '(config)' ? `${config}\n  : [unbalanced\n` : config),
  ]);
}

// ——— the test ———

/** What the test keeps of one response. */
interface Served {
  readonly mode: 'chat' | 'stream';
  readonly version: number;
  readonly content: string;
  readonly stamp: unknown;
  readonly streamed?: string;
}
const served = (mode: Served['mode'], response: ChatResponse, streamed?: string): Served => ({
  mode,
  version: response.snapshotVersion,
  content: response.message.content,
  stamp: response.metadata.stamp,
  ...(streamed === undefined ? {} : { streamed }),
});

test('continuous chat and stream traffic through 24 reloads: no failed request, every response from one version', {
  timeout: 60_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'plugboard-zero-'));
  let state: State = {
    a: { code: 'a1', tag: 'ta1', priority: 'HIGH', enabled: true },
    b: { code: 'b1', tag: 'tb1', priority: 'LOW', enabled: true },
    h: { code: 'h1', enabled: true },
    stamp: { code: 's1', label: 'L1' },
  };
  await writeFile(join(dir, 'echo.plugin.ts'), ECHO_SOURCE);
  await writeFiles(dir, state);
  const runtime = await ConfigRuntime.start({ file: join(dir, 'config.yaml'), env: {}, logger: createSilentLogger() });
  try {
    assert.deepEqual(runtime.manager.getPluginStatus().loadErrors, []);
    /** The state in force from each snapshot version on (versions ascending). */
    const versions: { version: number; state: State }[] = [
      { version: runtime.manager.getPluginStatus().snapshotVersion, state: structuredClone(state) },
    ];

    // Traffic: each loop records (version, content, stamp) of every response, and every failure.
    const responses: Served[] = [];
    const failures: unknown[] = [];
    let stop = false;
    let straddled = 0;
    const loop = async (index: number) => {
      const mode = index % 2 === 0 ? 'chat' : 'stream';
      while (!stop) {
        try {
          if (mode === 'chat') responses.push(served(mode, await runtime.manager.chat(chatRequest('hi'))));
          else {
            const { response, text } = await collectStream(runtime.manager.stream(chatRequest('hi', { stream: true })));
            responses.push(served(mode, response, text));
          }
          // Finished after a newer snapshot was committed: this request straddled a reload.
          if (responses.at(-1)!.version < runtime.manager.getPluginStatus().snapshotVersion) straddled++;
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const loops = Array.from({ length: LOOPS }, (_, index) => loop(index));

    const reports: { step: Step; report: ReloadReport }[] = [];
    try {
      for (const step of STEPS) {
        // Let traffic run on the current version for a little while.
        const seen = responses.length;
        while (responses.length < seen + 2 * LOOPS && failures.length === 0) await nextTurn();
        const next = applyPatch(state, step.set);
        await writeFiles(dir, next, step.broken);
        const report = await runtime.reload();
        reports.push({ step, report });
        if (step.broken === undefined) state = next;
        versions.push({ version: report.snapshotVersion, state: structuredClone(state) });
      }
      const seen = responses.length;
      while (responses.length < seen + 2 * LOOPS && failures.length === 0) await nextTurn();
    } finally {
      stop = true;
      await Promise.all(loops);
    }

    // Every reload did what it should: broken versions refused, the rest applied cleanly.
    for (const { step, report } of reports) {
      const refused = report.refused.map((refusal) => refusal.plugin);
      if (step.broken !== undefined) {
        assert.deepEqual(refused, [step.broken.plugin], `${step.name}: refused ${JSON.stringify(refused)}`);
        assert.deepEqual(report.applied, [], `${step.name}: nothing applied`);
      } else {
        assert.deepEqual(refused, [], `${step.name}: nothing refused, got ${JSON.stringify(report.refused)}`);
        assert.ok(report.applied.length > 0, `${step.name}: something applied`);
      }
    }
    assert.ok(reports.length >= 20);

    // 0 failed requests.
    assert.deepEqual(failures.map(String), []);

    // Every response is exactly the configuration of its own snapshot version.
    const stateAt = (version: number): State | undefined =>
      versions.findLast((entry) => entry.version <= version)?.state;
    const applied = new Set(versions.map((entry) => entry.version));
    const inconsistent: string[] = [];
    const observed = new Set<number>();
    for (const { mode, version, content, stamp, streamed } of responses) {
      observed.add(version);
      const state = stateAt(version);
      const expected = state && expectation(state);
      const got = { content, stamp };
      const problem = !applied.has(version)
        ? 'a snapshot version no reload produced'
        : got.content !== expected?.content || got.stamp !== expected.stamp
          ? `expected ${JSON.stringify(expected)}`
          : mode === 'stream' && streamed !== got.content
            ? `streamed ${JSON.stringify(streamed)}`
            : undefined;
      if (problem !== undefined && inconsistent.length < 10) {
        inconsistent.push(`${mode} v${version}: got ${JSON.stringify(got)}; ${problem}`);
      } else if (problem !== undefined) inconsistent.push('…');
    }
    assert.deepEqual(inconsistent, [], `${inconsistent.length} inconsistent responses`);

    // The rolled-back versions never served a request.
    assert.ok(!responses.some(({ content }) => content.includes('-broken')));
    assert.ok(!responses.some(({ stamp }) => String(stamp).startsWith('42:')));

    // The traffic really ran across the reloads, in both modes.
    assert.ok(observed.size >= 20, `requests saw ${observed.size} snapshot versions`);
    assert.ok(straddled >= STEPS.length, `only ${straddled} requests were in flight across a reload`);
    assert.ok(responses.filter((entry) => entry.mode === 'stream').length >= STEPS.length * LOOPS);
    assert.ok(responses.filter((entry) => entry.mode === 'chat').length >= STEPS.length * LOOPS);

    // The final state serves, and no replaced instance was left running.
    assert.deepEqual(expectation(state), {
      content: (await runtime.manager.chat(chatRequest('hi'))).message.content,
      stamp: (await runtime.manager.chat(chatRequest('hi'))).metadata.stamp,
    });
    assert.deepEqual(Object.fromEntries(live), { a: 1, b: 1, h: 1, stamp: 1 });
  } finally {
    await runtime.close();
    await rm(dir, { recursive: true, force: true });
  }
  assert.deepEqual(Object.fromEntries(live), { a: 0, b: 0, h: 0, stamp: 0 }, 'every instance shut down at close');
});
