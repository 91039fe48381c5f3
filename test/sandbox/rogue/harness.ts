/**
 * What the rogue-plugin suite needs around its servers: chat and status calls with bounded
 * waits, a real `plugboard serve` process in a process group of its own, and a tiny HTTP server
 * that records who reached it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** A sandboxed plugin as GET /plugins shows it (the fields the suite reads). */
export interface SandboxStatus {
  readonly state: string;
  readonly pid?: number;
  readonly restarts: number;
  readonly lastExit?: {
    readonly kind: string;
    readonly detail: string;
    readonly at: string;
    readonly signal: string | null;
  };
  readonly usage?: { readonly memoryBytes?: number; readonly cpuThrottledUs?: number };
  readonly enforcement: Readonly<Record<'filesystem' | 'network' | 'processes' | 'memory' | 'cpu', string>>;
  readonly gaps: readonly string[];
}

/** A plugin as GET /plugins shows it. */
export interface PluginStatus {
  readonly state: string;
  readonly sandbox?: SandboxStatus;
  readonly lastError?: { readonly code: string; readonly message: string };
}

/** Calls to one running Plugboard server. */
export class ServerProbe {
  constructor(readonly url: string) {}

  /** One chat turn to the echo backend; answers the status and the reply text ('' when none). */
  async chat(content: string, timeoutMs = 15_000): Promise<{ status: number; text: string; ms: number }> {
    const started = Date.now();
    const response = await fetch(`${this.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'echo/echo', messages: [{ role: 'user', content }] }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await response.json()) as { choices?: { message: { content: string } }[] };
    return { status: response.status, text: body.choices?.[0]?.message.content ?? '', ms: Date.now() - started };
  }

  /** Asks `rogue-<plugin>` for `attack`; answers the status and the reply (its report, and whatever output processors added). */
  attack(plugin: string, attack: string): Promise<{ status: number; text: string; ms: number }> {
    return this.chat(`rogue-${plugin}/${attack}`);
  }

  async plugins(): Promise<Record<string, PluginStatus>> {
    const response = await fetch(`${this.url}/plugins`, { signal: AbortSignal.timeout(5000) });
    return ((await response.json()) as { plugins: Record<string, PluginStatus> }).plugins;
  }

  async sandbox(plugin: string): Promise<SandboxStatus> {
    const status = (await this.plugins())[plugin];
    if (status?.sandbox === undefined) throw new Error(`${plugin} has no sandbox report`);
    return status.sandbox;
  }

  /** Polls the plugin's sandbox report until `done` holds (or `timeoutMs` passed); answers the last report. */
  async waitForSandbox(plugin: string, done: (report: SandboxStatus) => boolean, timeoutMs = 10_000) {
    let report = await this.sandbox(plugin);
    for (const until = Date.now() + timeoutMs; !done(report) && Date.now() < until; ) {
      await sleep(100);
      report = await this.sandbox(plugin);
    }
    return report;
  }

  /** The value of `sandbox_events_total` for a plugin and event (0 when not yet counted). */
  async sandboxEvents(plugin: string, event: string): Promise<number> {
    const text = await (await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const line = text
      .split('\n')
      .find((candidate) => candidate.startsWith(`sandbox_events_total{plugin="${plugin}",event="${event}"}`));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  }

  /** True when GET /health answers 200 within `timeoutMs`. */
  async answers(timeoutMs = 2000): Promise<boolean> {
    try {
      const response = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(timeoutMs) });
      await response.body?.cancel();
      return response.status === 200;
    } catch {
      return false;
    }
  }
}

/** A `plugboard serve` process (the real CLI), leader of its own process group. */
export interface CliServer {
  readonly child: ChildProcess;
  readonly configFile: string;
  /** Its URL, once it listens (rejects when it exits first). */
  readonly url: Promise<string>;
  /** Its exit code or signal, once it exits. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  output(): string;
  /** Its JSON log lines so far, parsed. */
  log(): Record<string, unknown>[];
  /** Ends it and what it started: SIGTERM (a graceful stop removes its cgroups), after `graceMs` SIGKILL to its group. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `plugboard serve --config <file>` with `env` added to this process's environment and
 * `nodeFlags` before the CLI's path. Its own process group (detached), so that a signal sent to
 * "the process group" from inside it cannot reach the test runner.
 */
export function startCliServer(
  configFile: string,
  options: { env?: Record<string, string>; nodeFlags?: readonly string[] } = {},
): CliServer {
  const child = spawn(
    process.execPath,
    [...(options.nodeFlags ?? []), join(ROOT, 'bin/plugboard.mjs'), 'serve', '--config', configFile],
    { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let output = '';
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = new Promise<string>((resolve, reject) => {
    const collect = (text: Buffer) => {
      output += text.toString('utf8');
      const match = /Plugboard (?:listening on )?(http:\/\/[^\s"]+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    void exited.then(({ code, signal }) => reject(new Error(`plugboard serve ended (${code ?? signal}):\n${output}`)));
  });
  url.catch(() => undefined);
  return {
    child,
    configFile,
    url,
    exited,
    output: () => output,
    log: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return []; // a line still being written
          }
        }),
    async stop(graceMs = 5000) {
      if (graceMs > 0 && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(graceMs, undefined, { ref: false })]);
      }
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
    },
  };
}

/** An HTTP server on 127.0.0.1 that answers `reached` and records each request's path. */
export async function startRecordingServer(): Promise<{ port: number; paths: string[]; server: Server }> {
  const paths: string[] = [];
  const server = createServer((request, response) => {
    paths.push(request.url ?? '');
    response.end('reached');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, paths, server };
}
