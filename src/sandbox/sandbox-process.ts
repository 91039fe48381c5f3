import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { dirname } from 'node:path';
import { PlugboardError } from '../core/errors/plugboard-error.ts';
import type { JsonValue } from '../core/stores/json.ts';
import { checkChildMessage } from './child-message-check.ts';
import { FramedPipe } from './framed-pipe.ts';
import type { PluginCgroup } from './platform/cgroup.ts';
import { childPids } from './platform/proc-stats.ts';
import type { ResourceViolation, ResourceWatchdog } from './platform/resource-watchdog.ts';
import type { ChildMessage, ChildPolicy, ConfigCheck, PluginShape } from './protocol.ts';
import { type ChannelHandlers, RpcChannel } from './rpc-channel.ts';
import { fromWireError } from './wire-values.ts';

/** The largest message the server reads from a plugin's process (a reply, a chunk, a log line). */
const MAX_MESSAGE_FROM_CHILD = 16 * 1024 * 1024;

/** How a sandboxed process ended, as the supervisor, `/plugins` and the log tell it. */
export interface ExitReason {
  /**
   * `exit`: the plugin ended its process (process.exit); `crash`: it died of an uncaught error or a
   * signal; `memory` / `cpu`: killed for a limit; `unresponsive`: killed because a call overran its
   * deadline and the event loop did not yield; `protocol`: killed for sending what is not a message
   * (over the size limit, not JSON); `stopped`: the server stopped it; `start-failed`.
   */
  readonly kind: 'exit' | 'crash' | 'memory' | 'cpu' | 'unresponsive' | 'protocol' | 'stopped' | 'start-failed';
  readonly code: number | null;
  readonly signal: string | null;
  readonly detail: string;
  readonly at: string;
}

/** What one process is started with. */
export interface ProcessSpec {
  readonly argv: readonly string[];
  readonly env: Record<string, string>;
  readonly modulePath: string;
  readonly policy: ChildPolicy;
  /** Config to validate with the plugin's own schema while loading. */
  readonly config?: JsonValue;
  readonly startTimeoutMs: number;
  readonly handlers: ChannelHandlers;
  /** Lines the process wrote to stderr (its crash report), for the log. */
  readonly stderr: (line: string) => void;
  readonly cgroup?: PluginCgroup;
  readonly watchdog?: ResourceWatchdog;
  readonly watchOptions?: { readonly memoryMb: number; readonly cpuPercent: number; readonly throttle: boolean };
}

/**
 * One run of a sandboxed plugin's process: spawned, loaded, called through its {@link RpcChannel},
 * watched, and ended. Restarts are the supervisor's; this class only tells how the run ended.
 */
export class SandboxProcess {
  readonly channel: RpcChannel;
  readonly exited: Promise<ExitReason>;
  readonly #pipe: FramedPipe;
  /** Where messages go: the loader until the plugin is loaded, then the channel. */
  #route: (message: ChildMessage) => void = () => undefined;
  #shape: PluginShape | undefined;
  #configCheck: ConfigCheck | undefined;
  #verdict: Omit<ExitReason, 'code' | 'signal' | 'at'> | undefined;
  #nodePid: number | undefined;
  #stderrTail = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly spec: ProcessSpec,
  ) {
    this.#pipe = new FramedPipe(child.stdio[3] as Socket, MAX_MESSAGE_FROM_CHILD);
    this.#pipe.on('message', (raw) => this.#receive(raw));
    this.#pipe.on('violation', (what) => this.kill('protocol', `it sent ${what}`));
    // The pipe closed while the process lives on: it can no longer be called; end it (and restart).
    // A process that exits closes its pipe too, a moment before its exit is seen: wait for that.
    this.#pipe.on('close', () => {
      if (this.#verdict !== undefined) return; // stopping or killed already
      setTimeout(() => this.kill('protocol', 'it closed its message pipe'), 1000).unref();
    });
    this.channel = new RpcChannel(this.#pipe, spec.handlers);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        const reason = this.#reason(code, signal);
        this.channel.failAll(exitError(reason));
        this.spec.watchdog?.unwatch(this.#nodePid ?? -1);
        resolve(reason);
      });
    });
  }

  /** Routes one message from the process; what is not a well-formed message ends the process. */
  #receive(raw: unknown): void {
    const message = checkChildMessage(raw);
    if (message === undefined) {
      this.kill('protocol', 'it sent a malformed message');
      return;
    }
    try {
      this.#route(message);
    } catch (error) {
      this.kill(
        'protocol',
        `a message it sent could not be handled (${error instanceof Error ? error.message : String(error)})`,
      );
    }
  }

  /** Spawns the process and loads the plugin; rejects (with the process killed) when it cannot. */
  static async start(spec: ProcessSpec): Promise<SandboxProcess> {
    const [command, ...args] = spec.argv;
    const child = spawn(command!, args, {
      cwd: dirname(spec.modulePath),
      env: spec.env,
      // fd 3: the message pipe (framed-pipe.ts), not Node's IPC channel, whose messages have no size limit.
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      // Its own process group: inside its PID namespace its parent is pid 0, and kill(0) signals the
      // caller's group — which, not detached, would be the server's.
      detached: true,
    });
    const run = new SandboxProcess(child, spec);
    child.on('error', () => undefined); // reported through 'exit' (a spawn error also ends it)
    run.#pipeOutput();
    try {
      await run.#load();
    } catch (error) {
      run.kill('start-failed', error instanceof Error ? error.message : String(error));
      throw error;
    }
    return run;
  }

  /** The loaded plugin's shape. */
  get shape(): PluginShape {
    return this.#shape!;
  }

  /** The config validated while loading, when one was given. */
  get configCheck(): ConfigCheck | undefined {
    return this.#configCheck;
  }

  /** The Node process's pid as the server sees it (inside namespaces it is 1 to itself). */
  get pid(): number | undefined {
    return this.#nodePid ?? this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Kills the process (SIGKILL), recording why; a no-op once it ended. */
  kill(kind: ExitReason['kind'], detail: string): void {
    if (!this.running) return;
    this.#verdict ??= { kind, detail };
    // The Node process first (the wrapper would only pass the kill on through its death signal).
    if (this.#nodePid !== undefined && this.#nodePid !== this.child.pid) {
      try {
        process.kill(this.#nodePid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.child.kill('SIGKILL');
  }

  /** Ends the process: closes its channel (it exits by itself), then kills it after `graceMs`. */
  async stop(graceMs = 1000): Promise<ExitReason> {
    if (this.running) {
      this.#verdict ??= { kind: 'stopped', detail: 'stopped by the server' };
      this.child.ref(); // whoever stops it waits for the end
      this.#pipe.close(); // the child exits when its pipe ends
      const timer = setTimeout(() => this.kill('stopped', 'stopped by the server'), graceMs);
      timer.unref();
      const reason = await this.exited;
      clearTimeout(timer);
      return reason;
    }
    return this.exited;
  }

  async #load(): Promise<void> {
    const child = this.child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new PlugboardError(
              'PLUGIN_SANDBOX_UNAVAILABLE',
              `the plugin process did not load within ${this.spec.startTimeoutMs} ms`,
            ),
          ),
        this.spec.startTimeoutMs,
      );
      const onExit = () => {
        clearTimeout(timer);
        const tail = this.#stderrTail.trim().split('\n').slice(-3).join(' | ');
        reject(
          new PlugboardError(
            'PLUGIN_SANDBOX_UNAVAILABLE',
            `the plugin process ended while starting (exit ${child.exitCode ?? child.signalCode})${tail ? `: ${tail}` : ''}`,
          ),
        );
      };
      child.once('exit', onExit);
      const onMessage = (message: ChildMessage) => {
        if (message.t === 'ready') {
          this.#nodePid = findNodePid(child.pid);
          this.#pipe.send({
            t: 'load',
            modulePath: this.spec.modulePath,
            policy: this.spec.policy,
            ...(this.spec.config === undefined ? {} : { config: this.spec.config }),
          });
          return;
        }
        if (message.t === 'loaded' || message.t === 'load-failed') {
          clearTimeout(timer);
          child.off('exit', onExit);
          this.#route = (next) => this.channel.receive(next);
          if (message.t === 'load-failed') reject(fromWireError(message.error));
          else {
            // From now on only open calls keep the server's event loop alive (see RpcChannel).
            child.unref();
            this.#pipe.unref();
            (child.stdout as { unref?: () => void } | null)?.unref?.();
            (child.stderr as { unref?: () => void } | null)?.unref?.();
            this.#shape = message.shape;
            this.#configCheck = message.configCheck;
            // Watched from here: loading is a burst of CPU (the heap flag and the cgroup hold memory meanwhile).
            this.#watch();
            resolve();
          }
        }
      };
      this.#route = onMessage;
    });
  }

  #watch(): void {
    const { watchdog, watchOptions, cgroup } = this.spec;
    const pid = this.#nodePid;
    if (watchdog === undefined || watchOptions === undefined || pid === undefined) return;
    const onViolation = (violation: ResourceViolation) => {
      if (violation.pid !== pid) return;
      const detail =
        violation.kind === 'memory'
          ? `resident memory ${Math.round(violation.observedMb)} MB over its limit of ${violation.limitMb} MB`
          : `CPU ${Math.round(violation.observedPercent)} % wanted over its limit of ${violation.limitPercent} % for longer than the grace`;
      this.kill(violation.kind, detail);
    };
    watchdog.on('violation', onViolation);
    void this.exited.then(() => watchdog.off('violation', onViolation));
    watchdog.watch(pid, {
      memoryMb: watchOptions.memoryMb,
      cpuPercent: watchOptions.cpuPercent,
      throttle: watchOptions.throttle,
      kill: false,
      ...(cgroup?.enforced.cpu ? { readThrottledUs: () => cgroup.readStats().cpuThrottledUs } : {}),
    });
  }

  #pipeOutput(): void {
    const collect = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      // The last few KB: enough for the crash report in the log, bounded whatever the plugin prints.
      this.#stderrTail = (this.#stderrTail + text).slice(-8192);
      for (const line of text.split('\n')) if (line.trim() !== '') this.spec.stderr(line.slice(0, 2000));
    };
    this.child.stderr?.on('data', collect);
    this.child.stdout?.on('data', collect);
  }

  #reason(code: number | null, signal: NodeJS.Signals | null): ExitReason {
    const at = new Date().toISOString();
    const verdict = this.#verdict ?? this.#limitFromCgroup() ?? this.#inferred(code, signal);
    return { ...verdict, code, signal, at };
  }

  /** A kill nobody here ordered may be the kernel's: the memory cgroup's OOM killer. */
  #limitFromCgroup(): Omit<ExitReason, 'code' | 'signal' | 'at'> | undefined {
    const stats = this.spec.cgroup?.readStats();
    if (stats?.oomKills !== undefined && stats.oomKills > 0) {
      return { kind: 'memory', detail: 'killed by the kernel: its memory cgroup limit was reached' };
    }
    return undefined;
  }

  #inferred(code: number | null, signal: NodeJS.Signals | null): Omit<ExitReason, 'code' | 'signal' | 'at'> {
    if (/Reached heap limit|JavaScript heap out of memory/.test(this.#stderrTail)) {
      return { kind: 'memory', detail: 'its JavaScript heap reached the limit (--max-old-space-size)' };
    }
    if (signal === 'SIGKILL' && (this.spec.cgroup?.readStats().memoryLimitHits ?? 0) > 0) {
      return { kind: 'memory', detail: 'killed by the kernel at its memory cgroup limit' };
    }
    if (signal !== null) return { kind: 'crash', detail: `killed by ${signal}` };
    // The wrapper (unshare) passes the child's death on as 128 + signal.
    if (code !== null && code > 128 && code < 160) return { kind: 'crash', detail: `killed by signal ${code - 128}` };
    if (code === 0) return { kind: 'exit', detail: 'the plugin ended its process (exit code 0)' };
    const uncaught = /^(?:Uncaught )?\w*Error: .*$/m.exec(this.#stderrTail)?.[0];
    return {
      kind: code === 1 && uncaught ? 'crash' : 'exit',
      detail: uncaught ? `crashed: ${uncaught.slice(0, 300)}` : `exited with code ${code}`,
    };
  }
}

/** The error every open call fails with when the process ends. */
function exitError(reason: ExitReason): PlugboardError {
  const code = reason.kind === 'memory' || reason.kind === 'cpu' ? 'PLUGIN_SANDBOX_LIMIT' : 'PLUGIN_SANDBOX_CRASHED';
  // The detail may quote the plugin's own crash (its stderr): for the log, never for a client.
  return new PlugboardError(code, `the plugin's process ended: ${reason.detail}`, {
    publicMessage:
      code === 'PLUGIN_SANDBOX_LIMIT'
        ? `The plugin's process was stopped at its ${reason.kind} limit`
        : "The plugin's process ended during the call",
    details: { exit: reason.kind, code: reason.code, signal: reason.signal },
  });
}

/** The Node process: the spawned one, or — behind `sh`/`unshare --fork` — its only descendant. */
function findNodePid(spawned: number | undefined): number | undefined {
  if (spawned === undefined) return undefined;
  let pid = spawned;
  for (let depth = 0; depth < 3; depth++) {
    const children = childPids(pid);
    if (children.length !== 1) break;
    pid = children[0]!;
  }
  return pid;
}
