/**
 * `npm run bench:http`: Plugboard's HTTP overhead against the practical ceiling, a bare
 * node:http server answering the same bytes (see bench/http-targets.ts).
 *
 * Each target runs in its own child process on 127.0.0.1; autocannon loads it from this
 * process at concurrency 1 and 10, non-streaming (JSON) and streaming (SSE, 20 chunks). Rounds
 * interleave the targets so that drift of the shared machine hits both alike; each row is the
 * median over rounds. Latency comes from autocannon's per-response timings (µs resolution,
 * not its millisecond histogram); CPU per request is the target process's user+system time
 * over the requests it answered.
 *
 * Writes bench/results/http.json. Targets (issue #4): Plugboard ≥ 0.7× the bare server's
 * throughput, and ≤ 0.15 ms added p50 at c=1. BENCH_QUICK=1 runs one short round.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { createHistogram } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { MODEL } from './http-shared.ts';
import { writeResults } from './report.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = QUICK ? 1 : 3;
const SECONDS = QUICK ? 1 : 3;
const WARMUP_SECONDS = QUICK ? 1 : 2;
const TARGETS = ['bare', 'plugboard'] as const;
const MODES = ['json', 'sse'] as const;
const CONCURRENCIES = [1, 10] as const;

type Target = (typeof TARGETS)[number];
type Mode = (typeof MODES)[number];

interface Sample {
  readonly reqPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerReq: number;
}

interface RunningTarget {
  readonly child: ChildProcess;
  readonly url: string;
  cpu(): Promise<number>;
}

async function startTarget(name: Target): Promise<RunningTarget> {
  const child = fork(fileURLToPath(new URL('./http-targets.ts', import.meta.url)), [name], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [message] = (await once(child, 'message')) as [{ port: number }];
  return {
    child,
    url: `http://127.0.0.1:${message.port}`,
    async cpu() {
      child.send('cpu');
      const [reply] = (await once(child, 'message')) as [{ cpu: number }];
      return reply.cpu;
    },
  };
}

function body(mode: Mode): string {
  return JSON.stringify({
    model: MODEL,
    stream: mode === 'sse',
    messages: [{ role: 'user', content: 'Hello there, how are you?' }],
  });
}

async function load(target: RunningTarget, mode: Mode, connections: number, seconds: number): Promise<Sample> {
  const latencies = createHistogram();
  const cpuBefore = await target.cpu();
  let failures = 0;
  let resolveResult!: (result: autocannon.Result) => void;
  let rejectResult!: (error: Error) => void;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    resolveResult = resolve;
    rejectResult = reject;
  });
  const instance = autocannon(
    {
      url: `${target.url}/v1/chat/completions`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(mode),
      connections,
      duration: seconds,
    },
    (error, result) => (error ? rejectResult(error) : resolveResult(result)),
  );
  instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
    if (statusCode !== 200) failures++;
    else latencies.record(Math.max(1, Math.round(responseTimeMs * 1000)));
  });
  const result = await finished;
  const cpuAfter = await target.cpu();
  if (failures > 0 || result.errors > 0 || result.non2xx > 0) {
    throw new Error(
      `${target.url} ${mode} c=${connections}: ${failures + result.non2xx} non-2xx, ${result.errors} errors`,
    );
  }
  const requests = result.requests.total;
  return {
    reqPerS: requests / seconds,
    p50Ms: latencies.percentile(50) / 1000,
    p99Ms: latencies.percentile(99) / 1000,
    cpuUsPerReq: (cpuAfter - cpuBefore) / requests,
  };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const round3 = (value: number): number => Math.round(value * 1000) / 1000;

async function main(): Promise<void> {
  const running = new Map<Target, RunningTarget>();
  for (const name of TARGETS) running.set(name, await startTarget(name));
  try {
    for (const name of TARGETS) for (const mode of MODES) await load(running.get(name)!, mode, 10, WARMUP_SECONDS);
    const samples = new Map<string, Sample[]>();
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which target goes first, so neither always runs on a warmer machine.
      const order = round % 2 === 0 ? TARGETS : [...TARGETS].reverse();
      for (const mode of MODES) {
        for (const connections of CONCURRENCIES) {
          for (const name of order) {
            const key = `${name}|${mode}|${connections}`;
            const sample = await load(running.get(name)!, mode, connections, SECONDS);
            samples.set(key, [...(samples.get(key) ?? []), sample]);
            process.stderr.write(
              `round ${round + 1} ${name.padEnd(9)} ${mode} c=${String(connections).padEnd(2)} ${sample.reqPerS.toFixed(0).padStart(6)} req/s  p50 ${sample.p50Ms.toFixed(3)} ms  p99 ${sample.p99Ms.toFixed(3)} ms  ${sample.cpuUsPerReq.toFixed(0)} µs CPU/req\n`,
            );
          }
        }
      }
    }
    const rows = [];
    for (const mode of MODES) {
      for (const connections of CONCURRENCIES) {
        const summary = (name: Target) => {
          const list = samples.get(`${name}|${mode}|${connections}`)!;
          return {
            target: name,
            mode,
            concurrency: connections,
            req_per_s: Math.round(median(list.map((sample) => sample.reqPerS))),
            p50_ms: round3(median(list.map((sample) => sample.p50Ms))),
            p99_ms: round3(median(list.map((sample) => sample.p99Ms))),
            cpu_us_per_req: Math.round(median(list.map((sample) => sample.cpuUsPerReq))),
          };
        };
        const bare = summary('bare');
        const plugboard = summary('plugboard');
        rows.push(bare, {
          ...plugboard,
          plugins: 10,
          ratio_vs_bare: round3(plugboard.req_per_s / bare.req_per_s),
          added_p50_ms: round3(plugboard.p50_ms - bare.p50_ms),
        });
      }
    }
    console.table(rows);
    const out = writeResults(
      'http',
      rows.map((row) => ({ ...row, rounds: ROUNDS, seconds_per_run: SECONDS })),
    );
    console.log(`wrote ${out}`);
  } finally {
    for (const target of running.values()) target.child.kill();
  }
}

await main();
