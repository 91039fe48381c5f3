/**
 * `serve()` and `plugboard serve`: the server as an operator runs it — from a config file,
 * stopped by signals with a graceful drain of in-flight streams, with documented exit codes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createSilentLogger } from '../../src/index.ts';
import { EXIT_CODES, serve } from '../../src/server/serve.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const INDEX = pathToFileURL(join(ROOT, 'src/index.ts')).href;

/** A backend that streams `words` words (plugin config), one every `delay_ms`. */
const SLOW_BACKEND = `
import { setTimeout as sleep } from 'node:timers/promises';
import { createMessage, defineBackend } from '${INDEX}';
let settings = { words: 5, delay_ms: 50 };
export default defineBackend({
  metadata: { name: 'slow', version: '1.0.0' },
  initialize(config) { settings = { ...settings, ...config.config }; },
  chat(context, call) {
    const words = Number(settings.words);
    if (!context.stream) return { message: createMessage({ role: 'assistant', content: 'w '.repeat(words).trim() }) };
    return (async function* () {
      for (let index = 0; index < words; index++) {
        await sleep(Number(settings.delay_ms), undefined, { signal: call.signal });
        yield { content: index === 0 ? 'w' : ' w' };
      }
      yield { finishReason: 'stop' };
    })();
  },
  listModels: () => [{ id: 'slow-model' }],
});
`;

function config(options: { words: number; delayMs: number; shutdownTimeout?: number }): string {
  return [
    'mode: development',
    'server:',
    '  host: 127.0.0.1',
    '  port: 0',
    `  shutdown_timeout: ${options.shutdownTimeout ?? 30}`,
    'observability:',
    '  logging: { level: ERROR, format: json }',
    'backends:',
    '  slow:',
    '    plugin_file: slow.plugin.ts',
    '    config:',
    `      words: ${options.words}`,
    `      delay_ms: ${options.delayMs}`,
  ].join('\n');
}

async function fixture(options: Parameters<typeof config>[0]): Promise<RuntimeFixture> {
  const fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-serve-'));
  await fixture.write('slow.plugin.ts', SLOW_BACKEND);
  await fixture.write('config.yaml', config(options));
  return fixture;
}

/** Starts a streamed chat and returns the response and a reader of its whole body. */
async function startStream(url: string): Promise<{ status: number; body: Promise<string> }> {
  const response = await fetch(`${url}/api/chat`, {
    method: 'POST',
    body: JSON.stringify({ model: 'slow/slow-model', messages: [{ role: 'user', content: 'hi' }] }),
  });
  return { status: response.status, body: response.text() };
}

/** Serves a fixture (disposed after the test) and opens one streamed chat on it. */
async function serveAndStream(options: Parameters<typeof config>[0]) {
  const files = await fixture(options);
  after(() => files.dispose());
  const running = await serve({ configFile: files.file, env: {}, handleSignals: false, logger: createSilentLogger() });
  const stream = await startStream(running.url);
  assert.equal(stream.status, 200);
  return { running, stream };
}

describe('serve(): graceful shutdown', () => {
  test('an open stream finishes before the server stops; new connections are refused; exit code 0', async () => {
    const { running, stream } = await serveAndStream({ words: 12, delayMs: 40 });

    const code = running.stop('test');
    const body = await stream.body;
    const lines = body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { done: boolean; message?: { content: string } });
    assert.equal(lines.at(-1)?.done, true, 'the stream ended with its final done line');
    assert.equal(lines.map((line) => line.message?.content ?? '').join(''), 'w w w w w w w w w w w w');
    assert.equal(await code, EXIT_CODES.ok);
    assert.equal(await running.stopped, EXIT_CODES.ok);
    await assert.rejects(fetch(`${running.url}/health/live`), 'the listener is closed');
    assert.equal(running.runtime.manager.running, false, 'plugins were shut down');
  });

  test('a stream that outlives shutdown_timeout is cut with an in-stream error; exit code 3', async () => {
    const { running, stream } = await serveAndStream({ words: 100_000, delayMs: 20, shutdownTimeout: 0.3 });
    const code = await running.stop('test');
    assert.equal(code, EXIT_CODES.forced);
    // The stream ends with its error line, not a connection reset (see shutdown-streams.test.ts).
    const body = await stream.body;
    const last = JSON.parse(body.trim().split('\n').at(-1) ?? '{}') as { error?: string; code?: string };
    assert.equal(last.code, 'SERVER_SHUTTING_DOWN', `last line: ${JSON.stringify(last)}`);
    assert.match(last.error ?? '', /shut down/i);
  });
});

describe('plugboard serve (the CLI)', () => {
  let files: RuntimeFixture;
  before(async () => {
    files = await fixture({ words: 3, delayMs: 10 });
  });
  after(() => files.dispose());

  function start(args: string[], env: Record<string, string> = {}) {
    const child = spawn(process.execPath, [join(ROOT, 'bin/plugboard.mjs'), 'serve', ...args], {
      env: { ...process.env, PLUGBOARD_LOG_LEVEL: 'error', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    const url = new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (text: string) => {
        stderr += text;
        const match = /Plugboard (http:\/\/\S+)/.exec(stderr);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code} before listening:\n${stderr}`)));
    });
    url.catch(() => undefined);
    const exit = once(child, 'exit').then(([code]) => code as number);
    return { child, url, exit, stderr: () => stderr };
  }

  test('starts from --config on --port 0, answers, and exits 0 on SIGTERM', async () => {
    const server = start(['--config', files.file, '--port', '0']);
    const url = await server.url;
    const chat = await fetch(`${url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'slow-model', stream: false, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(chat.status, 200);
    server.child.kill('SIGTERM');
    assert.equal(await server.exit, 0);
  });

  test('a port in use: exit code 1 and a message that says what to do', async () => {
    const blocker = createNetServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    after(() => blocker.close());
    const port = (blocker.address() as { port: number }).port;
    const server = start(['--config', files.file], { PORT: String(port) });
    assert.equal(await server.exit, EXIT_CODES.startFailed);
    assert.match(server.stderr(), new RegExp(`Port ${port} on 127.0.0.1 is already in use.*--port or PORT`));
  });

  test('a bad --port is a usage error (exit code 2)', async () => {
    const server = start(['--config', files.file, '--port', 'eighty']);
    assert.equal(await server.exit, EXIT_CODES.usage);
    assert.match(server.stderr(), /--port must be a port number/);
  });

  test('an invalid configuration file: exit code 1 naming the problem', async () => {
    await files.write('broken.yaml', 'mode: production\nserver:\n  port: "many"\n');
    const server = start(['--config', join(files.dir, 'broken.yaml')]);
    assert.equal(await server.exit, EXIT_CODES.startFailed);
    assert.match(server.stderr(), /server\.port/);
  });
});
