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
 * throughput, and ≤ 0.15 ms added p50 at c=1. The proxy case (issue #5): Plugboard with the
 * openai backend ≥ 0.7× a minimal node:http proxy, both in front of the same fast upstream.
 * BENCH_QUICK=1 runs one short round; BENCH_CASES=direct or =proxy runs one pair.
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
/**
 * Each Plugboard target and the ceiling it is compared with. The proxy pair (issue #5) puts
 * a fast fake OpenAI-compatible upstream behind both: a minimal node:http proxy, and
 * Plugboard with the openai backend. `BENCH_CASES=direct` or `=proxy` runs one pair.
 */
const PAIRS = [
  { name: 'direct', base: 'bare', subject: 'plugboard', ratio: 'ratio_vs_bare' },
  { name: 'proxy', base: 'bare-proxy', subject: 'plugboard-proxy', ratio: 'ratio_vs_bare_proxy' },
] as const;
const CASES = PAIRS.filter((pair) => (process.env.BENCH_CASES ?? 'direct,proxy').split(',').includes(pair.name));
const TARGETS = CASES.flatMap((pair) => [pair.base, pair.subject]);
const MODES = ['json', 'sse'] as const;
const CONCURRENCIES = [1, 10] as const;

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

async function startTarget(name: string, upstream?: string): Promise<RunningTarget> {
  const args = upstream === undefined ? [name] : [name, upstream];
  const child = fork(fileURLToPath(new URL('./http-targets.ts', import.meta.url)), args, {
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
  const running = new Map<string, RunningTarget>();
  // The proxies' upstream: a bare server of its own, not measured.
  const upstream = CASES.some((pair) => pair.name === 'proxy') ? await startTarget('bare') : undefined;
  if (upstream !== undefined) running.set('upstream', upstream);
  for (const name of TARGETS)
    running.set(name, await startTarget(name, name.endsWith('proxy') ? upstream?.url : undefined));
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
              `round ${round + 1} ${name.padEnd(15)} ${mode} c=${String(connections).padEnd(2)} ${sample.reqPerS.toFixed(0).padStart(6)} req/s  p50 ${sample.p50Ms.toFixed(3)} ms  p99 ${sample.p99Ms.toFixed(3)} ms  ${sample.cpuUsPerReq.toFixed(0)} µs CPU/req\n`,
            );
          }
        }
      }
    }
    const rows = [];
    for (const mode of MODES) {
      for (const connections of CONCURRENCIES) {
        const summary = (name: string) => {
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
        for (const pair of CASES) {
          const base = summary(pair.base);
          const subject = summary(pair.subject);
          rows.push(base, {
            ...subject,
            plugins: 10,
            [pair.ratio]: round3(subject.req_per_s / base.req_per_s),
            added_p50_ms: round3(subject.p50_ms - base.p50_ms),
          });
        }
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
