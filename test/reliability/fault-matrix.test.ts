/**
 * Reliability: the fault matrix. Every fault (throw, reject, floating rejection, timer throw,
 * hang, slow, invalid result, in-place mutation, synchronous overrun) committed by a plugin
 * in every place a plugin sits (processors, streaming transform, middleware both ways,
 * extension, hooks, backend call, backend stream), on both APIs, streamed and not, under
 * concurrent load, against the real CLI. Must hold: no lost and no hung response; no failed
 * request unless a backend failed after its stream began; every fault contained and
 * counted against the plugin that committed it; the server alive throughout.
 * Writes the `faultMatrix` section of bench/results/reliability.json (docs/RELIABILITY.md).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { applies, FAULTS, type Fault, KINDS, type Kind, PLUGIN_OF, pluginFiles, suiteConfig } from './fault-plugins.ts';
import {
  type Api,
  type Outcome,
  type ProbeResult,
  pooled,
  probe,
  type ServerProcess,
  startServer,
  tally,
  writeSection,
} from './probe.ts';

/** Requests per cell: each API × streamed or not, this many times. */
const ROUNDS = 4;
const CONCURRENCY = 6;
const THRESHOLD = 3;

interface CellReport {
  readonly fault: Fault;
  readonly kind: Kind;
  readonly requests: number;
  readonly outcomes: Record<Outcome, number>;
  /** Failed, timed-out and skipped calls recorded for the plugin during the cell. */
  readonly contained: number;
  /** Times the plugin's circuit opened during the cell. */
  readonly breakerOpened: number;
  readonly details: readonly string[];
}

interface PluginStatusView {
  breaker: { opened: number };
}
interface MetricsView {
  plugins: Record<string, { failures: number; timeouts: number; skipped: number }>;
}

describe('reliability: the fault matrix', () => {
  let dir: string;
  let server: ServerProcess;
  const cells: CellReport[] = [];
  const started = Date.now();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plugboard-reliability-'));
    for (const [name, source] of Object.entries(pluginFiles())) await writeFile(join(dir, name), source);
    await writeFile(join(dir, 'config.yaml'), suiteConfig({ threshold: THRESHOLD, halfOpenSeconds: 60 }));
    server = await startServer(join(dir, 'config.yaml'));
  });

  after(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
    const totals = tally(
      cells.flatMap((cell) =>
        Object.entries(cell.outcomes).flatMap(([outcome, count]) =>
          Array.from({ length: count }, () => ({ outcome: outcome as Outcome, status: 0 })),
        ),
      ),
    );
    await writeSection('faultMatrix', {
      faults: FAULTS,
      kinds: KINDS,
      requestsPerCell: ROUNDS * 4,
      concurrency: CONCURRENCY,
      breakerThreshold: THRESHOLD,
      durationSeconds: Math.round((Date.now() - started) / 100) / 10,
      totals: { cells: cells.length, requests: cells.reduce((sum, cell) => sum + cell.requests, 0), ...totals },
      containedFaults: cells.reduce((sum, cell) => sum + cell.contained, 0),
      breakerTransitions: cells.reduce((sum, cell) => sum + cell.breakerOpened, 0),
      cells,
    });
  });

  async function pluginCounts(name: string): Promise<{ contained: number; opened: number }> {
    const metrics = (await (await fetch(`${server.url}/plugins/metrics`)).json()) as MetricsView;
    const status = (await (await fetch(`${server.url}/plugins`)).json()) as {
      plugins: Record<string, PluginStatusView>;
    };
    const stats = metrics.plugins[name];
    return {
      contained: (stats?.failures ?? 0) + (stats?.timeouts ?? 0) + (stats?.skipped ?? 0),
      opened: status.plugins[name]?.breaker.opened ?? 0,
    };
  }

  for (const kind of KINDS) {
    test(`faults of a ${kind}`, async () => {
      const plugin = PLUGIN_OF[kind];
      for (const fault of FAULTS) {
        if (!applies(fault, kind)) continue;
        const before = await pluginCounts(plugin);
        const tasks: (() => Promise<ProbeResult & { api: Api; stream: boolean }>)[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          for (const api of ['openai', 'ollama'] as const) {
            for (const stream of [false, true]) {
              const text = `probe ${round} ${api} fault=${fault} kind=${kind}`;
              tasks.push(async () => ({ ...(await probe(server.url, api, stream, text)), api, stream }));
            }
          }
        }
        const results = await pooled(tasks, CONCURRENCY);
        // Stray errors surface after the answer: give them a moment before reading the counts.
        await new Promise((resolve) => setTimeout(resolve, 300));
        const afterCell = await pluginCounts(plugin);
        const outcomes = tally(results);
        const details = results
          .filter((result) => result.outcome !== 'ok')
          .map(
            (result) =>
              `${result.api}${result.stream ? ' stream' : ''}: ${result.outcome}${result.detail ? ` ${result.detail}` : ''}`,
          );
        const cell: CellReport = {
          fault,
          kind,
          requests: results.length,
          outcomes,
          contained: afterCell.contained - before.contained,
          breakerOpened: afterCell.opened - before.opened,
          details: [...new Set(details)].slice(0, 5),
        };
        cells.push(cell);
        const where = `${fault} × ${kind}: ${JSON.stringify(cell)}`;
        assert.equal(outcomes.lost, 0, `lost responses — ${where}`);
        assert.equal(outcomes.hung, 0, `hung responses — ${where}`);
        // Only a backend that fails after its stream began may fail a request (the client already has part of it).
        if (kind !== 'backend-stream') assert.equal(outcomes['clean-error'], 0, `failed requests — ${where}`);
        assert.ok(cell.contained > 0, `fault not recorded — ${where}`);
        assert.equal(server.child.exitCode, null, `the server died — ${where}\n${server.log().slice(-2000)}`);
        // The next fault starts from a closed circuit.
        const reset = await server.admin(`/plugins/${plugin}/breaker/reset`);
        assert.equal(reset.status, 200, await reset.text());
      }
    });
  }
});
