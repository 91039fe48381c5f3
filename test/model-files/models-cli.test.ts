/**
 * `plugboard models pull|list`, the real executable (bin/plugboard.mjs) spawned with HF_ENDPOINT
 * pointing at a local HTTP server in the Hugging Face Hub's URL layout (FakeHub: no internet
 * here): a pull exits 0 with the file in place, Ctrl-C keeps the part file and says the next
 * pull resumes it, list shows both, and usage errors exit 2.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { RuntimeFixture } from '../support/runtime-fixture.ts';
import { tinyGgufBytes } from '../support/tiny-gguf.ts';
import { FakeHub } from './fake-hub.ts';

const BIN = fileURLToPath(new URL('../../bin/plugboard.mjs', import.meta.url));
const MODEL = tinyGgufBytes();
const HALF = Math.floor(MODEL.length / 2);

let hub: FakeHub;
let dir: string;
before(async () => {
  hub = await FakeHub.start();
  hub.serve('owner/repo/resolve/main/cli.gguf', { bytes: MODEL });
  hub.serve('owner/repo/resolve/main/stop.gguf', { bytes: MODEL, stallAt: HALF });
  dir = await RuntimeFixture.tempDir('plugboard-models-cli-');
});
after(async () => {
  await hub.close();
  await rm(dir, { recursive: true, force: true });
});

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Spawns the CLI (not spawnSync: the fake Hub answers from this process). */
function plugboard(args: readonly string[]): { child: ChildProcess; exit: Promise<Exit> } {
  const env: NodeJS.ProcessEnv = { ...process.env, HF_ENDPOINT: hub.url };
  delete env.PLUGBOARD_MODELS_DIR;
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = new Promise<Exit>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, exit };
}

describe('plugboard models', () => {
  test('pull downloads hf:owner/repo/file.gguf into ./models and exits 0', async () => {
    const { code, stdout, stderr } = await plugboard(['models', 'pull', 'hf:owner/repo/cli.gguf']).exit;
    assert.equal(code, 0, stderr);
    assert.match(stdout, /Downloaded models\/cli\.gguf \(\d+\.\d KiB; SHA-256 verified; GGUF header checked\)/);
    const saved = await readFile(join(dir, 'models', 'cli.gguf'));
    assert.equal(createHash('sha256').update(saved).digest('hex'), createHash('sha256').update(MODEL).digest('hex'));
  });

  test('Ctrl-C stops a pull, keeps the part file and says the next pull resumes', async () => {
    const stalled = hub.stalled.promise;
    const { child, exit } = plugboard(['models', 'pull', 'hf:owner/repo/stop.gguf', '--dir', 'elsewhere']);
    await stalled;
    const part = join(dir, 'elsewhere', 'stop.gguf.part');
    // The Hub's stall says the bytes were sent; wait until they are in the part file.
    for (let poll = 0; poll < 1000 && ((await stat(part).catch(() => undefined))?.size ?? 0) < HALF; poll++) {
      await sleep(10);
    }
    child.kill('SIGINT');
    const { code, stderr } = await exit;
    assert.equal(code, 130, stderr);
    assert.match(
      stderr,
      /Stopped\. elsewhere\/stop\.gguf\.part keeps what arrived; run the same command again to resume/,
    );
    assert.equal((await stat(part)).size, HALF);
    assert.deepEqual((await readdir(join(dir, 'elsewhere'))).sort(), ['stop.gguf.part', 'stop.gguf.part.json']);

    const listed = await plugboard(['models', 'list', '--dir', 'elsewhere']).exit;
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^stop\.gguf\.part +\d+\.\d KiB .*unfinished: pulling it again resumes/m);
  });

  test('list shows the GGUF files of the default folder; usage errors exit 2', async () => {
    const listed = await plugboard(['models', 'list']).exit;
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^cli\.gguf +\d+\.\d KiB/m);

    const invalid = await plugboard(['models', 'pull', 'hf:owner/repo/model.bin']).exit;
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /does not end in \.gguf/);
    assert.match(invalid.stderr, /Usage: plugboard models pull <source>/);

    const help = await plugboard(['--help']).exit;
    assert.equal(help.code, 0);
    assert.match(help.stdout, /models pull SOURCE \[--dir D\]/);
  });
});
