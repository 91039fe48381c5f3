/**
 * Rogue plugins against the sandbox (#15): each attacks the machine or the server when a chat
 * message names the attack, and tells in its reply what happened (see rogue/attacks.ts).
 * Sandboxed, every attack is contained — by Node's permission model, the import guard, the
 * network and PID namespaces, the cgroup, the watchdog or the supervisor — the server keeps
 * answering, the plugin next to the rogue ones keeps working, and what happened shows in
 * GET /plugins, in /metrics and in the log. The same attacks unsandboxed succeed
 * (rogue/unsandboxed.test.ts), which proves each assertion here could fail. What was seen:
 * docs/SANDBOX.md, "What the sandbox stops".
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDefaultLogger } from '../../src/index.ts';
import { cleanupStaleCgroups } from '../../src/sandbox/platform/cgroup.ts';
import {
  assertDenied,
  assertDone,
  assertEnded,
  assertNothingLeft,
  beforeAttack,
  outcomeOf,
} from './rogue/expectations.ts';
import { startRecordingServer } from './rogue/harness.ts';
import {
  CliFleet,
  type InProcessServer,
  MARKER,
  probingRogues,
  SECRET,
  startInProcessServer,
} from './rogue/servers.ts';

/** The permission model's refusal, or the import guard's where the import itself is the first step. */
const DENIALS = ['ERR_ACCESS_DENIED', 'PLUGIN_IMPORT_DENIED'];

const log: Record<string, unknown>[] = [];
const previousKey = process.env.OPENAI_API_KEY;
const otherPath = `/tmp/plugboard-rogue-${process.pid}-${Date.now()}.txt`;
const fleet = new CliFleet();
let recorder: Awaited<ReturnType<typeof startRecordingServer>>;
let server: InProcessServer;

before(async () => {
  process.env.OPENAI_API_KEY = SECRET; // in the server's environment, as an operator's key would be
  recorder = await startRecordingServer();
  const logger = createDefaultLogger('info', 'json', {
    write: (line: string) => {
      log.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  server = await startInProcessServer(
    'plugboard-rogue-',
    (dir) => [
      ...probingRogues(dir, recorder.port, otherPath, true),
      { name: 'hoarder', attacks: ['heap', 'buffer'], sandbox: { memory_mb: 128 } },
      { name: 'crasher', attacks: ['crash', 'exit', 'spin'], sandbox: true, timeout: 1 },
    ],
    { logger },
  );
  // Attacks that would end the test process with a defect, and a plugin held to 20 % of a core
  // (seconds to load): in `plugboard serve` processes, started while the first tests run.
  fleet.start('kill-ppid', { name: 'killer', attacks: ['kill-ppid'], sandbox: true });
  fleet.start('pipe', { name: 'piper', attacks: ['pipe'], sandbox: true });
  fleet.start('cpu', { name: 'spinner', attacks: ['cpu'], sandbox: { cpu_percent: 20 } });
});

after(async () => {
  await fleet.stopAll();
  // A `plugboard serve` killed under its plugins (the kill-ppid defect) leaves its cgroups: what its next start would remove.
  await cleanupStaleCgroups();
  await server?.stop();
  await server?.fixture.dispose();
  await rm(otherPath, { force: true });
  recorder?.server.close();
  if (previousKey === undefined) delete process.env.OPENAI_API_KEY;
  else process.env.OPENAI_API_KEY = previousKey;
});

/** Runs an attack; answers its report, checking that the bystander plugin still marked the reply. */
async function attack(plugin: string, name: string): Promise<string> {
  const { status, text } = await server.probe.attack(plugin, name);
  assert.equal(status, 200, `the server answers the request that carried ${plugin}/${name}`);
  assert.ok(text.endsWith(' [bystander]'), `the bystander plugin still marked the reply: ${text}`);
  return text;
}

/** A plain chat goes through every plugin, and `plugin`'s process never ended. */
async function assertUnharmed(plugin: string): Promise<void> {
  const { status, text } = await server.probe.chat('hello');
  assert.equal(status, 200);
  assert.equal(text, 'hello [bystander]', 'a plain request goes through every plugin unchanged');
  const report = await server.probe.sandbox(`rogue-${plugin}`);
  assert.equal(report.state, 'running', `${plugin} is still running`);
  assert.equal(report.restarts, 0, `${plugin}'s process never ended`);
}

/** Runs an attack that ends the plugin's process; checks it ended for `kind` and came back. */
async function killedAndRestarted(plugin: string, name: string, kind: string) {
  const before = await beforeAttack(server.probe, () => log, `rogue-${plugin}`, kind);
  const started = Date.now();
  const { status } = await server.probe.attack(plugin, name);
  assert.equal(status, 200, 'the request is answered (the processor fails open)');
  const report = await assertEnded(server.probe, () => log, `rogue-${plugin}`, kind, before, { restarted: true });
  const { text } = await server.probe.chat('hello');
  assert.equal(text, 'hello [bystander]', 'the server and the other plugins go on as before');
  return { report, ms: Date.now() - started };
}

describe('rogue plugins, sandboxed: every attack is contained', () => {
  test('each rogue plugin runs in a process of its own; /plugins tells how each limit is enforced here', async () => {
    const plugins = await server.probe.plugins();
    const names = Object.keys(plugins).filter((name) => name.startsWith('rogue-'));
    assert.deepEqual(names.sort(), ['rogue-crasher', 'rogue-hoarder', 'rogue-probe', 'rogue-sub']);
    const pids = new Set(names.map((name) => plugins[name]!.sandbox?.pid));
    assert.ok(!pids.has(undefined) && !pids.has(process.pid), 'each runs outside the server');
    assert.equal(pids.size, names.length, 'one process per plugin');
    const { enforcement } = plugins['rogue-probe']!.sandbox!;
    assert.match(enforcement.network, /own network namespace/, 'this machine gives each a network namespace');
    assert.match(enforcement.processes, /own PID namespace/, 'and a PID namespace');
    assert.match(enforcement.memory, /memory cgroup/, 'and a memory cgroup');
    assert.match(enforcement.cpu, /cgroup CPU quota/, 'and a CPU quota');
  });

  test('the import guard refuses child_process and vm by each way it covers: import, getBuiltinModule, require', async () => {
    const report = await attack('probe', 'guard');
    for (const name of ['child_process', 'vm']) {
      for (const way of ['import', 'getBuiltinModule', 'load']) {
        assertDenied(report, `${way}-${name}`, ['PLUGIN_IMPORT_DENIED']);
      }
    }
    await assertUnharmed('probe');
  });

  test('spawning a process is refused; a fork bomb stops at its first child process and its first worker', async () => {
    const spawn = await attack('probe', 'spawn');
    // Past the import guard (by a way it leaves open, as its own documentation says), the permission model refuses.
    if (outcomeOf(spawn, 'obtain').ok) assertDenied(spawn, 'spawn', ['ERR_ACCESS_DENIED']);
    else assertDenied(spawn, 'obtain', ['PLUGIN_IMPORT_DENIED']);
    const bomb = await attack('probe', 'fork-bomb');
    for (const step of ['spawn-loop', 'worker-loop']) {
      const outcome = assertDenied(bomb, step, DENIALS);
      if (outcome.code === 'ERR_ACCESS_DENIED') {
        assert.match(outcome.detail, /^after 0 started/, `${step}: none started`);
      }
    }
    await assertUnharmed('probe');
  });

  test("/etc/passwd and the server's config.yaml cannot be read, from beside it nor from a sub-folder through ..", async () => {
    assertDenied(await attack('probe', 'passwd'), 'passwd', ['ERR_ACCESS_DENIED']);
    for (const plugin of ['probe', 'sub']) {
      const report = await attack(plugin, 'config');
      assertDone(report, 'own-file'); // the grant works: the refusals below are the permission model's
      for (const step of ['read', 'promises']) assertDenied(report, step, ['ERR_ACCESS_DENIED']);
      assert.ok(!report.includes(MARKER), 'nothing of the file came back');
      await assertUnharmed(plugin);
    }
  });

  test('no file can be written, into its own folder nor /tmp', async () => {
    const report = await attack('probe', 'write');
    assertDenied(report, 'own-folder', ['ERR_ACCESS_DENIED']);
    assertDenied(report, 'other', ['ERR_ACCESS_DENIED']);
    assert.ok(!existsSync(join(server.fixture.dir, 'rogue-written.txt')), 'no file in its folder');
    assert.ok(!existsSync(otherPath), 'no file in /tmp');
    await assertUnharmed('probe');
  });

  test('eval and new Function are refused; the vm escape gets nothing to spawn with; no bindings, no addons', async () => {
    const code = await attack('probe', 'eval');
    assertDenied(code, 'eval', ['EvalError']);
    assertDenied(code, 'function', ['EvalError']);
    const vm = await attack('probe', 'vm');
    if (outcomeOf(vm, 'escape').ok) assertDenied(vm, 'spawn', DENIALS);
    else assertDenied(vm, 'escape', ['EvalError', 'PLUGIN_IMPORT_DENIED']);
    const bindings = await attack('probe', 'binding');
    assertDenied(bindings, 'binding', ['ERR_ACCESS_DENIED']);
    // The addon's file is readable (node_modules is): the guard, or else the permission model, refuses to load it.
    assertDenied(bindings, 'dlopen', ['ERR_DLOPEN_DISABLED', 'PLUGIN_IMPORT_DENIED']);
    await assertUnharmed('probe');
  });

  test("SIGKILL to the server's real pid reaches nothing: no such pid in the plugin's PID namespace", async () => {
    const { enforcement } = await server.probe.sandbox('rogue-probe');
    // Without one, the signal would reach this very process.
    assert.match(enforcement.processes, /own PID namespace/, 'only with a PID namespace is this attack safe to run');
    assertDenied(await attack('probe', 'kill-pid'), 'kill', ['ESRCH']);
    assert.ok(await server.probe.answers(), 'the server (this process) answers');
    await assertUnharmed('probe');
  });

  test("the server's secrets are not in the plugin's environment, nor readable through /proc", async () => {
    const report = await attack('probe', 'env');
    const env = assertDone(report, 'env');
    assert.ok(env.startsWith('secret=absent '), `no secret in process.env: ${report}`);
    const keys = /keys=(\S*)/.exec(env)?.[1]?.split(',') ?? [];
    // PWD: set by the shell that puts the process in its cgroups.
    const minimal = ['PATH', 'NODE_ENV', 'LANG', 'TZ', 'PWD'];
    assert.ok(
      keys.every((key) => minimal.includes(key)),
      `a minimal environment: ${keys.join(',')}`,
    );
    assertDenied(report, 'proc-environ', ['ERR_ACCESS_DENIED']);
    await assertUnharmed('probe');
  });

  test('sockets fail at once: Redis on loopback, a private and a public address are unreachable', async () => {
    const report = await attack('probe', 'socket');
    for (const step of ['redis', 'private', 'public']) {
      const outcome = assertDenied(report, step, ['ENETUNREACH', ...DENIALS]);
      const ms = Number(/after (\d+) ms/.exec(outcome.detail)?.[1] ?? 0);
      assert.ok(ms < 1000, `${step} failed fast (${ms} ms), not by a timeout`);
    }
    await assertUnharmed('probe');
  });

  test('fetch reaches only allowed hosts, through the server', async () => {
    assertDenied(await attack('probe', 'fetch'), 'fetch', ['PLUGIN_SANDBOX_UNSUPPORTED']);
    assert.ok(!recorder.paths.includes('/denied'), 'the denied request never reached the host');
    assert.equal(assertDone(await attack('sub', 'fetch'), 'fetch'), '200 reached');
    assert.ok(recorder.paths.includes('/allowed'), 'the allowed request reached the host');
    await assertUnharmed('sub');
  });

  // Two plugins at once: their restarts overlap (each restart is a second or two of loading).
  describe('attacks that end the process, on two plugins at once', { concurrency: true }, () => {
    test('2 GB on the heap, then 2 GB of Buffers: killed for memory each time, restarted', async () => {
      await killedAndRestarted('hoarder', 'heap', 'memory');
      const status = (await server.probe.plugins())['rogue-hoarder']!;
      assert.equal(status.lastError?.code, 'PLUGIN_SANDBOX_LIMIT', 'the call that died is recorded as a limit');
      await killedAndRestarted('hoarder', 'buffer', 'memory');
    });

    test('an uncaught error in a timer, process.exit(0), a busy loop in a call: each seen for what it is, restarted', async () => {
      const crash = await killedAndRestarted('crasher', 'crash', 'crash');
      assert.match(crash.report.lastExit!.detail, /rogue crash from a timer/);
      await killedAndRestarted('crasher', 'exit', 'exit');
      const spin = await killedAndRestarted('crasher', 'spin', 'unresponsive');
      assert.ok(spin.ms < 15_000, `cut off after its 1 s timeout and the yield grace (${spin.ms} ms)`);
    });
  });

  test('stopping the server leaves no process and no cgroup behind', async () => {
    await server.stop();
    assertNothingLeft(server.fixture.dir, process.pid);
  });
});

describe('rogue plugins, sandboxed, in a `plugboard serve` of their own', () => {
  test('a busy loop in a background timer: throttled by the CPU quota, killed for CPU after the grace', async () => {
    const { server: cli, probe } = await fleet.get('cpu');
    const before = await beforeAttack(probe, cli.log, 'rogue-spinner', 'cpu');
    const started = Date.now();
    assert.match((await probe.attack('spinner', 'cpu')).text, /cpu=OK/);
    await sleep(1500);
    const throttled = (await probe.sandbox('rogue-spinner')).usage?.cpuThrottledUs ?? 0;
    assert.ok(throttled > (before.report.usage?.cpuThrottledUs ?? 0), `the kernel held it back (${throttled} µs)`);
    await assertEnded(probe, cli.log, 'rogue-spinner', 'cpu', before, { restarted: false });
    // The grace runs from the start of the sampling window (250 ms) in which the loop was first seen.
    assert.ok(Date.now() - started >= 2700, 'not before the grace of 3 s');
    assert.ok(await probe.answers(), 'the server answers meanwhile');
  });

  test('stopped by SIGTERM while that plugin restarts, the server leaves no process and no cgroup behind', async () => {
    const { server: cli, probe } = await fleet.get('cpu');
    assert.equal((await probe.sandbox('rogue-spinner')).state, 'restarting', 'its restart is still loading');
    cli.child.kill('SIGTERM');
    const exit = await Promise.race([cli.exited, sleep(10_000, undefined, { ref: false })]);
    assert.deepEqual(exit, { code: 0, signal: null }, 'a graceful stop');
    assertNothingLeft(dirname(cli.configFile), cli.child.pid!);
  });

  test('SIGKILL to its parent pid (0 in its PID namespace: its process group) does not reach the server', async () => {
    const { server: cli, probe } = await fleet.get('kill-ppid');
    await probe.attack('killer', 'kill-ppid').catch(() => undefined);
    await sleep(500);
    const ended = cli.child.exitCode ?? cli.child.signalCode;
    assert.equal(ended, null, `the server process is alive:\n${cli.output().slice(-2000)}`);
    assert.ok(await probe.answers(), 'and answers');
    const report = await probe.waitForSandbox(
      'rogue-killer',
      (status) => status.restarts >= 1 && status.state === 'running',
    );
    assert.equal(report.lastExit?.kind, 'crash', 'the plugin killed only itself');
    assert.equal((await probe.chat('hello')).text, 'hello', 'and the server goes on');
  });

  test('malformed messages on its pipe to the server (JSON that is no message) do not bring the server down', async () => {
    const { server: cli, probe } = await fleet.get('pipe');
    await probe.attack('piper', 'pipe').catch(() => undefined);
    await sleep(500);
    const ended = cli.child.exitCode ?? cli.child.signalCode;
    assert.equal(ended, null, `the server process is alive:\n${cli.output().slice(-2000)}`);
    assert.ok(await probe.answers(), 'and answers');
    const { lastExit } = await probe.sandbox('rogue-piper');
    assert.ok(
      lastExit === undefined || lastExit.kind === 'protocol',
      `the plugin was ignored or killed for its messages: ${JSON.stringify(lastExit)}`,
    );
    assert.equal((await probe.chat('hello')).text, 'hello', 'and the server goes on');
  });
});
