import { pathToFileURL } from 'node:url';
import { DEFAULT_CIRCUIT_BREAKER, PluginCircuitBreaker } from '../src/core/execution/circuit-breaker.ts';
import {
  type AnyPlugin,
  type ChatChunk,
  type ChatContext,
  type ChatResponse,
  defineBackend,
  defineFeatureExtension,
  defineMessageProcessor,
  defineMiddleware,
  definePlugin,
  type PluginManager,
  type PluginSettings,
  type Priority,
} from '../src/index.ts';
import { chatRequest, startManager } from '../src/testing/index.ts';
import { firstPartyPlugins } from './first-party-plugins.ts';
import { machine, writeResults } from './report.ts';

const QUICK = process.env.BENCH_QUICK === '1';
/** Characters per streamed chunk; the reply is CHUNK_CHARS × chunks long. */
const CHUNK_CHARS = 4;
const STREAM_CHUNKS = 20;
/** A second, longer stream: the slope between the two gives the cost per chunk. */
const LONG_STREAM_CHUNKS = 100;
const PLUGIN_COUNTS = [0, 1, 10, 50] as const;

// ——— the plugins: no-ops of mixed kinds, written the way an author naturally would ———

type Entry = readonly [AnyPlugin, PluginSettings];

/**
 * The i-th plugin of a cycle of ten kinds. Every method returns its input (or nothing),
 * some async and some sync, at every priority; one of the ten is a MONITORING observer.
 */
export function pluginAt(index: number): Entry {
  const name = `noop-${index}`;
  const metadata = { name, version: '1.0.0' };
  const at = (priority: Priority): PluginSettings => ({ priority });
  switch (index % 10) {
    case 0: // input processor, async
      return [
        defineMessageProcessor({ metadata, direction: 'input', processMessage: async (message) => message }),
        at('NORMAL'),
      ];
    case 1: // middleware, both ways, async
      return [
        defineMiddleware({
          metadata,
          processRequest: async (context) => context,
          processResponse: async (response) => response,
        }),
        at('HIGH'),
      ];
    case 2: // output processor streaming with window 0, sync
      return [
        defineMessageProcessor({
          metadata,
          direction: 'output',
          processMessage: (message) => message,
          streaming: { window: 0, transform: (text) => text },
        }),
        at('NORMAL'),
      ];
    case 3: // feature extension, async
      return [defineFeatureExtension({ metadata, extend: async (context) => context }), at('NORMAL')];
    case 4: // hooks around the request, HIGH
      return [
        definePlugin({
          metadata,
          onRequestStart: async ({ context }) => context,
          onRequestEnd: async () => {},
        }),
        at('HIGH'),
      ];
    case 5: // processor for both directions, streaming with a small window, async processMessage
      return [
        defineMessageProcessor({
          metadata,
          processMessage: async (message) => message,
          streaming: { window: 8, transform: (text) => text },
        }),
        at('LOW'),
      ];
    case 6: // message and model-call hooks, sync
      return [
        definePlugin({
          metadata,
          onMessageReceived: ({ message }) => message,
          onBeforeModelCall: ({ context }) => context,
        }),
        at('NORMAL'),
      ];
    case 7: // middleware checking requests only, sync
      return [defineMiddleware({ metadata, processRequest: (context) => context }), at('CRITICAL')];
    case 8: // an observer: request end and every chunk, in the background
      return [
        definePlugin({
          metadata,
          onRequestEnd: async () => {},
          onStreamChunk: () => {},
        }),
        at('MONITORING'),
      ];
    default: // chunk hook in the foreground, and another observer of model calls
      return [
        definePlugin({
          metadata,
          onStreamChunk: async () => {},
          onBeforeModelCall: async ({ context }) => context,
        }),
        at('LOW'),
      ];
  }
}

// ——— the backend: a fixed reply, at once (json) or in chunks (stream), with usage ———

/**
 * A minimal in-process backend. Not the test kit's scripted backend: that one records every
 * call for assertions, and over hundreds of thousands of requests the ever-growing record
 * itself was promoted at every minor GC, which then showed in every p99.
 */
export function benchBackend(reply: string, chunkChars: number): AnyPlugin {
  const pieces: string[] = [];
  for (let index = 0; index < reply.length; index += chunkChars) pieces.push(reply.slice(index, index + chunkChars));
  const usage = { promptTokens: 6, completionTokens: pieces.length };
  return defineBackend({
    metadata: { name: 'bench-backend', version: '1.0.0' },
    // Written as an author would: async, and a stream for streaming requests.
    async chat(context) {
      if (!context.stream) {
        return { message: { role: 'assistant', content: reply }, usage, finishReason: 'stop', model: 'bench-model' };
      }
      return streamReply(pieces, usage);
    },
    listModels: () => [{ id: 'bench-model' }],
  });
}

/** Module-level, not an `async function*` expression per call (see docs/PERFORMANCE.md). */
async function* streamReply(
  pieces: readonly string[],
  usage: { promptTokens: number; completionTokens: number },
): AsyncGenerator<ChatChunk> {
  for (const piece of pieces) yield { content: piece };
  yield { finishReason: 'stop', usage };
}

// ——— one scenario: a manager, a request, a way to run it ———

interface Scenario {
  readonly name: string;
  readonly plugins: number;
  readonly mode: 'json' | 'stream';
  readonly chunks: number;
  readonly manager: PluginManager;
  readonly run: () => Promise<ChatResponse>;
  samples: number[];
}

export async function scenario(
  plugins: number | readonly number[],
  mode: 'json' | 'stream',
  chunks = STREAM_CHUNKS,
): Promise<Scenario> {
  const indexes = typeof plugins === 'number' ? Array.from({ length: plugins }, (_, index) => index) : plugins;
  const suffix = chunks === STREAM_CHUNKS ? '' : `-${chunks}chunks`;
  return scenarioOf(`pipeline-${mode}-${indexes.length}${suffix}`, indexes.map(pluginAt), mode, chunks);
}

/** A scenario of the given plugin entries (e.g. a first-party plugin, see first-party-plugins.ts). */
export async function scenarioOf(
  name: string,
  entries: readonly (AnyPlugin | Entry | readonly [unknown, PluginSettings])[],
  mode: 'json' | 'stream',
  chunks = STREAM_CHUNKS,
  request: Partial<Pick<ChatContext, 'client'>> = {},
): Promise<Scenario> {
  const reply = 'abcd'.repeat(chunks);
  const manager = await startManager([benchBackend(reply, CHUNK_CHARS), ...entries], {
    defaultBackend: 'bench-backend',
  });
  const context: ChatContext = chatRequest('Hello, how are you today?', { stream: mode === 'stream', ...request });
  const run =
    mode === 'json'
      ? () => manager.chat(context)
      : async () => {
          const stream = manager.stream(context);
          let received = 0;
          for await (const chunk of stream) if (chunk.content) received++;
          if (received === 0) throw new Error('no chunk');
          return stream.response;
        };
  // Check once that the scenario measures what it claims: the reply intact, no plugin bypassed.
  const response = await run();
  if (response.message.content !== reply) throw new Error(`${name}: unexpected reply`);
  const bad = response.steps.filter((step) => step.outcome !== 'ok');
  if (bad.length > 0) throw new Error(`${name}: plugin steps failed: ${JSON.stringify(bad)}`);
  return {
    name,
    plugins: entries.length,
    mode,
    chunks: mode === 'json' ? 0 : chunks,
    manager,
    run,
    samples: [],
  };
}

function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/** Runs `iterations` sequential requests, recording each one's latency in µs. */
export async function measure(target: Scenario, iterations: number, record: boolean): Promise<void> {
  for (let index = 0; index < iterations; index++) {
    const start = nowNs();
    await target.run();
    const elapsed = (nowNs() - start) / 1000;
    if (record) target.samples.push(elapsed);
  }
}

interface Stats {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly count: number;
}

export function stats(samples: readonly number[]): Stats {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  return { p50: at(0.5), p99: at(0.99), mean, count: sorted.length };
}

// ——— micro-benchmarks ———

/**
 * Per-call cost of the circuit breaker on the happy path (closed circuit, no failure pending):
 * - `check`: `breaker.directTicket()`, what every guarded call does before running the plugin
 *   (a synchronous check; only a failure is then reported to cockatiel), in a tight loop
 *   minus the same loop without it;
 * - `run`: `await breaker.run(fn)` minus `await fn()`: `run`'s promise-based fast path, which
 *   guarded calls used before (kept for comparison; cockatiel's `execute` costs ~200 ns).
 * Medians over batches.
 */
async function breakerCheck(batches: number, perBatch: number) {
  const breaker = new PluginCircuitBreaker(DEFAULT_CIRCUIT_BREAKER);
  const value = Promise.resolve(1);
  const fn = () => value;
  let sink = 0;
  const empty = () => {
    const start = nowNs();
    for (let index = 0; index < perBatch; index++) sink += index & 1;
    return (nowNs() - start) / perBatch;
  };
  const checked = () => {
    const start = nowNs();
    for (let index = 0; index < perBatch; index++) sink += breaker.directTicket() === undefined ? 0 : index & 1;
    return (nowNs() - start) / perBatch;
  };
  const direct = async () => {
    const start = nowNs();
    for (let index = 0; index < perBatch; index++) await fn();
    return (nowNs() - start) / perBatch;
  };
  const guarded = async () => {
    const start = nowNs();
    for (let index = 0; index < perBatch; index++) await breaker.run(fn);
    return (nowNs() - start) / perBatch;
  };
  if (breaker.directTicket() === undefined) throw new Error('breaker not on its fast path');
  for (let warm = 0; warm < 20; warm++) {
    empty();
    checked();
    await direct();
    await guarded();
  }
  const check: number[] = [];
  const run: number[] = [];
  for (let batch = 0; batch < batches; batch++) {
    check.push(Math.max(0, checked() - empty()) / 1000);
    const base = await direct();
    run.push(Math.max(0, (await guarded()) - base) / 1000);
  }
  if (sink < 0) console.log(sink);
  return { check: stats(check), run: stats(run) };
}

/**
 * Per dispatch of the sequential `afterModelCall` hook with three handlers (an async and a
 * sync foreground handler and one MONITORING observer), through `HookManager.execute` with
 * a captured table and a steps array, as the pipeline calls it. Each handler call goes
 * through the full guard (breaker, deadline, validation, metrics).
 */
async function hookDispatch(batches: number, perBatch: number) {
  const backend = benchBackend('ok', CHUNK_CHARS);
  const handlers: Entry[] = [
    [definePlugin({ metadata: { name: 'h-async', version: '1.0.0' }, onAfterModelCall: async () => {} }), {}],
    [definePlugin({ metadata: { name: 'h-sync', version: '1.0.0' }, onAfterModelCall: () => {} }), {}],
    [
      definePlugin({ metadata: { name: 'h-monitor', version: '1.0.0' }, onAfterModelCall: () => {} }),
      { priority: 'MONITORING' },
    ],
  ];
  const manager = await startManager([backend, ...handlers], { defaultBackend: 'bench-backend' });
  const context = chatRequest('hi');
  const message = context.messages[0]!;
  const table = manager.hooks.table;
  const payload = Object.freeze({ context, backend: 'bench-backend', turn: 1, message, durationMs: 1 });
  const once = async () => {
    const steps: unknown[] = [];
    const start = nowNs();
    for (let index = 0; index < perBatch; index++) {
      steps.length = 0;
      await manager.hooks.execute('afterModelCall', payload, { table, steps: steps as never });
    }
    // Let the background observers finish inside the batch they belong to.
    await new Promise((resolve) => setImmediate(resolve));
    return (nowNs() - start) / perBatch / 1000;
  };
  for (let warm = 0; warm < 20; warm++) await once();
  const samples: number[] = [];
  for (let batch = 0; batch < batches; batch++) samples.push(await once());
  await manager.shutdown();
  return stats(samples);
}

// ——— main ———

interface Row {
  readonly name: string;
  readonly plugins: number;
  readonly mode: 'json' | 'stream';
  readonly p50_us: number;
  readonly p99_us: number;
  readonly ops_per_s: number;
  readonly [extra: string]: unknown;
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

/** `BENCH_PROFILE=stream:10` runs one scenario for a few seconds, for `node --cpu-prof`. */
async function profileOne(spec: string): Promise<void> {
  const [mode, count, chunks] = spec.split(':');
  if (mode !== 'json' && mode !== 'stream') throw new Error('BENCH_PROFILE is mode:plugins[:chunks]');
  const target = await scenario(Number(count), mode, chunks ? Number(chunks) : STREAM_CHUNKS);
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const end = performance.now() + seconds * 1000;
  let runs = 0;
  while (performance.now() < end) {
    await measure(target, 100, true);
    runs += 100;
  }
  const result = stats(target.samples.slice(Math.floor(target.samples.length / 5)));
  console.log(`${target.name}: ${runs} runs, p50 ${round(result.p50)} µs, p99 ${round(result.p99)} µs`);
  await target.manager.shutdown();
}

/**
 * `BENCH_BREAKDOWN=json` (or `stream`): the overhead of each of the ten plugin kinds alone,
 * and of all ten, over the 0-plugin run; printed only. Shows where a message's time goes.
 */
async function breakdown(mode: 'json' | 'stream'): Promise<void> {
  const kinds = [
    'input processor (async)',
    'middleware in+out (async)',
    'output processor, streaming window 0 (sync)',
    'feature extension (async)',
    'requestStart + requestEnd hooks, HIGH (async)',
    'processor both ways, window 8 (async)',
    'messageReceived + beforeModelCall hooks (sync)',
    'middleware in only, CRITICAL (sync)',
    'MONITORING requestEnd (async) + streamChunk (sync)',
    'streamChunk + beforeModelCall hooks, LOW (async)',
  ];
  const sets: number[][] = [[], ...kinds.map((_, index) => [index]), kinds.map((_, index) => index)];
  const targets: Scenario[] = [];
  for (const set of sets) targets.push(await scenario(set, mode));
  for (const target of targets) await measure(target, 3000, false);
  for (let round = 0; round < 6; round++) {
    for (const target of targets) await measure(target, mode === 'json' ? 4000 : 1000, true);
  }
  const base = stats(targets[0]!.samples);
  const rows = sets.map((set, index) => {
    const own = stats(targets[index]!.samples);
    const label = set.length === 0 ? '(none)' : set.length === 1 ? `${set[0]}: ${kinds[set[0]!]}` : 'all ten';
    return { kind: label, 'p50 µs over 0': round(own.p50 - base.p50), 'abs p50 µs': round(own.p50) };
  });
  console.table(rows);
  for (const target of targets) await target.manager.shutdown();
}

async function main(): Promise<void> {
  const began = performance.now();
  const host = machine();
  console.log(`Plugboard pipeline benchmark — ${host.cpu}, ${host.cores} cores, Node ${host.node}`);

  // Interleave the scenarios in rounds so that drift (CPU frequency, other load) hits all alike.
  const scenarios: Scenario[] = [];
  for (const mode of ['json', 'stream'] as const) {
    for (const plugins of PLUGIN_COUNTS) scenarios.push(await scenario(plugins, mode));
  }
  const long0 = await scenario(0, 'stream', LONG_STREAM_CHUNKS);
  const long10 = await scenario(10, 'stream', LONG_STREAM_CHUNKS);
  scenarios.push(long0, long10);
  // Each first-party plugin alone, with its shipped defaults (over the 0-plugin run).
  const firstParty: Scenario[] = [];
  for (const plugin of await firstPartyPlugins()) {
    for (const mode of ['json', 'stream'] as const) {
      firstParty.push(
        await scenarioOf(`plugin-${plugin.name}-${mode}`, [plugin.entry], mode, STREAM_CHUNKS, plugin.request),
      );
    }
  }
  scenarios.push(...firstParty);

  const rounds = QUICK ? 2 : 10;
  const budgetUs = QUICK ? 100_000 : 400_000; // per scenario and round
  // Warm-up: let V8 optimise every path, and size each scenario's rounds to a time budget.
  const perRound = new Map<Scenario, number>();
  for (const target of scenarios) {
    await measure(target, QUICK ? 200 : 2000, false);
    const start = nowNs();
    await measure(target, 200, false);
    const each = (nowNs() - start) / 1000 / 200;
    perRound.set(target, Math.max(100, Math.min(20_000, Math.floor(budgetUs / each))));
  }
  for (let round = 0; round < rounds; round++) {
    for (const target of scenarios) await measure(target, perRound.get(target)!, true);
  }

  const rows: Row[] = [];
  const statsOf = new Map<Scenario, Stats>(scenarios.map((target) => [target, stats(target.samples)]));
  const baseline = (mode: 'json' | 'stream', chunks: number) =>
    statsOf.get(scenarios.find((target) => target.plugins === 0 && target.mode === mode && target.chunks === chunks)!)!;
  for (const target of scenarios.filter((entry) => !firstParty.includes(entry))) {
    const own = statsOf.get(target)!;
    const base = baseline(target.mode, target.chunks);
    rows.push({
      name: target.name,
      plugins: target.plugins,
      mode: target.mode,
      p50_us: round(own.p50 - base.p50),
      p99_us: round(own.p99 - base.p99),
      ops_per_s: Math.round(1e6 / own.mean),
      abs_p50_us: round(own.p50),
      abs_p99_us: round(own.p99),
      abs_mean_us: round(own.mean),
      baseline_p50_us: round(base.p50),
      baseline_p99_us: round(base.p99),
      samples: own.count,
      ...(target.mode === 'stream' ? { chunks: target.chunks } : {}),
    });
  }

  // Per streamed chunk, with 10 plugins: the slope of the overhead between 20 and 100 chunks.
  const overheadAt = (plugins: number, chunks: number, q: 'p50' | 'p99') => {
    const row = rows.find((r) => r.plugins === plugins && r.mode === 'stream' && (r.chunks ?? 0) === chunks)!;
    return q === 'p50' ? row.p50_us : row.p99_us;
  };
  const jsonOverhead = (plugins: number, q: 'p50' | 'p99') => {
    const row = rows.find((r) => r.plugins === plugins && r.mode === 'json')!;
    return q === 'p50' ? row.p50_us : row.p99_us;
  };
  const span = LONG_STREAM_CHUNKS - STREAM_CHUNKS;
  const slope50 = (overheadAt(10, LONG_STREAM_CHUNKS, 'p50') - overheadAt(10, STREAM_CHUNKS, 'p50')) / span;
  const slope99 = (overheadAt(10, LONG_STREAM_CHUNKS, 'p99') - overheadAt(10, STREAM_CHUNKS, 'p99')) / span;
  const formula50 = (overheadAt(10, STREAM_CHUNKS, 'p50') - jsonOverhead(10, 'p50')) / STREAM_CHUNKS;
  const long10Stats = statsOf.get(long10)!;
  rows.push({
    name: 'per_chunk',
    plugins: 10,
    mode: 'stream',
    p50_us: round(slope50, 3),
    p99_us: round(slope99, 3),
    ops_per_s: Math.round(1e6 / Math.max(slope50, 0.001)),
    method: `slope of the 10-plugin stream overhead between ${STREAM_CHUNKS} and ${LONG_STREAM_CHUNKS} chunks`,
    formula_p50_us: round(formula50, 3),
    formula: `(stream overhead − json overhead) / ${STREAM_CHUNKS}, 10 plugins, p50`,
    abs_p50_us_per_chunk_100: round(long10Stats.p50 / (LONG_STREAM_CHUNKS + 1), 3),
  });

  for (const target of firstParty) {
    const own = statsOf.get(target)!;
    const base = baseline(target.mode, target.chunks);
    rows.push({
      name: target.name,
      plugins: 1,
      mode: target.mode,
      p50_us: round(own.p50 - base.p50),
      p99_us: round(own.p99 - base.p99),
      ops_per_s: Math.round(1e6 / own.mean),
      abs_p50_us: round(own.p50),
      abs_p99_us: round(own.p99),
      method:
        'the first-party plugin alone with its defaults, over the 0-plugin run (see bench/first-party-plugins.ts)',
      ...(target.mode === 'stream' ? { chunks: target.chunks } : {}),
    });
  }

  const breaker = await breakerCheck(QUICK ? 20 : 200, 100_000);
  rows.push({
    name: 'breaker_check',
    plugins: 1,
    mode: 'json',
    p50_us: round(breaker.check.p50, 4),
    p99_us: round(breaker.check.p99, 4),
    ops_per_s: Math.round(1e6 / Math.max(breaker.check.mean, 1e-6)),
    method: 'breaker.directTicket() per call, closed circuit (the check invokeGuarded makes), batches of 100,000',
    run_fast_path_p50_us: round(breaker.run.p50, 4),
    run_fast_path_p99_us: round(breaker.run.p99, 4),
    run_method: 'await breaker.run(fn) minus await fn(), closed circuit, per call',
  });

  const hooks = await hookDispatch(QUICK ? 20 : 200, 2000);
  rows.push({
    name: 'hook_dispatch',
    plugins: 3,
    mode: 'json',
    p50_us: round(hooks.p50),
    p99_us: round(hooks.p99),
    ops_per_s: Math.round(1e6 / hooks.mean),
    method:
      'HookManager.execute(afterModelCall) with 2 foreground handlers (async, sync) + 1 MONITORING, per dispatch (batches of 2,000)',
  });

  for (const target of scenarios) await target.manager.shutdown();

  const out = writeResults('pipeline', rows);

  const table = rows.map((row) => ({
    name: row.name,
    plugins: row.plugins,
    mode: row.mode,
    'p50 µs (over 0)': row.p50_us,
    'p99 µs (over 0)': row.p99_us,
    'abs p50 µs': row.abs_p50_us ?? '',
    'abs p99 µs': row.abs_p99_us ?? '',
    'ops/s': row.ops_per_s,
  }));
  console.table(table);
  // The per-message targets are for a message (json); a streamed message may add its chunks:
  // 15 µs + 20 × 2 µs at p50 and 100 µs + 20 × 2 µs at p99 (see docs/PERFORMANCE.md).
  const streamBudget50 = 15 + STREAM_CHUNKS * 2;
  const streamBudget99 = 100 + STREAM_CHUNKS * 2;
  const targets = [
    ['10 plugins, per message (json) p50 ≤ 15 µs', jsonOverhead(10, 'p50'), 15],
    ['10 plugins, per message (json) p99 ≤ 100 µs', jsonOverhead(10, 'p99'), 100],
    [`10 plugins, streamed message p50 ≤ ${streamBudget50} µs`, overheadAt(10, STREAM_CHUNKS, 'p50'), streamBudget50],
    [`10 plugins, streamed message p99 ≤ ${streamBudget99} µs`, overheadAt(10, STREAM_CHUNKS, 'p99'), streamBudget99],
    ['per streamed chunk (10 plugins) ≤ 2 µs', slope50, 2],
    ['breaker check ≤ 0.2 µs', breaker.check.p50, 0.2],
  ] as const;
  for (const [label, value, limit] of targets) {
    console.log(`${value <= limit ? 'MET   ' : 'MISSED'} ${label}: ${round(value, 3)} µs`);
  }
  console.log(`Wrote ${out} in ${round((performance.now() - began) / 1000, 1)} s`);
}

// Run only when executed, so that other scripts can import the scenarios.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const only = process.env.BENCH_BREAKDOWN;
  if (process.env.BENCH_PROFILE) await profileOne(process.env.BENCH_PROFILE);
  else if (only === 'json' || only === 'stream') await breakdown(only);
  else await main();
}
