/**
 * Test support: a real `plugboard serve` process (the CLI, from source) on a temporary config
 * file, with the example echo backend; stopped by its pid only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const EXAMPLES = join(ROOT, 'examples/plugins');

/** A running server process. */
export interface CliServer {
  readonly url: string;
  /** What it wrote on stdout and stderr so far (its logs, its banner). */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; removes its config folder. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The YAML of a config with the echo backend, quiet logs, and `extra` lines appended
 * (a `middleware:` entry, a `connections:` section …).
 */
export function configWith(extra: readonly string[]): string {
  return [
    'mode: staging',
    'server: { host: 127.0.0.1, port: 0 }',
    'observability:',
    '  logging: { level: WARNING, format: json }',
    'plugin_manager:',
    `  plugin_directories: [${JSON.stringify(EXAMPLES)}]`,
    'backends:',
    `  echo: { plugin_file: ${JSON.stringify(join(EXAMPLES, 'echo-backend.plugin.ts'))} }`,
    ...extra,
  ].join('\n');
}

/** Starts `node bin/plugboard.mjs serve --config <file>` and waits for its "Plugboard http://…" line. */
export async function startCliServer(yaml: string): Promise<CliServer> {
  const dir = await mkdtemp(join(tmpdir(), 'plugboard-rate-limiter-'));
  const file = join(dir, 'config.yaml');
  await writeFile(file, yaml);
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'bin/plugboard.mjs'), 'serve', '--config', file], {
    cwd: dir,
    env: { ...process.env, PLUGBOARD_FROM_SOURCE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  let stderr = '';
  let stdout = '';
  child.stderr?.setEncoding('utf8');
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (text: string) => {
    stdout += text;
  });
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "Plugboard http://" line within 30 s:\n${stderr}`)), 30_000);
      child.stderr?.on('data', (text: string) => {
        stderr += text;
        const match = /Plugboard (http:\/\/\S+)/.exec(stderr);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      void exited.then(([code]) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${String(code)} before listening:\n${stderr}`));
      });
    });
    return { url, output: () => stdout + stderr, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
