/**
 * The rogue plugins of rogue-plugins.test.ts without a sandbox: each attack succeeds, which
 * proves that the sandboxed assertions could fail. Those that harm nothing but what they reach
 * run in a server in this process (the entries say `trusted: true`); those that end or block a
 * server, each against a `plugboard serve` process of its own.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertDone } from './expectations.ts';
import { type CliServer, ServerProbe, startRecordingServer } from './harness.ts';
import { CliFleet, type InProcessServer, MARKER, probingRogues, SECRET, startInProcessServer } from './servers.ts';

const previousKey = process.env.OPENAI_API_KEY;
const fleet = new CliFleet();
let recorder: Awaited<ReturnType<typeof startRecordingServer>>;
let server: InProcessServer;
let trusted: ServerProbe;

before(async () => {
  process.env.OPENAI_API_KEY = SECRET; // in the server's environment, as an operator's key would be
  fleet.start('exit', { name: 'exit', attacks: ['exit'] });
  fleet.start('kill-pid', { name: 'killer', attacks: ['kill-pid'] });
  fleet.start('spin', { name: 'spinner', attacks: ['spin'] });
  // An operator's heap limit, so that "allocate 2 GB" ends the server rather than only swelling it.
  fleet.start('heap', { name: 'hoarder', attacks: ['heap'] }, ['--max-old-space-size=1024']);
  recorder = await startRecordingServer();
  server = await startInProcessServer(
    'plugboard-rogue-trusted-',
    (dir) => probingRogues(dir, recorder.port, join(dir, 'other-written.txt'), false),
    { bystander: false },
  );
  trusted = server.probe;
});

after(async () => {
  await fleet.stopAll();
  await server?.stop();
  await server?.fixture.dispose();
  recorder?.server.close();
  if (previousKey === undefined) delete process.env.OPENAI_API_KEY;
  else process.env.OPENAI_API_KEY = previousKey;
});

describe("rogue plugins in the server's process (trusted): every attack succeeds", () => {
  test('it spawns `id`, reads /etc/passwd and the config (beside it and through ..), writes files', async () => {
    const spawn = (await trusted.attack('probe', 'spawn')).text;
    assert.equal(assertDone(spawn, 'obtain'), 'via import');
    assert.match(assertDone(spawn, 'spawn'), /^uid=\d+/);
    assert.match(assertDone((await trusted.attack('probe', 'passwd')).text, 'passwd'), /^root:/);
    for (const plugin of ['probe', 'sub']) {
      const report = (await trusted.attack(plugin, 'config')).text;
      for (const step of ['read', 'promises']) assert.equal(assertDone(report, step), `# ${MARKER}`);
    }
    const written = (await trusted.attack('probe', 'write')).text;
    for (const step of ['own-folder', 'other']) assertDone(written, step);
    assert.ok(existsSync(join(server.fixture.dir, 'rogue-written.txt')), 'the file is there');
  });

  test('eval runs, the vm escape spawns, the bindings are there, nothing guards imports', async () => {
    const code = (await trusted.attack('probe', 'eval')).text;
    assert.equal(assertDone(code, 'eval'), '2');
    assert.equal(assertDone(code, 'function'), '2');
    const vm = (await trusted.attack('probe', 'vm')).text;
    assert.match(assertDone(vm, 'escape'), new RegExp(`pid ${process.pid}$`), 'the real process object');
    assert.match(assertDone(vm, 'spawn'), /^uid=\d+/);
    const bindings = (await trusted.attack('probe', 'binding')).text;
    assert.equal(assertDone(bindings, 'binding'), 'spawn_sync.spawn is a function');
    assert.match(assertDone(bindings, 'dlopen'), /^\d+ exports$/);
    const guard = (await trusted.attack('probe', 'guard')).text;
    for (const name of ['child_process', 'vm']) {
      for (const way of ['import', 'getBuiltinModule', 'load'])
        assert.equal(assertDone(guard, `${way}-${name}`), 'object');
    }
  });

  test('it sees the secret, reads the environment through /proc, talks to Redis, fetches any host', async () => {
    const env = (await trusted.attack('probe', 'env')).text;
    assert.match(assertDone(env, 'env'), /^secret=SEEN /);
    assertDone(env, 'proc-environ');
    assert.equal(assertDone((await trusted.attack('probe', 'socket')).text, 'redis'), '+PONG');
    assert.equal(assertDone((await trusted.attack('probe', 'fetch')).text, 'fetch'), '200 reached');
    assert.ok(recorder.paths.includes('/trusted'), 'the host got the request');
  });
});

/** Sends the attack to a CLI server, not waiting past `ms` for an answer (the server may die or hang under it). */
async function strike(key: string, plugin: string, attack: string, ms = 3000): Promise<CliServer> {
  const { server: cli, probe } = await fleet.get(key);
  await probe.chat(`rogue-${plugin}/${attack}`, ms).catch(() => undefined);
  return cli;
}

/** The server's exit, or undefined when it is still running after `ms`. */
function exitWithin(cli: CliServer, ms: number): Promise<{ code: number | null; signal: string | null } | undefined> {
  return Promise.race([cli.exited, sleep(ms, undefined, { ref: false })]);
}

describe('unsandboxed attacks that end or block the server, each in a `plugboard serve`', { concurrency: true }, () => {
  test('process.exit ends the server', async () => {
    const cli = await strike('exit', 'exit', 'exit');
    assert.deepEqual(await exitWithin(cli, 5000), { code: 0, signal: null }, 'the server exited (code 0)');
  });

  test("SIGKILL to the server's pid kills it", async () => {
    const cli = await strike('kill-pid', 'killer', 'kill-pid');
    assert.deepEqual(await exitWithin(cli, 5000), { code: null, signal: 'SIGKILL' }, 'the server was killed');
  });

  test('a busy loop in a call stops the server answering at all', async () => {
    const cli = await strike('spin', 'spinner', 'spin', 500);
    assert.equal(await new ServerProbe(await cli.url).answers(2000), false, 'no answer to /health within 2 s');
    assert.equal(cli.child.exitCode, null, 'though the process still runs');
  });

  test('2 GB on the heap ends the server', async () => {
    const cli = await strike('heap', 'hoarder', 'heap');
    assert.ok((await exitWithin(cli, 30_000)) !== undefined, 'the server process ended');
    assert.match(cli.output(), /heap out of memory|Reached heap limit/, 'out of heap');
  });
});
