/**
 * Assertions of the rogue-plugin suite: a step of an attack's report refused (with which code)
 * or done, and a sandboxed process that ended for a given reason and was started again — seen
 * in GET /plugins, in /metrics and in the log.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { locateCgroupParents } from '../../../src/sandbox/platform/cgroup-layout.ts';
import { type StepOutcome, stepOutcome } from './attacks.ts';
import type { SandboxStatus, ServerProbe } from './harness.ts';

/** A step's outcome, failing the test when the report lacks it. */
export function outcomeOf(report: string, label: string): StepOutcome {
  const outcome = stepOutcome(report, label);
  assert.ok(outcome, `the report has a step ${label}: ${report}`);
  return outcome;
}

/** Asserts that step `label` was refused with one of `codes`. */
export function assertDenied(report: string, label: string, codes: readonly string[]): StepOutcome {
  const outcome = outcomeOf(report, label);
  assert.ok(!outcome.ok, `${label} was refused: ${report}`);
  assert.ok(codes.includes(outcome.code), `${label} was refused with one of ${codes.join(', ')}: ${report}`);
  return outcome;
}

/** Asserts that step `label` was done; answers what it got. */
export function assertDone(report: string, label: string): string {
  const outcome = outcomeOf(report, label);
  assert.ok(outcome.ok, `${label} succeeded: ${report}`);
  return outcome.detail;
}

/**
 * After an attack that ends the plugin's process: waits until `plugin`'s sandbox reports an exit
 * of `kind` newer than `before` — and, with `restarted`, a new process running — then checks the
 * metric and the line in the server's log (`log()`, parsed lines) for it. Answers the report.
 */
export async function assertEnded(
  server: ServerProbe,
  log: () => readonly Record<string, unknown>[],
  plugin: string,
  kind: string,
  before: Baseline,
  options: { readonly restarted: boolean; readonly timeoutMs?: number },
): Promise<SandboxStatus> {
  const ended = (status: SandboxStatus) =>
    status.lastExit?.kind === kind && status.lastExit.at !== before.report.lastExit?.at;
  const report = await server.waitForSandbox(
    plugin,
    (status) =>
      ended(status) && (!options.restarted || (status.state === 'running' && status.restarts > before.report.restarts)),
    options.timeoutMs ?? 20_000,
  );
  assert.ok(ended(report), `${plugin}'s process ended for ${kind}: ${JSON.stringify(report.lastExit)}`);
  if (options.restarted) {
    assert.equal(report.state, 'running', `${plugin} was restarted: ${JSON.stringify(report)}`);
    assert.ok(report.restarts > before.report.restarts, `${plugin} counts its restart`);
    assert.notEqual(report.pid, before.report.pid, 'in a new process');
    assert.ok(
      (await server.sandboxEvents(plugin, 'restart')) >= report.restarts,
      'sandbox_events_total counts restarts',
    );
  } else {
    assert.ok(['restarting', 'running'].includes(report.state), `${plugin} is being restarted: ${report.state}`);
  }
  assert.ok(
    (await server.sandboxEvents(plugin, kind)) > before.events,
    `sandbox_events_total counts ${plugin}'s ${kind}`,
  );
  const logged = log()
    .slice(before.logLines)
    .find(
      (line) =>
        line.plugin === plugin &&
        (line.sandbox as { exit?: string } | undefined)?.exit === kind &&
        String(line.message).startsWith("sandboxed plugin's process ended"),
    );
  assert.ok(logged, `the log tells that ${plugin}'s process ended (${kind})`);
  return report;
}

/** What {@link assertEnded} compares with. */
export interface Baseline {
  readonly report: SandboxStatus;
  readonly events: number;
  readonly logLines: number;
}

/** The {@link Baseline} of an attack, taken before it. */
export async function beforeAttack(
  server: ServerProbe,
  log: () => readonly Record<string, unknown>[],
  plugin: string,
  kind: string,
): Promise<Baseline> {
  return {
    report: await server.sandbox(plugin),
    events: await server.sandboxEvents(plugin, kind),
    logLines: log().length,
  };
}

/**
 * Nothing of a stopped server is left: no process names `folder` (a sandboxed process names its
 * plugin's file in its permission flags), no cgroup named for `serverPid`.
 */
export function assertNothingLeft(folder: string, serverPid: number): void {
  const left = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(folder);
      } catch {
        return false; // ended meanwhile
      }
    });
  assert.deepEqual(left, [], 'no process of the server is left');
  for (const parent of new Set(Object.values(locateCgroupParents().parents))) {
    const groups = existsSync(parent) ? readdirSync(parent).filter((entry) => entry.includes(`-${serverPid}-`)) : [];
    assert.deepEqual(groups, [], `no cgroup of the server is left in ${parent}`);
  }
}
