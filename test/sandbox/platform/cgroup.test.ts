import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, describe, type TestContext, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { probeSandboxPlatform, type SandboxPlatform } from '../../../src/sandbox/platform/capabilities.ts';
import {
  type CgroupLimits,
  cleanupStaleCgroups,
  createPluginCgroup,
  type PluginCgroup,
} from '../../../src/sandbox/platform/cgroup.ts';
import { isAlive, readCpuTimeMs } from '../../../src/sandbox/platform/proc-stats.ts';
import { afterGo, BUSY_LOOP, collectOutput, exited, killAllChildren, start, startNode } from './child-processes.ts';

const groups: PluginCgroup[] = [];
const strayDirectories: string[] = [];
const generous: CgroupLimits = { memoryMb: 512, cpuPercent: 100, pidsMax: 64 };

async function cleanUp(): Promise<void> {
  await killAllChildren();
  await Promise.all(groups.splice(0).map((group) => group.remove().catch(() => undefined)));
  for (const directory of strayDirectories.splice(0)) {
    try {
      rmdirSync(directory);
    } catch {
      // Removed by the test itself.
    }
  }
}
afterEach(cleanUp);
after(cleanUp);

/** The platform when it has `controller`; otherwise asserts the reason and skips the test with it. */
async function platformWith(
  t: TestContext,
  controller: 'memory' | 'cpu' | 'pids',
): Promise<SandboxPlatform | undefined> {
  const platform = await probeSandboxPlatform();
  if (platform.cgroup[controller]) return platform;
  assert.ok(platform.cgroup.reason, `no cgroup ${controller} controller, and the probe says why`);
  t.skip(`no cgroup ${controller} here: ${platform.cgroup.reason}`);
  return undefined;
}

async function newGroup(platform: SandboxPlatform, name: string, limits: CgroupLimits): Promise<PluginCgroup> {
  const group = await createPluginCgroup(platform, name, limits);
  assert.ok(group, 'the group is created');
  groups.push(group);
  return group;
}

describe('plugin cgroups (on this machine)', () => {
  test('memory 64 MB: a child that fills 200 MB is OOM-killed by the kernel, and the stats show it', async (t) => {
    const platform = await platformWith(t, 'memory');
    if (!platform) return;
    const group = await newGroup(platform, 'oom', { ...generous, memoryMb: 64 });
    assert.equal(group.enforced.memory, true, 'the memory limit is enforced');
    const child = await startNode(
      afterGo(
        'const kept = []; for (let i = 0; i < 20; i++) kept.push(Buffer.alloc(10 * 1024 * 1024, 1)); setTimeout(() => kept, 5000);',
      ),
    );
    group.addProcess(child.pid);
    assert.deepEqual(group.pids(), [child.pid], 'the child is in the group');
    child.stdin?.write('go\n');
    const ended = await exited(child, 5_000);
    assert.equal(ended.signal, 'SIGKILL', `the kernel killed it (exit ${JSON.stringify(ended)})`);
    const stats = group.readStats();
    // memory.failcnt stays 0 on some kernels (6.18 here); the OOM kill count and the peak do not.
    const counted = (stats.oomKills ?? 0) >= 1 || (stats.memoryLimitHits ?? 0) > 0;
    assert.ok(counted, `the kernel counted the limit being hit (${JSON.stringify(stats)})`);
    const peakMb = (stats.memoryPeakBytes ?? 0) / 1024 / 1024;
    assert.ok(peakMb > 60 && peakMb <= 64, `the group peaked at its 64 MB limit (${peakMb.toFixed(1)} MB)`);
  });

  test('cpu 20 %: a busy child gets about a fifth of a core, and the throttling is counted', async (t) => {
    const platform = await platformWith(t, 'cpu');
    if (!platform) return;
    const group = await newGroup(platform, 'cpu', { ...generous, cpuPercent: 20 });
    const child = await startNode(afterGo(BUSY_LOOP));
    group.addProcess(child.pid);
    child.stdin?.write('go\n');
    await delay(200);
    const before = readCpuTimeMs(child.pid) ?? 0;
    const startedAt = performance.now();
    await delay(2_000);
    const percent = (((readCpuTimeMs(child.pid) ?? 0) - before) / (performance.now() - startedAt)) * 100;
    assert.ok(percent > 5 && percent < 45, `the busy child used ${percent.toFixed(1)} % of a core`);
    const stats = group.readStats();
    assert.ok((stats.cpuThrottledPeriods ?? 0) > 0, `the kernel throttled it (${JSON.stringify(stats)})`);
    assert.ok((stats.cpuThrottledUs ?? 0) > 0, 'and counted the time');
  });

  test('pids 5: a shell forking 20 sleeps cannot', async (t) => {
    const platform = await platformWith(t, 'pids');
    if (!platform) return;
    const group = await newGroup(platform, 'pids', { ...generous, pidsMax: 5 });
    const shell = await start('sh', [
      '-c',
      'read go; i=0; while [ $i -lt 20 ]; do sleep 3 & i=$((i+1)); done; echo "started $i"; wait',
    ]);
    const output = collectOutput(shell);
    group.addProcess(shell.pid);
    shell.stdin?.write('go\n');
    const ended = await exited(shell, 5_000);
    assert.doesNotMatch(output.stdout, /started 20/, 'the shell did not get to start 20 sleeps');
    assert.notEqual(ended.code, 0, `the shell failed (stderr: ${output.stderr.trim()})`);
    assert.match(output.stderr, /fork|resource/i, 'because it could not fork');
    const { pidsCurrent } = group.readStats();
    assert.ok(pidsCurrent !== undefined && pidsCurrent <= 5, `at most 5 processes in the group (${pidsCurrent})`);
  });

  test('remove() kills what is left and leaves no directory; a second remove() is harmless', async (t) => {
    const platform = await platformWith(t, 'memory');
    if (!platform) return;
    const group = await newGroup(platform, 'remove', generous);
    assert.ok(group.directories.length > 0, 'the group has directories');
    for (const directory of group.directories) assert.equal(existsSync(directory), true, `${directory} exists`);
    assert.equal(group.procsFiles.length, group.directories.length, 'one cgroup.procs per directory');
    const child = await startNode('setTimeout(() => {}, 10000)');
    group.addProcess(child.pid);
    await group.remove();
    for (const directory of group.directories) assert.equal(existsSync(directory), false, `${directory} is gone`);
    assert.equal((await exited(child, 2_000)).signal, 'SIGKILL', 'the process left inside was killed');
    await group.remove();
  });

  test('names: unsafe characters replaced; <name>-<server pid>-<counter>, unique per call', async (t) => {
    const platform = await platformWith(t, 'memory');
    if (!platform) return;
    const first = await newGroup(platform, '@acme/weather tool', generous);
    const second = await newGroup(platform, '@acme/weather tool', generous);
    assert.match(first.name, new RegExp(`^_acme_weather_tool-${process.pid}-\\d+$`));
    assert.notEqual(first.name, second.name, 'two groups of one plugin get different names');
  });

  test('limits that are not positive are refused', async () => {
    const platform = await probeSandboxPlatform();
    await assert.rejects(createPluginCgroup(platform, 'bad', { ...generous, memoryMb: 0 }), RangeError);
    await assert.rejects(createPluginCgroup(platform, 'bad', { ...generous, pidsMax: 2.5 }), RangeError);
  });

  test('no usable controller → undefined', async () => {
    const platform = await probeSandboxPlatform();
    const without = { cgroup: { ...platform.cgroup, memory: false, cpu: false, pids: false } };
    assert.equal(await createPluginCgroup(without, 'none', generous), undefined);
  });

  test('cleanupStaleCgroups removes the groups of a dead server (killing what is inside), keeps live ones', async (t) => {
    const platform = await platformWith(t, 'memory');
    if (!platform) return;
    const ours = await newGroup(platform, 'ours', generous);
    const dead = await start('true', []);
    await exited(dead, 2_000);
    const living = await startNode('setTimeout(() => {}, 10000)');
    const parents = [...new Set(Object.values(platform.cgroup.parents))];
    const staleDirectories = parents.map((parent) => join(parent, `crashed-${dead.pid}-7`));
    const liveDirectories = parents.map((parent) => join(parent, `other-${living.pid}-1`));
    for (const directory of [...staleDirectories, ...liveDirectories]) {
      mkdirSync(directory);
      strayDirectories.push(directory);
    }
    const leftover = await startNode('setTimeout(() => {}, 10000)');
    writeFileSync(join(staleDirectories[0] ?? '', 'cgroup.procs'), String(leftover.pid));

    const removed = await cleanupStaleCgroups();

    // Other stale groups (of other runs on this machine) may go too; ours and live ones must not.
    for (const directory of staleDirectories) assert.ok(removed.includes(directory), `${directory} reported removed`);
    for (const directory of [...liveDirectories, ...ours.directories]) {
      assert.equal(removed.includes(directory), false, `${directory} not reported removed`);
    }
    for (const directory of staleDirectories) assert.equal(existsSync(directory), false, `${directory} removed`);
    for (const directory of liveDirectories) assert.equal(existsSync(directory), true, `${directory} kept`);
    for (const directory of ours.directories) assert.equal(existsSync(directory), true, 'this server’s group kept');
    assert.equal((await exited(leftover, 2_000)).signal, 'SIGKILL', 'the process left in a stale group was killed');
    assert.equal(isAlive(living.pid), true, 'the live pid’s process is untouched');
  });
});
