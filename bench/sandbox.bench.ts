/**
 * `npm run bench:sandbox`: what running a plugin in its own sandboxed process (#15) costs, side by
 * side in one run (this machine is noisy: the ratios are what count). The plugin is an output
 * processor (bench/sandbox-subjects.ts): `processMessage` upper-cases, and so does its streaming
 * transform (window 0).
 *
 * 1. Round trip of one call, p50/p99 over sequential calls after a warm-up, the targets
 *    interleaved in rounds so that drift hits all alike:
 *    - `floor-echo`: a bare Node ping-pong over a pipe (a tiny child answering JSON lines on fd 3,
 *      as the sandbox's process does) sent the very message the proxy sends for a
 *      `processMessage` call; the echo answers with the request's size;
 *    - `floor-reply`: the same child answering with what the sandbox answers (`{ t: 'result', id,
 *      ok, value: message }`): the same bytes both ways as the sandbox, the floor the ratios use;
 *    - `child-host-direct`: the sandbox's child program (child-main, ChildHost) started as a bare
 *      child, no isolation, called in its protocol without the proxy: the child's share;
 *    - `sandboxed-cpu100` / `sandboxed-cpu50`: `plugin.processMessage(message, context, call)` on
 *      the proxy `loadSandboxedPlugin` returns, with the cgroup CPU quota at 100 % and 50 %;
 *    - `in-process`: the same plugin file loaded by `loadPluginModule`, called the same way.
 *    Each also with this process's CPU time per call (user + system, all its threads): on a VM
 *    most of the floor is the kernel's work of one pipe write and the other side's wake-up.
 * 2. Through the whole pipeline (`startManager`, an echo backend): one chat request (JSON) with
 *    the processor sandboxed vs in process, p50 per request.
 * 3. Streaming: the windowed transform over a reply of 20 and of 200 chunks of 4 characters; µs
 *    per chunk = the slope of the p50 between the two (the request's fixed costs cancel out),
 *    sandboxed vs in process; the difference is the sandbox's cost per chunk.
 * 4. Start-up: `loadSandboxedPlugin` until the proxy is ready (process started, plugin loaded in
 *    it), median of a few, next to forking a bare Node child until its first message, to the
 *    child program without isolation (`child-host-direct`), and to loading the plugin in process;
 *    sandboxed at a quota of 100 % and of 200 % (both cores here).
 *
 * The sandbox child runs from dist/ only when the build matches the sources: it is made here
 * first if it does not. Env: BENCH_QUICK=1 (fewer calls and start-ups). Writes
 * bench/results/sandbox.json. Linux (the sandbox's namespaces and cgroups; printed as found).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { staleReason } from '../scripts/build-manifest.mjs';
import { loadPluginModule } from '../src/core/plugin/module-loader.ts';
import type { AnyPlugin, Message, MessageProcessor, PluginManager } from '../src/index.ts';
import { type IsolationReport, SANDBOX_REPORT } from '../src/sandbox/isolation-report.ts';
import { childEntry } from '../src/sandbox/launch-command.ts';
import { loadOwnServiceRefs, loadSandboxedPlugin } from '../src/sandbox/sandboxed-plugin.ts';
import { chatRequest, startManager } from '../src/testing/index.ts';
import { stats } from './pipeline.bench.ts';
import { machine, writeResults } from './report.ts';
import {
  benchCall,
  ECHO_CHILD,
  echoBackend,
  forkBare,
  type PipedChild,
  pingPong,
  READY_CHILD,
  REPLY_CHILD,
  requestRunner,
  sandboxOptions,
  silentLogger,
  startChildHostDirect,
  writePlugin,
} from './sandbox-subjects.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const QUICK = process.env.BENCH_QUICK === '1';
const CALLS = QUICK ? 1_000 : 5_000;
const ROUNDS = QUICK ? 4 : 10;
/** Calls before recording: V8 needs a few thousand requests to settle the pipeline's paths. */
const WARM_UP = QUICK ? 500 : 2_000;
const REQUESTS = QUICK ? 1_000 : 3_000;
const SHORT_STREAM = 20;
const LONG_STREAM = 200;
const STREAMS = QUICK ? 60 : 300;
const STARTS = QUICK ? 3 : 5;
const TARGET_P50_US = 50;
const TARGET_P99_US = 500;

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const nowUs = () => Number(process.hrtime.bigint()) / 1000;
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

// ——— measuring ———

interface Target {
  readonly name: string;
  readonly run: () => Promise<unknown>;
  readonly samples: number[];
  /** This process's CPU time (user + system) over the recorded calls, in µs. */
  cpuUs: number;
}

const target = (name: string, run: () => Promise<unknown>): Target => ({ name, run, samples: [], cpuUs: 0 });

async function measure(subject: Target, count: number, record: boolean): Promise<void> {
  const { run, samples } = subject;
  const cpuBefore = process.cpuUsage();
  for (let index = 0; index < count; index++) {
    const start = nowUs();
    await run();
    if (record) samples.push(nowUs() - start);
  }
  if (record) {
    const cpu = process.cpuUsage(cpuBefore);
    subject.cpuUs += cpu.user + cpu.system;
  }
}

/** Warms every target, then runs `total` recorded calls of each in interleaved rounds. */
async function interleaved(targets: readonly Target[], warmUp: number, total: number): Promise<void> {
  for (const subject of targets) await measure(subject, warmUp, false);
  const perRound = Math.ceil(total / ROUNDS);
  for (let index = 0; index < ROUNDS; index++) {
    for (const subject of index % 2 === 0 ? targets : [...targets].reverse()) {
      await measure(subject, perRound, true);
    }
  }
}

function isolationOf(plugin: AnyPlugin): IsolationReport {
  return (plugin as unknown as Record<symbol, () => IsolationReport>)[SANDBOX_REPORT]!();
}

/**
 * Makes the build of src/ current, so that the sandbox child runs from it (from the sources it
 * takes seconds to start). Sources still being edited (other work on this machine) may outrun a
 * build: a few attempts, then `strict` throws, else the caller counts what ran from the sources.
 */
function ensureBuild(strict: boolean): void {
  for (let attempt = 0; attempt < 3; attempt++) {
    const stale = staleReason();
    if (stale === undefined) return;
    console.log(`  (the build of src/ is not current: ${stale}; building it)`);
    const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { stdio: 'inherit' });
    if (built.status !== 0) break;
  }
  if (strict) throw new Error('npm run build failed, or src/ keeps changing');
}

interface Row {
  readonly name: string;
  readonly group: 'round-trip' | 'pipeline' | 'streaming' | 'start-up';
  readonly [field: string]: unknown;
}

// ——— main ———

const began = performance.now();
const host = machine();
console.log(`Plugboard sandbox benchmark — ${host.cpu}, ${host.cores} cores, Node ${host.node}`);
ensureBuild(true);
await loadOwnServiceRefs();
const folder = mkdtempSync(join(tmpdir(), 'plugboard-sandbox-bench-'));
const children: PipedChild[] = [];
const sandboxes: AnyPlugin[] = [];
const managers: PluginManager[] = [];
try {
  const rows: Row[] = [];

  // 1. Round trips.
  const sandboxed100 = await loadSandboxedPlugin(sandboxOptions(writePlugin(folder, 'cpu100'), 100), silentLogger);
  const sandboxed50 = await loadSandboxedPlugin(sandboxOptions(writePlugin(folder, 'cpu50'), 50), silentLogger);
  sandboxes.push(sandboxed100, sandboxed50);
  const isolation = isolationOf(sandboxed100);
  console.log('The sandbox as enforced here:');
  for (const [what, how] of Object.entries(isolation.enforcement)) console.log(`  ${what}: ${how}`);
  for (const gap of isolation.gaps) console.log(`  gap: ${gap}`);

  const inProcess = (await loadPluginModule(writePlugin(folder, 'in-process'))) as MessageProcessor;
  const context = chatRequest('Hello, how are you today?');
  const message: Message = { role: 'assistant', content: 'Hello, how are you today?' };
  // The message the proxy sends for this call (see RpcChannel.call), for the floor.
  const wire = {
    t: 'call',
    id: 1_000_000,
    method: 'processMessage',
    args: [message, context],
    requestId: benchCall.requestId,
  };
  const requestBytes = Buffer.byteLength(JSON.stringify(wire));
  const answerBytes = Buffer.byteLength(JSON.stringify({ t: 'result', id: 1_000_000, ok: true, value: message }));
  const echo = forkBare(ECHO_CHILD);
  const reply = forkBare(REPLY_CHILD);
  const direct = await startChildHostDirect(writePlugin(folder, 'direct'));
  children.push(echo, reply, direct);
  let directId = 0;
  const processors = [sandboxed100, sandboxed50, inProcess] as MessageProcessor[];
  for (const processor of processors) {
    const answered = await processor.processMessage(message, context, benchCall);
    if ((answered as Message).content !== message.content.toUpperCase()) throw new Error('a processor misbehaved');
  }

  const roundTrips = [
    target('floor-echo', () => pingPong(echo, wire)),
    target('floor-reply', () => pingPong(reply, wire)),
    target('child-host-direct', () => pingPong(direct, { ...wire, id: ++directId })),
    target('sandboxed-cpu100', async () => processors[0]!.processMessage(message, context, benchCall)),
    target('sandboxed-cpu50', async () => processors[1]!.processMessage(message, context, benchCall)),
    target('in-process', async () => inProcess.processMessage(message, context, benchCall)),
  ];
  console.log(`Round trips: ${CALLS} calls each (request ${requestBytes} B of JSON, answer ${answerBytes} B)…`);
  const throttledBefore = [sandboxed100, sandboxed50].map((plugin) => isolationOf(plugin).usage?.cpuThrottledUs ?? 0);
  await interleaved(roundTrips, WARM_UP, CALLS);
  const throttled = [sandboxed100, sandboxed50].map(
    (plugin, index) => (isolationOf(plugin).usage?.cpuThrottledUs ?? 0) - throttledBefore[index]!,
  );
  const floor = stats(roundTrips[1]!.samples);
  for (const subject of roundTrips) {
    const own = stats(subject.samples);
    const quota = subject.name === 'sandboxed-cpu100' ? 0 : subject.name === 'sandboxed-cpu50' ? 1 : undefined;
    rows.push({
      name: subject.name,
      group: 'round-trip',
      p50_us: round(own.p50),
      p99_us: round(own.p99),
      mean_us: round(own.mean),
      p50_x_floor: round(own.p50 / floor.p50, 2),
      p99_x_floor: round(own.p99 / floor.p99, 2),
      parent_cpu_us_per_call: round(subject.cpuUs / own.count),
      ...(quota === undefined ? {} : { cgroup_throttled_ms: round(throttled[quota]! / 1000) }),
      samples: own.count,
      request_bytes: requestBytes,
      answer_bytes: subject.name === 'floor-echo' ? requestBytes : answerBytes,
    });
  }

  // 2 and 3. Through the pipeline: one manager with the processor sandboxed, one with it in process.
  const sandboxedPipe = await loadSandboxedPlugin(sandboxOptions(writePlugin(folder, 'pipeline'), 100), silentLogger);
  sandboxes.push(sandboxedPipe);
  const inProcessPipe = (await loadPluginModule(writePlugin(folder, 'pipeline-in-process'))) as AnyPlugin;
  const variants = { sandboxed: sandboxedPipe, 'in-process': inProcessPipe };
  const requests: Target[] = [];
  const streams: Target[] = [];
  for (const [variant, plugin] of Object.entries(variants)) {
    const manager = await startManager([echoBackend, plugin], { defaultBackend: 'echo' });
    managers.push(manager);
    const json = chatRequest('Hello, how are you today?');
    requests.push(target(`pipeline-json-${variant}`, await requestRunner(manager, json)));
    for (const chunks of [SHORT_STREAM, LONG_STREAM]) {
      const streamed = chatRequest('abcd'.repeat(chunks), { stream: true });
      streams.push(target(`stream-${chunks}-${variant}`, await requestRunner(manager, streamed)));
    }
  }
  console.log(`Pipeline: ${REQUESTS} JSON requests and ${STREAMS} streams of each length, each way…`);
  await interleaved(requests, WARM_UP, REQUESTS);
  await interleaved(streams, Math.ceil(STREAMS / 5), STREAMS);
  const inProcessRequest = stats(requests[1]!.samples);
  for (const subject of requests) {
    const own = stats(subject.samples);
    rows.push({
      name: subject.name,
      group: 'pipeline',
      p50_us: round(own.p50),
      p99_us: round(own.p99),
      p50_over_in_process_us: round(own.p50 - inProcessRequest.p50),
      p50_x_floor: round(own.p50 / floor.p50, 2),
      parent_cpu_us_per_request: round(subject.cpuUs / own.count),
      samples: own.count,
    });
  }
  const perChunk: Record<string, number> = {};
  for (const variant of Object.keys(variants)) {
    const short = stats(streams.find((subject) => subject.name === `stream-${SHORT_STREAM}-${variant}`)!.samples);
    const long = stats(streams.find((subject) => subject.name === `stream-${LONG_STREAM}-${variant}`)!.samples);
    perChunk[variant] = (long.p50 - short.p50) / (LONG_STREAM - SHORT_STREAM);
    rows.push({
      name: `stream-per-chunk-${variant}`,
      group: 'streaming',
      per_chunk_us: round(perChunk[variant]!, 2),
      [`p50_us_${SHORT_STREAM}_chunks`]: round(short.p50),
      [`p50_us_${LONG_STREAM}_chunks`]: round(long.p50),
      [`p99_us_${LONG_STREAM}_chunks`]: round(long.p99),
      samples: long.count,
      method: `slope of the request's p50 between ${SHORT_STREAM} and ${LONG_STREAM} chunks of 4 characters`,
    });
  }
  const sandboxPerChunk = perChunk.sandboxed! - perChunk['in-process']!;
  rows.push({
    name: 'stream-per-chunk-sandbox-cost',
    group: 'streaming',
    per_chunk_us: round(sandboxPerChunk, 2),
    per_chunk_x_floor: round(sandboxPerChunk / floor.p50, 2),
    method: 'sandboxed per chunk minus in-process per chunk',
  });
  // A manager's shutdown also ends its sandboxed plugin's process.
  for (const manager of managers.splice(0)) await manager.shutdown();
  sandboxes.pop();

  // 4. Start-up, the kinds alternating; the first of each untimed (page cache, the platform probe).
  console.log(`Start-up: ${STARTS} of each…`);
  const kinds = ['bare-fork', 'child-host-direct', 'in-process-load', 'sandbox-cpu100', 'sandbox-cpu200'] as const;
  const starts = new Map<string, number[]>(kinds.map((kind) => [kind, []]));
  let started = 0;
  /** Start-ups of the child program that ran from the TypeScript sources (the build went stale). */
  let fromSources = 0;
  const startOnce = async (kind: (typeof kinds)[number]): Promise<number> => {
    const path = writePlugin(folder, `start-${started++}`);
    if (kind !== 'bare-fork' && kind !== 'in-process-load') {
      // Sources edited meanwhile (other work on this machine) would start the child from them.
      ensureBuild(false);
      if (!(await childEntry()).fromBuild) fromSources++;
    }
    const start = performance.now();
    if (kind === 'bare-fork' || kind === 'child-host-direct') {
      let child: PipedChild;
      if (kind === 'child-host-direct') child = await startChildHostDirect(path);
      else {
        child = forkBare(READY_CHILD);
        await new Promise((resolve) => child.once('message', resolve));
      }
      const took = performance.now() - start;
      child.kill();
      return took;
    }
    if (kind === 'in-process-load') {
      await loadPluginModule(path);
      return performance.now() - start;
    }
    const plugin = await loadSandboxedPlugin(sandboxOptions(path, kind === 'sandbox-cpu100' ? 100 : 200), silentLogger);
    const took = performance.now() - start;
    await plugin.shutdown?.(benchCall);
    return took;
  };
  for (const kind of kinds) await startOnce(kind);
  for (let index = 0; index < STARTS; index++) {
    for (const kind of index % 2 === 0 ? kinds : [...kinds].reverse()) starts.get(kind)!.push(await startOnce(kind));
  }
  const bareStart = median(starts.get('bare-fork')!);
  for (const [kind, times] of starts) {
    rows.push({
      name: `start-${kind}`,
      group: 'start-up',
      median_ms: round(median(times)),
      min_ms: round(Math.min(...times)),
      max_ms: round(Math.max(...times)),
      x_bare_fork: round(median(times) / bareStart, 2),
      runs: times.length,
      ...(fromSources > 0 ? { child_from_sources: fromSources } : {}),
    });
  }

  // ——— the report ———
  const out = writeResults('sandbox', rows);
  for (const group of ['round-trip', 'pipeline', 'streaming', 'start-up'] as const) {
    console.log(`\n${group}`);
    console.table(rows.filter((row) => row.group === group).map(({ group: _, method: __, ...rest }) => rest));
  }
  const sandboxed = stats(roundTrips[3]!.samples);
  const checks = [
    [`sandboxed round trip p50 ≤ ${TARGET_P50_US} µs`, sandboxed.p50, TARGET_P50_US, floor.p50],
    [`sandboxed round trip p99 ≤ ${TARGET_P99_US} µs`, sandboxed.p99, TARGET_P99_US, floor.p99],
  ] as const;
  console.log('\nTargets (the floor: floor-reply, a bare Node round trip over a pipe with the same bytes):');
  for (const [label, value, limit, base] of checks) {
    const verdict = value <= limit ? 'MET   ' : 'MISSED';
    console.log(`${verdict} ${label}: ${round(value)} µs (${round(value / base, 2)}× the floor's ${round(base)} µs)`);
  }
  const halfQuota = stats(roundTrips[4]!.samples);
  console.log(
    `At a 50 % CPU quota: p50 ${round(halfQuota.p50)} µs, p99 ${round(halfQuota.p99)} µs (${round(halfQuota.p99 / sandboxed.p99, 2)}× the p99 at 100 %); throttled ${round(throttled[1]! / 1000)} ms (at 100 %: ${round(throttled[0]! / 1000)} ms)`,
  );
  console.log(
    `Streaming: ${round(sandboxPerChunk, 2)} µs per chunk for the sandbox (${round(perChunk.sandboxed!, 2)} sandboxed vs ${round(perChunk['in-process']!, 2)} in process)`,
  );
  if (fromSources > 0) {
    console.log(`WARNING: ${fromSources} start-ups ran the child from the sources (src/ changed during the run)`);
  }
  console.log(`Wrote ${out} in ${round((performance.now() - began) / 1000)} s`);
} finally {
  for (const manager of managers) await manager.shutdown();
  for (const plugin of sandboxes) await plugin.shutdown?.(benchCall);
  for (const child of children) child.kill();
  rmSync(folder, { recursive: true, force: true });
}
