/**
 * A sandboxed plugin's process never outlives the server: `plugboard serve` killed with SIGKILL
 * (no shutdown code runs) takes its plugin processes along (the IPC channel closes; the
 * namespace wrapper's child dies with it), and the next server removes the cgroups the dead one
 * left behind. Real CLI processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { isAlive } from '../../src/sandbox/platform/proc-stats.ts';
import { PLUGBOARD_SRC } from '../support/plugin-sources.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const IDLE = `
import { defineMessageProcessor } from ${JSON.stringify(PLUGBOARD_SRC)};
export default defineMessageProcessor({ metadata: { name: 'idle', version: '1.0.0' }, processMessage: (message) => message });
`;

function serveCli(configFile: string) {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/plugboard.mjs'), 'serve', '--config', configFile, '--port', '0'],
    {
      env: { ...process.env, PLUGBOARD_LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    const read = (text: Buffer) => {
      output += text.toString();
      const match = /Plugboard (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stderr.on('data', read);
    child.stdout.on('data', read);
    child.once('exit', (code) => reject(new Error(`exited with ${code} before listening:\n${output}`)));
  });
  url.catch(() => undefined);
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, url };
}

test('SIGKILL of the server ends its sandboxed plugin processes; the next start removes their cgroups', async () => {
  const fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-sandbox-death-'));
  after(() => fixture.dispose());
  await fixture.write('idle.plugin.ts', IDLE);
  await fixture.write('config.yaml', 'message_processors:\n  idle: { plugin_file: idle.plugin.ts, sandbox: true }\n');

  const first = serveCli(fixture.file);
  const url = await first.url;
  const plugins = (await (await fetch(`${url}/plugins`)).json()) as {
    plugins: { idle: { sandbox: { pid: number; enforcement: { memory: string } } } };
  };
  const pid = plugins.plugins.idle.sandbox.pid;
  assert.ok(isAlive(pid), 'the plugin process runs');
  const cgroupDir = `/sys/fs/cgroup/pids`;
  const usesCgroup = /cgroup/.test(plugins.plugins.idle.sandbox.enforcement.memory);

  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  let alive = true;
  for (let waited = 0; waited < 5000 && alive; waited += 50) {
    await sleep(50);
    alive = isAlive(pid);
  }
  assert.equal(alive, false, 'the plugin process ended with the server');

  if (usesCgroup) {
    // The dead server's group is still there; a new server removes it before making its own.
    const second = serveCli(fixture.file);
    await second.url;
    const { cleanupStaleCgroups } = await import('../../src/sandbox/platform/cgroup.ts');
    const leftovers = await cleanupStaleCgroups();
    assert.ok(
      !leftovers.some((dir) => dir.includes(`-${first.child.pid}-`)),
      "the new server already removed the dead server's groups",
    );
    assert.ok(existsSync(cgroupDir), 'cgroups are mounted');
    second.child.kill('SIGKILL');
  }
});
