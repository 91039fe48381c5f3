/**
 * Per-request cost of the logging plugin: a manager over a minimal in-process backend, without
 * the plugin and with it (destination `log` to a silent logger — the record is still built and
 * redacted —, destination `file` in a temporary folder, and `file` with `include_bodies`),
 * for whole and streamed chats. N sequential requests each; every request is followed by one
 * turn of the event loop in every scenario, so the record each one causes (written in the
 * background, after a turn) is built and written inside the measured time, as it is on a
 * server between requests. Prints µs per request (the whole cost, foreground and background)
 * and the mean time until the response resolves (what a client waits), checks that the file
 * holds a record of every request, and writes bench/results/logging.json.
 *
 *   npm run bench:logging
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createLoggingPlugin } from '../plugins/logging/logging.plugin.ts';
import type { AnyPlugin, ChatResponse, PluginManager, PluginSettings } from '../src/index.ts';
import { chatRequest, startManager } from '../src/testing/index.ts';
// The pipeline benchmark's backend: a fixed reply, whole or in chunks, with usage.
import { benchBackend } from './pipeline.bench.ts';
import { writeResults } from './report.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const REQUESTS = QUICK ? 2_000 : 20_000;
const WARMUP = QUICK ? 500 : 3_000;
/** Rounds the requests of each variant are split into, taking turns with the other variants. */
const ROUNDS = 10;
const REPLY = 'Paris is the capital of France. '.repeat(4);
const CHUNK_CHARS = 8;

interface Variant {
  readonly name: string;
  /** The logging plugin's config, or none for the baseline. */
  readonly config?: Record<string, unknown>;
}

const dir = mkdtempSync(join(tmpdir(), 'plugboard-logging-bench-'));
const VARIANTS: readonly Variant[] = [
  { name: 'without logging' },
  { name: 'log (silent logger)', config: { destination: 'log' } },
  { name: 'file', config: { destination: 'file', file: join(dir, 'file.jsonl') } },
  {
    name: 'file + include_bodies',
    config: { destination: 'file', file: join(dir, 'bodies.jsonl'), include_bodies: true },
  },
];

async function managerFor(variant: Variant): Promise<PluginManager> {
  const plugins: (AnyPlugin | readonly [unknown, PluginSettings])[] = [benchBackend(REPLY, CHUNK_CHARS)];
  if (variant.config !== undefined) plugins.push([createLoggingPlugin, { config: variant.config }]);
  return startManager(plugins, { defaultBackend: 'bench-backend' });
}

function nowNs(): number {
  return Number(process.hrtime.bigint());
}

async function runOnce(manager: PluginManager, stream: boolean): Promise<ChatResponse> {
  const context = chatRequest('What is the capital of France? Mail me at jane@example.com.', { stream });
  if (!stream) return manager.chat(context);
  const reply = manager.stream(context);
  for await (const _chunk of reply);
  return reply.response;
}

interface Row {
  readonly name: string;
  readonly mode: 'json' | 'stream';
  readonly requests: number;
  readonly us_per_request: number;
  readonly us_until_response: number;
  /** Requests whose record is not in the file (dropped by the runtime's full background queue). */
  readonly records_missing?: number;
}

/** One variant's manager and what its requests took so far. */
interface Subject {
  readonly variant: Variant;
  readonly manager: PluginManager;
  total: number;
  waited: number;
  count: number;
}

/** `requests` sequential requests on one subject, each followed by a turn of the event loop. */
async function batch(subject: Subject, stream: boolean, requests: number, record: boolean): Promise<void> {
  const start = nowNs();
  let waited = 0;
  for (let index = 0; index < requests; index++) {
    const began = nowNs();
    await runOnce(subject.manager, stream);
    waited += nowNs() - began;
    // The record's turn: what a server does between requests anyway.
    await nextTurn();
  }
  if (!record) return;
  subject.total += nowNs() - start;
  subject.waited += waited;
  subject.count += requests;
}

/**
 * Every variant of one mode, measured in rounds that take turns (A B C D A B C D …), so that
 * warm-up, JIT and GC drift spread over all of them instead of favouring the last.
 */
async function measureMode(mode: 'json' | 'stream'): Promise<Row[]> {
  const stream = mode === 'stream';
  const subjects: Subject[] = [];
  for (const variant of VARIANTS) {
    if (variant.config?.file !== undefined) rmSync(String(variant.config.file), { force: true });
    subjects.push({ variant, manager: await managerFor(variant), total: 0, waited: 0, count: 0 });
  }
  for (const subject of subjects) await batch(subject, stream, WARMUP, false);
  for (let round = 0; round < ROUNDS; round++) {
    for (const subject of subjects) await batch(subject, stream, REQUESTS / ROUNDS, true);
  }
  const rows: Row[] = [];
  for (const subject of subjects) {
    await subject.manager.shutdown(); // writes what is left
    const file = subject.variant.config?.file;
    const lines = typeof file === 'string' ? readFileSync(file, 'utf8').split('\n').length - 1 : undefined;
    rows.push({
      name: subject.variant.name,
      mode,
      requests: subject.count,
      us_per_request: round(subject.total / subject.count / 1000),
      us_until_response: round(subject.waited / subject.count / 1000),
      ...(lines === undefined ? {} : { records_missing: WARMUP + subject.count - lines }),
    });
  }
  return rows;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

async function main(): Promise<void> {
  const rows: (Row & { readonly added_us_per_request: number })[] = [];
  try {
    for (const mode of ['json', 'stream'] as const) {
      const measured = await measureMode(mode);
      const baseline = measured[0]!;
      for (const row of measured) {
        const added = round(row.us_per_request - baseline.us_per_request);
        rows.push({ ...row, added_us_per_request: added });
        console.log(
          `${mode.padEnd(6)} ${row.name.padEnd(24)} ${String(row.us_per_request).padStart(8)} µs/request` +
            ` (+${added})   ${String(row.us_until_response).padStart(8)} µs until the response` +
            (row.records_missing === undefined ? '' : `   (${row.records_missing} records missing)`),
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`wrote ${writeResults('logging', rows)}`);
}

await main();
