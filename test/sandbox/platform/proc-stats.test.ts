import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  childPids,
  isAlive,
  readCpuTimeMs,
  readProcessStat,
  readProcessState,
  readRssBytes,
} from '../../../src/sandbox/platform/proc-stats.ts';
import { BUSY_LOOP, exited, killAllChildren, start, startNode } from './child-processes.ts';

after(killAllChildren);

describe('proc-stats (reads /proc of real processes)', () => {
  test('RSS of this process is plausible and matches process.memoryUsage() roughly', () => {
    const rss = readRssBytes(process.pid);
    assert.ok(rss !== undefined, 'VmRSS is readable for this process');
    const reported = process.memoryUsage().rss;
    assert.ok(Math.abs(rss - reported) < reported * 0.5, `VmRSS ${rss} is near process.memoryUsage().rss ${reported}`);
  });

  test('a child that fills 100 MB of Buffers shows it in its RSS', async () => {
    const child = await startNode(
      "const b = Buffer.alloc(100 * 1024 * 1024, 1); process.stdout.write('ready'); setTimeout(() => b, 10000);",
    );
    await new Promise((resolve) => child.stdout?.once('data', resolve));
    const rss = readRssBytes(child.pid) ?? 0;
    assert.ok(rss > 100 * 1024 * 1024, `RSS ${rss} is above the 100 MB the child filled`);
    child.kill('SIGKILL');
  });

  test('CPU time of a busy child grows about as fast as the wall clock', async () => {
    const child = await startNode(BUSY_LOOP);
    await delay(200);
    const before = readCpuTimeMs(child.pid);
    assert.ok(before !== undefined, 'CPU time is readable');
    await delay(500);
    const used = (readCpuTimeMs(child.pid) ?? 0) - before;
    // One core busy for 500 ms; a loaded machine may give it less, never (much) more.
    assert.ok(used >= 150 && used <= 700, `a busy loop used ${used} ms of CPU in 500 ms`);
    assert.equal(readProcessStat(child.pid)?.state, 'R', 'a busy loop is running');
    child.kill('SIGKILL');
  });

  test('childPids lists the children of a shell, and this process lists the shell', async () => {
    const shell = await start('sh', ['-c', 'sleep 5 & sleep 5 & wait']);
    await delay(100);
    const children = childPids(shell.pid);
    assert.equal(children.length, 2, `the shell has two sleeps as children, found ${children.join(' ')}`);
    for (const pid of children) {
      assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /^sleep/, `child ${pid} is a sleep`);
    }
    assert.ok(childPids(process.pid).includes(shell.pid), 'this process lists the shell as its child');
    shell.kill('SIGKILL');
    for (const pid of children) process.kill(pid, 'SIGKILL');
  });

  test('isAlive: this process yes; a zombie, an exited child and nonsense pids no', async () => {
    assert.equal(isAlive(process.pid), true, 'this process is alive');
    // `sleep 0` becomes a zombie: its parent is replaced by `sleep 3`, which never reaps it.
    const shell = await start('sh', ['-c', 'sleep 0 & exec sleep 3']);
    await delay(200);
    const [zombie] = childPids(shell.pid);
    assert.ok(zombie !== undefined, 'the exec’d shell still has its exited child');
    assert.equal(readProcessState(zombie), 'Z', 'the child is a zombie');
    assert.equal(isAlive(zombie), false, 'a zombie does not count as alive');
    assert.equal(readRssBytes(zombie), undefined, 'a zombie has no RSS');
    shell.kill('SIGKILL');
    await exited(shell, 2_000);
    assert.equal(isAlive(shell.pid), false, 'an exited, reaped child is not alive');
    assert.equal(readCpuTimeMs(shell.pid), undefined, 'a gone process has no CPU time');
    assert.deepEqual(childPids(shell.pid), [], 'a gone process has no children');
    for (const pid of [0, -1, 1.5, Number.NaN]) assert.equal(isAlive(pid), false, `${pid} is no process`);
  });
});
