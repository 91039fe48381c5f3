/**
 * Real child processes for the platform tests, each remembered so `killAllChildren` (run in
 * `after`/`afterEach`) leaves none behind even when a test fails half-way.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';

const started = new Set<ChildProcess>();

/** A busy loop: uses 100 % of one core until killed. */
export const BUSY_LOOP = 'for (;;) {}';

/** Waits for a line "go" on stdin before running `body`, so a test can first move it into a cgroup. */
export function afterGo(body: string): string {
  return `process.stdin.once('data', () => { ${body} });`;
}

/** Starts `command` and remembers it for {@link killAllChildren}; resolves once it runs. */
export async function start(command: string, args: readonly string[], options: SpawnOptions = {}) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
  started.add(child);
  child.once('exit', () => started.delete(child));
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  return child as ChildProcess & { pid: number };
}

/** Starts `node -e script`. */
export function startNode(script: string, options: SpawnOptions = {}) {
  return start(process.execPath, ['-e', script], options);
}

/** Resolves with how the child ended, or rejects after `timeoutMs`. */
export function exited(
  child: ChildProcess,
  timeoutMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pid ${child.pid} still runs after ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** Everything the child wrote to stdout and stderr so far is collected into the answer's fields. */
export function collectOutput(child: ChildProcess): { stdout: string; stderr: string } {
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk: Buffer) => {
    output.stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  return output;
}

/** SIGCONT + SIGKILL every child still running, and waits until they are gone. */
export async function killAllChildren(): Promise<void> {
  const running = [...started];
  for (const child of running) {
    try {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    } catch {
      // Gone already.
    }
  }
  await Promise.all(running.map((child) => exited(child, 5_000).catch(() => undefined)));
  await delay(0);
}
