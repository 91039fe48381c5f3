/**
 * Errors that escape every plugin call — a promise nobody awaited, a throw from a timer —
 * must not end the server (they used to: exit 1, 50–100 ms after the request was answered).
 * Each is attributed to the plugin whose file is in its stack, counted against the plugin,
 * and logged; one from Plugboard's own code leaves the process state unknown and stops the
 * server gracefully with exit code 4. The server runs as the real CLI in a child process:
 * the process guards are about the process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EXIT_CODES } from '../../src/server/serve.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const INDEX = pathToFileURL(join(ROOT, 'src/index.ts')).href;

/** Leaks a rejection on its first call only, then answers normally. */
const BACKEND = `
import { createMessage, defineBackend } from '${INDEX}';
let leaked = false;
export default defineBackend({
  metadata: { name: 'echo', version: '1.0.0' },
  chat() {
    if (!leaked) { leaked = true; void Promise.reject(new Error('backend forgot a promise')); }
    return { message: createMessage({ role: 'assistant', content: 'fine' }), finishReason: 'stop' };
  },
  listModels: () => [{ id: 'echo' }],
});
`;

/** Throws from a timer on every call. */
const PROCESSOR = `
import { defineMessageProcessor } from '${INDEX}';
export default defineMessageProcessor({
  metadata: { name: 'leaky', version: '1.0.0' },
  processMessage(message) {
    setTimeout(() => { throw new Error('timer of leaky'); }, 1);
    return message;
  },
});
`;

/** Leaves a failing async function floating on every request. */
const MIDDLEWARE = `
import { defineMiddleware } from '${INDEX}';
async function audit() { await null; throw new Error('audit write failed'); }
let once = false;
export default defineMiddleware({
  metadata: { name: 'floaty', version: '1.0.0' },
  processRequest(context) {
    audit();
    // A reason that is not an Error has no stack: no plugin can be named.
    if (!once) { once = true; void Promise.reject('a bare reason'); }
    return context;
  },
});
`;

/** A MONITORING hook that throws from a timer. */
const HOOK = `
import { defineFeatureExtension } from '${INDEX}';
export default defineFeatureExtension({
  metadata: { name: 'noisy', version: '1.0.0', priority: 'MONITORING' },
  processContext: (context) => context,
  onRequestEnd() { setTimeout(() => { throw new TypeError('noisy hook'); }, 1); },
});
`;

const CONFIG = `
mode: development
server: { host: 127.0.0.1, port: 0 }
observability:
  logging: { level: ERROR, format: json }
backends:
  echo: { plugin_file: echo.plugin.ts }
message_processors:
  leaky: { plugin_file: leaky.plugin.ts }
middleware:
  floaty: { plugin_file: floaty.plugin.ts }
features:
  noisy: { plugin_file: noisy.plugin.ts }
`;

function start(configFile: string) {
  const child = spawn(process.execPath, [join(ROOT, 'bin/plugboard.mjs'), 'serve', '--config', configFile], {
    env: { ...process.env, PLUGBOARD_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8');
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    stdout += text;
  });
  const url = new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (text: string) => {
      stderr += text;
      const match = /Plugboard (http:\/\/\S+)/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${stderr}\n${stdout}`)));
  });
  url.catch(() => undefined);
  const exit = once(child, 'exit').then(([code]) => code as number);
  return { child, url, exit, log: () => stdout, stderr: () => stderr };
}

async function chat(url: string, api: 'openai' | 'ollama', stream: boolean): Promise<number> {
  const response =
    api === 'openai'
      ? await fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'echo', stream, messages: [{ role: 'user', content: 'hi' }] }),
        })
      : await fetch(`${url}/api/chat`, {
          method: 'POST',
          body: JSON.stringify({ model: 'echo', stream, messages: [{ role: 'user', content: 'hi' }] }),
        });
  await response.text();
  return response.status;
}

interface PluginView {
  lastError?: { code: string; message: string };
  breaker: { state: string; operations?: Record<string, { state: string }> };
}

describe('errors that escape every plugin call', () => {
  let files: RuntimeFixture;
  before(async () => {
    files = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-stray-'));
    await files.write('echo.plugin.ts', BACKEND);
    await files.write('leaky.plugin.ts', PROCESSOR);
    await files.write('floaty.plugin.ts', MIDDLEWARE);
    await files.write('noisy.plugin.ts', HOOK);
    await files.write('config.yaml', CONFIG);
  });
  after(() => files.dispose());

  test('keep the server serving, and are counted against the plugin they came from', async () => {
    const server = start(files.file);
    try {
      const url = await server.url;
      const statuses: number[] = [];
      for (let round = 0; round < 4; round++) {
        for (const api of ['openai', 'ollama'] as const) {
          for (const stream of [false, true]) statuses.push(await chat(url, api, stream));
        }
        // Let the timers fire and the rejections surface between requests.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.deepEqual(
        statuses,
        statuses.map(() => 200),
        `every request answered\n${server.log()}`,
      );
      assert.equal(server.child.exitCode, null, 'still running');
      assert.equal((await fetch(`${url}/health/live`)).status, 200);

      const report = (await (await fetch(`${url}/plugins`)).json()) as { plugins: Record<string, PluginView> };
      const byName = new Map(Object.entries(report.plugins));
      for (const name of ['echo', 'leaky', 'floaty', 'noisy']) {
        const plugin = byName.get(name);
        assert.ok(plugin, `${name} listed`);
        assert.equal(plugin.lastError?.code, 'PLUGIN_CALL_FAILED', `${name}: ${JSON.stringify(plugin)}`);
      }
      assert.match(byName.get('noisy')!.lastError!.message, /noisy hook/);
      assert.match(byName.get('floaty')!.lastError!.message, /audit write failed/);
      // Sixteen stray errors in a row opened the processor's background circuit: it is skipped now.
      assert.equal(byName.get('leaky')!.breaker.operations?.background?.state, 'open');
      // The backend leaked once: not enough to stop using it.
      assert.notEqual(byName.get('echo')!.breaker.operations?.background?.state, 'open');

      const metrics = (await (await fetch(`${url}/plugins/metrics`)).json()) as {
        system: { unattributedStrayErrors: number };
      };
      assert.equal(metrics.system.unattributedStrayErrors, 1);
      assert.match(await (await fetch(`${url}/metrics`)).text(), /^plugboard_unattributed_stray_errors_total 1$/m);

      const lines = server
        .log()
        .split('\n')
        .filter((line) => line.includes('"operation":"background"'))
        .map((line) => JSON.parse(line) as { plugin?: string; kind?: string });
      assert.ok(lines.some((line) => line.plugin === 'leaky' && line.kind === 'uncaughtException'));
      assert.ok(lines.some((line) => line.plugin === 'floaty' && line.kind === 'unhandledRejection'));
      assert.ok(lines.some((line) => line.plugin === 'echo' && line.kind === 'unhandledRejection'));
    } finally {
      server.child.kill('SIGTERM');
      await server.exit;
    }
  });

  test('an exception from Plugboard’s own code stops the server gracefully with exit code 4', async () => {
    // A stray error whose innermost frame is in Plugboard's src/ (what a bug of ours would throw).
    const script = `
      import { serve } from ${JSON.stringify(pathToFileURL(join(ROOT, 'src/server/serve.ts')).href)};
      const running = await serve({ configFile: ${JSON.stringify(files.file)}, port: 0 });
      console.error('Plugboard ' + running.url);
      // Not attributable and not ours: logged, the server keeps serving.
      void Promise.reject('a bare string');
      setTimeout(() => {
        const error = new Error('invariant broken');
        error.stack = 'Error: invariant broken\\n    at tick (${join(ROOT, 'src/server/chat-runner.ts')}:10:5)';
        throw error;
      }, 300);
      process.exitCode = await running.stopped;
    `;
    await files.write('own-bug.mts', script);
    const child = spawn(process.execPath, ['--import', 'tsx', join(files.dir, 'own-bug.mts')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      log += text;
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      log += text;
    });
    const [code] = await once(child, 'exit');
    assert.equal(code, EXIT_CODES.unknownState, log);
    assert.match(log, /from no plugin's code: a bare string/);
    assert.match(log, /process state is unknown/);
  });
});
