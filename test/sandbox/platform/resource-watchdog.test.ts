import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, afterEach, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { readCpuTimeMs, readProcessState } from '../../../src/sandbox/platform/proc-stats.ts';
import { type ResourceViolation, ResourceWatchdog } from '../../../src/sandbox/platform/resource-watchdog.ts';
import { BUSY_LOOP, exited, killAllChildren, startNode } from './child-processes.ts';

const watchdogs: ResourceWatchdog[] = [];

function newWatchdog(): { watchdog: ResourceWatchdog; violations: ResourceViolation[] } {
  const watchdog = new ResourceWatchdog();
  const violations: ResourceViolation[] = [];
  watchdog.on('violation', (violation) => violations.push(violation));
  watchdogs.push(watchdog);
  return { watchdog, violations };
}

async function cleanUp(): Promise<void> {
  for (const watchdog of watchdogs.splice(0)) watchdog.stop();
  await killAllChildren();
}
afterEach(cleanUp);
after(cleanUp);

/** A child that is busy ~10 ms of every 100 ms: about 10 % of a core. */
const TEN_PERCENT = 'setInterval(() => { const end = Date.now() + 10; while (Date.now() < end) {} }, 100);';

describe('ResourceWatchdog (real processes)', () => {
  test('cpu 20 % with throttling: a busy loop is held back, then killed after the grace, and reported', async () => {
    const { watchdog, violations } = newWatchdog();
    const child = await startNode(BUSY_LOOP);
    const startedAt = performance.now();
    assert.equal(
      watchdog.watch(child.pid, { cpuPercent: 20, throttle: true, cpuGraceMs: 1_000, intervalMs: 100 }),
      true,
    );
    const ended = await exited(child, 5_000);
    const elapsed = performance.now() - startedAt;
    assert.equal(ended.signal, 'SIGKILL', 'the watchdog killed it');
    assert.ok(elapsed > 1_000, `not before the grace ran out (${elapsed.toFixed(0)} ms)`);
    assert.equal(violations.length, 1, 'one violation reported');
    const [violation] = violations;
    assert.equal(violation?.kind, 'cpu');
    assert.equal(violation?.pid, child.pid);
    if (violation?.kind === 'cpu') {
      assert.equal(violation.limitPercent, 20);
      assert.ok(violation.observedPercent > 50, `it took ${violation.observedPercent} % whenever it could run`);
    }
    assert.equal(watchdog.isWatching(child.pid), false, 'a killed process is no longer watched');
  });

  test('throttling alone keeps a busy loop near its share (and stop() leaves it running)', async () => {
    const { watchdog, violations } = newWatchdog();
    const child = await startNode(BUSY_LOOP);
    const before = readCpuTimeMs(child.pid) ?? 0;
    const startedAt = performance.now();
    watchdog.watch(child.pid, { cpuPercent: 20, throttle: true, cpuGraceMs: 60_000, intervalMs: 100 });
    await delay(2_000);
    const percent = (((readCpuTimeMs(child.pid) ?? 0) - before) / (performance.now() - startedAt)) * 100;
    assert.ok(percent > 8 && percent < 35, `the busy loop used ${percent.toFixed(1)} % of a core`);
    assert.deepEqual(violations, [], 'within the grace: no violation');
    watchdog.stop();
    await delay(50);
    assert.notEqual(readProcessState(child.pid), 'T', 'after stop() the process is not left stopped');
    const afterStop = readCpuTimeMs(child.pid) ?? 0;
    await delay(300);
    const running = (readCpuTimeMs(child.pid) ?? 0) - afterStop;
    assert.ok(running > 150, `unwatched, it runs freely again (${running} ms in 300 ms)`);
  });

  test('a process at ~10 % under a 20 % limit is neither killed nor reported', async () => {
    const { watchdog, violations } = newWatchdog();
    const child = await startNode(TEN_PERCENT);
    watchdog.watch(child.pid, { cpuPercent: 20, throttle: true, cpuGraceMs: 1_000 });
    await delay(2_500);
    assert.deepEqual(violations, [], 'no violation');
    assert.equal(watchdog.isWatching(child.pid), true, 'still watched');
    assert.equal(child.exitCode ?? child.signalCode, null, 'still running');
  });

  test('memory 150 MB: a child filling 300 MB of Buffers is killed and reported as memory', async () => {
    const { watchdog, violations } = newWatchdog();
    const child = await startNode(
      'const kept = []; const timer = setInterval(() => { kept.push(Buffer.alloc(10 * 1024 * 1024, 1)); if (kept.length === 30) clearInterval(timer); }, 20); setTimeout(() => kept, 10000);',
    );
    watchdog.watch(child.pid, { memoryMb: 150, intervalMs: 100 });
    const ended = await exited(child, 5_000);
    assert.equal(ended.signal, 'SIGKILL', 'the watchdog killed it');
    assert.equal(violations.length, 1, 'one violation');
    const [violation] = violations;
    assert.equal(violation?.kind, 'memory');
    if (violation?.kind === 'memory') {
      assert.equal(violation.limitMb, 150);
      assert.ok(violation.observedMb > 150, `observed ${violation.observedMb} MB`);
    }
  });

  test('kill: false reports but leaves the killing (and a running, not stopped, process) to the caller', async () => {
    const { watchdog, violations } = newWatchdog();
    const child = await startNode(BUSY_LOOP);
    watchdog.watch(child.pid, { cpuPercent: 20, throttle: true, cpuGraceMs: 500, intervalMs: 100, kill: false });
    for (let waited = 0; violations.length === 0 && waited < 4_000; waited += 50) await delay(50);
    assert.equal(violations[0]?.kind, 'cpu', 'the violation was reported');
    await delay(50);
    assert.equal(child.exitCode ?? child.signalCode, null, 'not killed');
    assert.notEqual(readProcessState(child.pid), 'T', 'and not left stopped');
  });

  test('a watched process that exits is forgotten; an unknown pid is not watched', async () => {
    const { watchdog } = newWatchdog();
    const child = await startNode('setTimeout(() => {}, 200)');
    assert.equal(watchdog.watch(child.pid, { memoryMb: 500, cpuPercent: 50, intervalMs: 50 }), true);
    await exited(child, 2_000);
    await delay(150);
    assert.equal(watchdog.isWatching(child.pid), false, 'forgotten after it exited');
    assert.equal(watchdog.watch(child.pid, { memoryMb: 500 }), false, 'a gone pid cannot be watched');
  });

  test('its timers do not keep the event loop alive', async () => {
    const script = `
      const { ResourceWatchdog } = await import(${JSON.stringify(new URL('../../../src/sandbox/platform/resource-watchdog.ts', import.meta.url).href)});
      new ResourceWatchdog().watch(process.pid, { memoryMb: 4096, cpuPercent: 100, throttle: true });
      console.log('watching');
    `;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      timeout: 5_000,
      encoding: 'utf8',
    });
    assert.equal(result.stdout.trim(), 'watching', `the script ran (stderr: ${result.stderr})`);
    assert.equal(result.status, 0, 'and the process ended by itself while watched');
  });
});
