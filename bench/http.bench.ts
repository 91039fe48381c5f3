/**
 * `npm run bench:http`: Plugboard's HTTP overhead against the practical ceiling — a bare
 * node:http server answering the same bytes, or a minimal node:http proxy in front of the same
 * fast fake upstream — and against the Portkey gateway (see bench/http-targets.ts and
 * bench/portkey/).
 *
 * Each target runs in its own child process on 127.0.0.1; autocannon loads it from this
 * process at concurrency 1 and 10, non-streaming (JSON) and streaming (SSE, or NDJSON for the
 * Ollama API; 20 chunks). Rounds interleave the targets so that drift of the shared machine
 * hits all of them alike; each row is the median over rounds. Latency comes from autocannon's
 * per-response timings (µs resolution, not its millisecond histogram); CPU per request is the
 * target process's user+system time over the requests it answered; RSS is the target
 * process's resident set right after each run (median over rounds), its peak, and its RSS once
 * started, before any request.
 *
 * Cases (`BENCH_CASES`, comma-separated; default all):
 * - `direct`: Plugboard with a scripted backend vs the bare server (issue #4);
 * - `proxy`: Plugboard with the `openai` backend vs a minimal proxy, both in front of a fast
 *   fake OpenAI upstream (issue #5);
 * - `portkey`: the Portkey gateway 1.15.2 in front of the same upstream, vs the same minimal
 *   proxy (issue #11); installed on demand into bench/portkey/ (`npm ci --prefix bench/portkey`);
 * - `ollama-proxy`: Plugboard with the `ollama` backend vs a minimal proxy of `/api/chat`, both
 *   in front of a fast fake Ollama (issue #11);
 * - `ladder`: what each layer between the bare proxy and Plugboard costs — the same proxy on
 *   Fastify, on node:http with the openai backend's wire client, and Plugboard with no plugins.
 *
 * Writes bench/results/http.json. Targets (issue #11): in the proxy cases Plugboard ≥ 0.7× the
 * bare proxy's throughput, CPU per request ≤ 2× its, ≤ 0.2 ms added p50 at c=1 (JSON); in the
 * direct case ≥ 0.7× the bare server. BENCH_QUICK=1 runs one short round.
 */
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createHistogram } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { MODEL, REPLY } from './http-shared.ts';
import { writeResults } from './report.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = QUICK ? 1 : 3;
const SECONDS = QUICK ? 1 : 3;
const WARMUP_SECONDS = QUICK ? 1 : 2;
const MODES = ['json', 'stream'] as const;
const CONCURRENCIES = [1, 10] as const;
const PORTKEY_VERSION = '1.15.2';
const PORTKEY_FOLDER = fileURLToPath(new URL('./portkey/', import.meta.url));

type Mode = (typeof MODES)[number];
type Api = 'openai' | 'ollama';
type Upstream = 'bare' | 'ollama-upstream';

interface TargetSpec {
  /** The client API it serves: OpenAI's chat completions (SSE) or Ollama's `/api/chat` (NDJSON). */
  readonly api: Api;
  /** The upstream process it is put in front of, if any. */
  readonly upstream?: Upstream;
  /** Plugboard with the 10 no-op plugins. */
  readonly plugboard?: true;
  /** Started from bench/portkey/start.mjs rather than bench/http-targets.ts. */
  readonly portkey?: true;
}

const TARGET_SPECS = {
  bare: { api: 'openai' },
  plugboard: { api: 'openai', plugboard: true },
  'bare-proxy': { api: 'openai', upstream: 'bare' },
  'plugboard-proxy': { api: 'openai', upstream: 'bare', plugboard: true },
  'fastify-proxy': { api: 'openai', upstream: 'bare' },
  'wire-proxy': { api: 'openai', upstream: 'bare' },
  'plugboard-proxy-no-plugins': { api: 'openai', upstream: 'bare', plugboard: true },
  portkey: { api: 'openai', upstream: 'bare', portkey: true },
  'bare-ollama-proxy': { api: 'ollama', upstream: 'ollama-upstream' },
  'plugboard-ollama-proxy': { api: 'ollama', upstream: 'ollama-upstream', plugboard: true },
} as const satisfies Record<string, TargetSpec>;
type TargetName = keyof typeof TARGET_SPECS;

/** Each case: the targets measured against a ceiling (`base`); `BENCH_CASES` selects cases. */
const ALL_CASES = [
  { name: 'direct', base: 'bare', subjects: ['plugboard'] },
  { name: 'proxy', base: 'bare-proxy', subjects: ['plugboard-proxy'] },
  { name: 'portkey', base: 'bare-proxy', subjects: ['portkey'] },
  { name: 'ladder', base: 'bare-proxy', subjects: ['fastify-proxy', 'wire-proxy', 'plugboard-proxy-no-plugins'] },
  { name: 'ollama-proxy', base: 'bare-ollama-proxy', subjects: ['plugboard-ollama-proxy'] },
] as const satisfies readonly { name: string; base: TargetName; subjects: readonly TargetName[] }[];

const requestedCases = (process.env.BENCH_CASES ?? ALL_CASES.map((entry) => entry.name).join(','))
  .split(',')
  .map((name) => name.trim())
  .filter((name) => name !== '');
for (const name of requestedCases) {
  if (!ALL_CASES.some((entry) => entry.name === name)) {
    throw new Error(`BENCH_CASES: unknown case ${name}; use ${ALL_CASES.map((entry) => entry.name).join(', ')}`);
  }
}
const CASES = ALL_CASES.filter((entry) => requestedCases.includes(entry.name));
/** The ceiling each measured target is compared with. */
const BASE_OF = new Map<TargetName, TargetName>(
  CASES.flatMap((entry) => entry.subjects.map((subject): [TargetName, TargetName] => [subject, entry.base])),
);
/** Measured targets, each ceiling followed by what is compared with it. */
const GROUPS: TargetName[][] = [...new Set(CASES.map((entry) => entry.base as TargetName))].map((base) => [
  base,
  ...CASES.filter((entry) => entry.base === base).flatMap((entry) => entry.subjects as readonly TargetName[]),
]);
const TARGETS = GROUPS.flat();

interface Sample {
  readonly reqPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerReq: number;
  readonly rssMb: number;
  readonly peakRssMb: number;
}

interface Stats {
  readonly cpu: number;
  readonly rss: number;
  readonly maxRss: number;
}

interface RunningTarget {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
  /** Extra request headers (Portkey's routing headers). */
  readonly headers: Readonly<Record<string, string>>;
  stats(): Promise<Stats>;
}

/** Forks a process that speaks the targets' IPC protocol (see bench/http-targets.ts). */
async function startProcess(
  name: string,
  script: string,
  args: readonly string[],
  options: { execArgv: string[]; quietStdout?: boolean; headers?: Record<string, string> },
): Promise<RunningTarget> {
  const child = fork(script, args, {
    execArgv: options.execArgv,
    stdio: ['ignore', options.quietStdout ? 'ignore' : 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`${name} exited (code ${code}) before it was listening`);
  });
  const [message] = (await Promise.race([once(child, 'message'), exited])) as [{ port: number }];
  return {
    name,
    child,
    url: `http://127.0.0.1:${message.port}`,
    headers: options.headers ?? {},
    async stats() {
      child.send('cpu');
      const [reply] = (await once(child, 'message')) as [Stats];
      return reply;
    },
  };
}

function startTarget(name: string, upstream?: string): Promise<RunningTarget> {
  const script = fileURLToPath(new URL('./http-targets.ts', import.meta.url));
  return startProcess(name, script, upstream === undefined ? [name] : [name, upstream], {
    execArgv: ['--import', 'tsx'],
  });
}

/**
 * The Portkey gateway, with plain Node (not tsx: it is built JavaScript), routed by headers to
 * the OpenAI-compatible upstream.
 */
function startPortkey(upstream: string): Promise<RunningTarget> {
  return startProcess('portkey', `${PORTKEY_FOLDER}start.mjs`, [], {
    execArgv: [],
    quietStdout: true, // it clears the terminal and draws a spinner at start
    headers: {
      authorization: 'Bearer bench',
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': `${upstream}/v1`,
    },
  });
}

/**
 * Installs bench/portkey/ (its own package.json and lockfile; not part of Plugboard's install)
 * when the gateway is missing, of another version, or @hono/node-server is not patched.
 */
function ensurePortkey(): void {
  const gateway = `${PORTKEY_FOLDER}node_modules/@portkey-ai/gateway/package.json`;
  const hono = `${PORTKEY_FOLDER}node_modules/@hono/node-server/dist/index.mjs`;
  const installed = (): boolean =>
    existsSync(gateway) &&
    (JSON.parse(readFileSync(gateway, 'utf8')) as { version: string }).version === PORTKEY_VERSION &&
    existsSync(hono) &&
    readFileSync(hono, 'utf8').includes('return await responseViaResponseObject(');
  if (installed()) return;
  process.stderr.write(
    `The Portkey gateway ${PORTKEY_VERSION} (the comparison row) is not installed in bench/portkey/: running npm ci --prefix bench/portkey (~25 MB, from the npm registry; BENCH_CASES without "portkey" skips it)\n`,
  );
  const result = spawnSync('npm', ['ci', '--prefix', PORTKEY_FOLDER, '--no-audit', '--no-fund'], {
    stdio: ['ignore', 2, 2],
  });
  if (result.status !== 0 || !installed()) {
    throw new Error(
      `could not install bench/portkey/ (npm ci exited ${result.status ?? result.signal}); run npm ci --prefix bench/portkey by hand, or leave "portkey" out of BENCH_CASES`,
    );
  }
}

const pathOf = (api: Api): string => (api === 'ollama' ? '/api/chat' : '/v1/chat/completions');
const modeLabel = (api: Api, mode: Mode): string => (mode === 'json' ? 'json' : api === 'ollama' ? 'ndjson' : 'sse');

function body(mode: Mode): string {
  return JSON.stringify({
    model: MODEL,
    stream: mode === 'stream',
    messages: [{ role: 'user', content: 'Hello there, how are you?' }],
  });
}

/**
 * One request of each mode, read whole: the reply must arrive intact (all 80 characters, and
 * the end of the stream), so that no target is measured answering something else.
 */
async function verify(target: RunningTarget, api: Api, mode: Mode): Promise<void> {
  const response = await fetch(`${target.url}${pathOf(api)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: body(mode),
  });
  const text = await response.text();
  let content = '';
  let ended = false;
  try {
    if (mode === 'json') {
      const answer = JSON.parse(text);
      content = api === 'ollama' ? answer.message.content : answer.choices[0].message.content;
      ended = api === 'ollama' ? answer.done === true : answer.choices[0].finish_reason === 'stop';
    } else if (api === 'ollama') {
      for (const line of text.split('\n').filter((entry) => entry.trim() !== '')) {
        const chunk = JSON.parse(line);
        content += chunk.message?.content ?? '';
        ended = chunk.done === true;
      }
    } else {
      for (const event of text.split('\n\n')) {
        if (!event.startsWith('data: ')) continue;
        if (event === 'data: [DONE]') {
          ended = true;
          continue;
        }
        content += JSON.parse(event.slice(6)).choices[0]?.delta?.content ?? '';
      }
    }
  } catch {
    // reported below with the text
  }
  if (response.status !== 200 || content !== REPLY || !ended) {
    throw new Error(
      `${target.name} ${modeLabel(api, mode)}: not the expected reply (status ${response.status}): ${text.slice(0, 400)}${await pluginFailures(target)}`,
    );
  }
}

/** For a Plugboard target: the plugins that are not active, and why (from `GET /plugins`). */
async function pluginFailures(target: RunningTarget): Promise<string> {
  try {
    const response = await fetch(`${target.url}/plugins`);
    if (!response.ok) return '';
    const { plugins } = (await response.json()) as { plugins: Record<string, { state: string; lastError?: unknown }> };
    const failing = Object.values(plugins).filter((plugin) => plugin.state !== 'ACTIVE');
    return failing.length === 0 ? '' : `\nplugins not active: ${JSON.stringify(failing).slice(0, 2000)}`;
  } catch {
    return '';
  }
}

async function load(
  target: RunningTarget,
  api: Api,
  mode: Mode,
  connections: number,
  seconds: number,
): Promise<Sample> {
  const latencies = createHistogram();
  const before = await target.stats();
  let failures = 0;
  let resolveResult!: (result: autocannon.Result) => void;
  let rejectResult!: (error: Error) => void;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    resolveResult = resolve;
    rejectResult = reject;
  });
  const instance = autocannon(
    {
      url: `${target.url}${pathOf(api)}`,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...target.headers },
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
  const after = await target.stats();
  if (failures > 0 || result.errors > 0 || result.non2xx > 0) {
    throw new Error(
      `${target.name} ${modeLabel(api, mode)} c=${connections}: ${failures + result.non2xx} non-2xx, ${result.errors} errors`,
    );
  }
  const requests = result.requests.total;
  return {
    reqPerS: requests / seconds,
    p50Ms: latencies.percentile(50) / 1000,
    p99Ms: latencies.percentile(99) / 1000,
    cpuUsPerReq: (after.cpu - before.cpu) / requests,
    rssMb: after.rss / 2 ** 20,
    peakRssMb: after.maxRss / 2 ** 20,
  };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const round3 = (value: number): number => Math.round(value * 1000) / 1000;
const snake = (name: string): string => name.replaceAll('-', '_');

interface Row {
  readonly target: TargetName;
  readonly api: Api;
  readonly mode: string;
  readonly concurrency: number;
  readonly req_per_s: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly cpu_us_per_req: number;
  readonly rss_mb: number;
  readonly peak_rss_mb: number;
  readonly start_rss_mb: number;
  readonly [extra: string]: unknown;
}

/** The targets that issue #11 judges (the other rows are there to compare with). */
const JUDGED = new Set<TargetName>(['plugboard', 'plugboard-proxy', 'plugboard-ollama-proxy']);

/** The issue #11 targets that this run can judge, one line each. */
function verdicts(rows: readonly Row[]): string[] {
  const lines: string[] = [];
  const range = (values: number[]): string =>
    values.length === 1 ? `${values[0]}` : `${Math.min(...values)}–${Math.max(...values)}`;
  for (const [subject, base] of BASE_OF) {
    // Portkey and the ladder's rungs are comparisons, not targets of the issue.
    if (!JUDGED.has(subject)) continue;
    const own = rows.filter((row) => row.target === subject);
    const throughput = own.map((row) => row[`ratio_vs_${snake(base)}`] as number);
    const met = (ok: boolean): string => (ok ? 'MET   ' : 'MISSED');
    lines.push(`${met(Math.min(...throughput) >= 0.7)} ${subject} ≥ 0.7× ${base} req/s: ${range(throughput)}×`);
    if (subject === 'plugboard') continue;
    const cpu = own.map((row) => row.cpu_x_base as number);
    lines.push(`${met(Math.max(...cpu) <= 2)} ${subject} CPU/req ≤ 2× ${base}: ${range(cpu)}×`);
    const added = own.find((row) => row.mode === 'json' && row.concurrency === 1)?.added_p50_ms as number;
    lines.push(`${met(added <= 0.2)} ${subject} added p50 at c=1 (JSON) ≤ 0.2 ms: ${added} ms`);
  }
  return lines;
}

async function main(): Promise<void> {
  if (TARGETS.includes('portkey')) ensurePortkey();
  const running = new Map<string, RunningTarget>();
  try {
    // The proxies' upstreams: servers of their own, not measured.
    const upstreams = new Map<Upstream, RunningTarget>();
    for (const name of new Set(TARGETS.map((target) => (TARGET_SPECS[target] as TargetSpec).upstream))) {
      if (name === undefined) continue;
      const upstream = await startTarget(name);
      upstreams.set(name, upstream);
      running.set(`upstream ${name}`, upstream);
    }
    for (const name of TARGETS) {
      const spec: TargetSpec = TARGET_SPECS[name];
      const upstream = spec.upstream === undefined ? undefined : upstreams.get(spec.upstream)!.url;
      running.set(name, spec.portkey ? await startPortkey(upstream!) : await startTarget(name, upstream));
    }
    // RSS once started, before any request.
    const startRss = new Map<TargetName, number>();
    for (const name of TARGETS) startRss.set(name, (await running.get(name)!.stats()).rss / 2 ** 20);
    for (const name of TARGETS) {
      for (const mode of MODES) await verify(running.get(name)!, TARGET_SPECS[name].api, mode);
    }
    for (const name of TARGETS) {
      for (const mode of MODES) await load(running.get(name)!, TARGET_SPECS[name].api, mode, 10, WARMUP_SECONDS);
    }
    const samples = new Map<string, Sample[]>();
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which target goes first, so that none always runs on a warmer machine.
      const order = round % 2 === 0 ? TARGETS : [...TARGETS].reverse();
      for (const mode of MODES) {
        for (const connections of CONCURRENCIES) {
          for (const name of order) {
            const api = TARGET_SPECS[name].api;
            const key = `${name}|${mode}|${connections}`;
            const sample = await load(running.get(name)!, api, mode, connections, SECONDS);
            samples.set(key, [...(samples.get(key) ?? []), sample]);
            process.stderr.write(
              `round ${round + 1} ${name.padEnd(22)} ${modeLabel(api, mode).padEnd(6)} c=${String(connections).padEnd(2)} ${sample.reqPerS.toFixed(0).padStart(6)} req/s  p50 ${sample.p50Ms.toFixed(3)} ms  p99 ${sample.p99Ms.toFixed(3)} ms  ${sample.cpuUsPerReq.toFixed(0)} µs CPU/req  ${sample.rssMb.toFixed(0)} MB\n`,
            );
          }
        }
      }
    }

    const summary = (name: TargetName, mode: Mode, connections: number): Row => {
      const list = samples.get(`${name}|${mode}|${connections}`)!;
      const api = TARGET_SPECS[name].api;
      return {
        target: name,
        api,
        mode: modeLabel(api, mode),
        concurrency: connections,
        req_per_s: Math.round(median(list.map((sample) => sample.reqPerS))),
        p50_ms: round3(median(list.map((sample) => sample.p50Ms))),
        p99_ms: round3(median(list.map((sample) => sample.p99Ms))),
        cpu_us_per_req: Math.round(median(list.map((sample) => sample.cpuUsPerReq))),
        rss_mb: Math.round(median(list.map((sample) => sample.rssMb))),
        peak_rss_mb: Math.round(Math.max(...list.map((sample) => sample.peakRssMb))),
        start_rss_mb: Math.round(startRss.get(name)!),
      };
    };
    const rows: Row[] = [];
    for (const group of GROUPS) {
      for (const mode of MODES) {
        for (const connections of CONCURRENCIES) {
          const base = summary(group[0]!, mode, connections);
          rows.push(base);
          const portkey = group.includes('portkey') ? summary('portkey', mode, connections) : undefined;
          for (const name of group.slice(1)) {
            const subject = summary(name, mode, connections);
            rows.push({
              ...subject,
              ...((TARGET_SPECS[name] as TargetSpec).plugboard
                ? { plugins: name === 'plugboard-proxy-no-plugins' ? 0 : 10 }
                : {}),
              vs: base.target,
              [`ratio_vs_${snake(base.target)}`]: round3(subject.req_per_s / base.req_per_s),
              cpu_x_base: round3(subject.cpu_us_per_req / base.cpu_us_per_req),
              added_p50_ms: round3(subject.p50_ms - base.p50_ms),
              ...(portkey !== undefined && name !== 'portkey'
                ? { ratio_vs_portkey: round3(subject.req_per_s / portkey.req_per_s) }
                : {}),
            });
          }
        }
      }
    }

    console.table(
      rows.map((row) => ({
        target: row.target,
        mode: row.mode,
        c: row.concurrency,
        'req/s': row.req_per_s,
        'p50 ms': row.p50_ms,
        'p99 ms': row.p99_ms,
        'CPU µs/req': row.cpu_us_per_req,
        'RSS MB': row.rss_mb,
        '× base req/s': row.vs === undefined ? '' : row[`ratio_vs_${snake(row.vs as string)}`],
        '× base CPU': row.cpu_x_base ?? '',
        '+p50 ms': row.added_p50_ms ?? '',
        '× portkey req/s': row.ratio_vs_portkey ?? '',
      })),
    );
    for (const line of verdicts(rows)) console.log(line);
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
