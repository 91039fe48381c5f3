import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  describeGaps,
  permissionFlagFor,
  probeSandboxPlatform,
  resetSandboxPlatformProbe,
  type SandboxPlatform,
} from '../../../src/sandbox/platform/capabilities.ts';
import { locateCgroupParents } from '../../../src/sandbox/platform/cgroup-layout.ts';
import { childPids, isAlive } from '../../../src/sandbox/platform/proc-stats.ts';
import { collectOutput, exited, killAllChildren, start } from './child-processes.ts';

after(killAllChildren);

describe('permissionFlagFor', () => {
  const cases: [string, string][] = [
    ['20.20.2', '--experimental-permission'],
    ['v21.7.1', '--experimental-permission'],
    ['22.12.0', '--experimental-permission'],
    ['22.13.0', '--permission'],
    ['22.20.1', '--permission'],
    ['23.4.0', '--experimental-permission'],
    ['23.5.0', '--permission'],
    ['24.0.0', '--permission'],
  ];
  for (const [version, flag] of cases) {
    test(`Node ${version} → ${flag}`, () => assert.equal(permissionFlagFor(version), flag));
  }
});

describe('probeSandboxPlatform (on this machine)', () => {
  test('is memoised until reset', async () => {
    const first = await probeSandboxPlatform();
    assert.equal(await probeSandboxPlatform(), first, 'a second probe answers the same object');
    resetSandboxPlatformProbe();
    const again = await probeSandboxPlatform();
    assert.notEqual(again, first, 'after a reset the machine is probed again');
    assert.deepEqual(again, first, 'and answers the same');
  });

  test('the node flag is the one this Node accepts', async () => {
    const platform = await probeSandboxPlatform();
    assert.equal(platform.node.permissionFlag, permissionFlagFor(process.versions.node));
  });

  test('network and PID namespaces: the wrapper really isolates a node process (pid 1, no interfaces)', async (t) => {
    const { namespaces } = await probeSandboxPlatform();
    if (!namespaces.network || !namespaces.pid || !namespaces.command) {
      assert.ok(namespaces.reason, 'a missing namespace comes with a reason');
      t.skip(`no namespaces here: ${namespaces.reason}`);
      return;
    }
    const [file = '', ...args] = namespaces.command;
    const script =
      "const os = require('node:os'); console.log(JSON.stringify({ pid: process.pid, interfaces: Object.keys(os.networkInterfaces()) })); setTimeout(() => {}, 300)";
    const wrapper = await start(file, [...args, process.execPath, '-e', script]);
    const output = collectOutput(wrapper);
    await delay(150);
    const [node] = childPids(wrapper.pid);
    assert.ok(node !== undefined, 'node runs as the child of the wrapper (what the launcher must watch)');
    const ended = await exited(wrapper, 5_000);
    assert.equal(ended.code, 0, `the wrapped node ran (stderr: ${output.stderr})`);
    const seen = JSON.parse(output.stdout) as { pid: number; interfaces: string[] };
    assert.equal(seen.pid, 1, 'node is pid 1 of its own PID namespace');
    assert.deepEqual(
      seen.interfaces.filter((name) => name !== 'lo'),
      [],
      'no network interface but loopback inside',
    );
  });

  test('the namespace wrapper kills the node inside when the wrapper is SIGKILLed', async (t) => {
    const { namespaces } = await probeSandboxPlatform();
    if (!namespaces.command) {
      assert.ok(namespaces.reason, 'a missing wrapper comes with a reason');
      t.skip(`no namespace wrapper here: ${namespaces.reason}`);
      return;
    }
    const [file = '', ...args] = namespaces.command;
    const wrapper = await start(file, [...args, process.execPath, '-e', 'setTimeout(() => {}, 10000)']);
    await delay(150);
    const [node] = childPids(wrapper.pid);
    assert.ok(node !== undefined, 'node runs under the wrapper');
    wrapper.kill('SIGKILL');
    await exited(wrapper, 2_000);
    await delay(100);
    // Orphaned, it may stay a zombie until init reaps it: isAlive counts that as dead.
    assert.equal(isAlive(node), false, `node (pid ${node}) died with its wrapper`);
  });

  test('cgroup: memory, cpu and pids are usable here, or each has a reason', async () => {
    const { cgroup } = await probeSandboxPlatform();
    for (const controller of ['memory', 'cpu', 'pids'] as const) {
      if (cgroup[controller]) {
        const parent = cgroup.parents[controller];
        assert.ok(parent && existsSync(parent), `${controller}: the parent folder ${parent} exists`);
      } else {
        assert.ok(cgroup.reason?.includes(controller), `${controller} unusable, and the reason names it`);
      }
    }
  });

  test('the probe leaves no test group behind', async () => {
    const { cgroup } = await probeSandboxPlatform();
    for (const parent of new Set(Object.values(cgroup.parents))) {
      const probes = readdirSync(parent).filter((entry) => entry.startsWith(`probe-${process.pid}-`));
      assert.deepEqual(probes, [], `no probe group left in ${parent}`);
    }
  });

  test('cgroup v2 on a hybrid machine (v1 controllers): refused with a reason per controller', (t) => {
    const layout = locateCgroupParents({ version: 2 });
    if (layout.version !== 2 || Object.keys(layout.parents).length > 0) {
      t.skip('this machine has no cgroup v2, or one with controllers');
      return;
    }
    for (const controller of ['memory', 'cpu', 'pids'] as const) {
      assert.match(
        layout.problems[controller] ?? '',
        new RegExp(`cgroup v2: .*${controller}`),
        `${controller}: reason`,
      );
    }
  });
});

describe('describeGaps', () => {
  const everything: SandboxPlatform = {
    node: { permissionFlag: '--experimental-permission' },
    namespaces: { command: ['/usr/bin/unshare', '--net', '--pid', '--fork', '--kill-child'], network: true, pid: true },
    cgroup: { version: 1, memory: true, cpu: true, pids: true, parents: {} },
  };

  test('nothing missing → no sentences', () => assert.deepEqual(describeGaps(everything), []));

  test('each missing protection → one sentence with its reason and its consequence', () => {
    const nothing: SandboxPlatform = {
      ...everything,
      namespaces: { command: undefined, network: false, pid: false, reason: 'unshare failed: Operation not permitted' },
      cgroup: { version: undefined, memory: false, cpu: false, pids: false, reason: 'no cgroup here', parents: {} },
    };
    const gaps = describeGaps(nothing);
    assert.equal(gaps.length, 5, gaps.join('\n'));
    assert.match(gaps[0] ?? '', /^network: .*Operation not permitted.*can open sockets/);
    assert.match(gaps[1] ?? '', /^pid: /);
    assert.match(gaps[2] ?? '', /^memory: .*no cgroup here/);
    assert.match(gaps[3] ?? '', /^cpu: .*SIGSTOP/);
    assert.match(gaps[4] ?? '', /^pids: /);
  });

  test('PID namespace missing but network there → only the pid sentence', () => {
    const gaps = describeGaps({ ...everything, namespaces: { ...everything.namespaces, pid: false, reason: 'x' } });
    assert.deepEqual(
      gaps.map((gap) => gap.split(':')[0]),
      ['pid'],
    );
  });
});
