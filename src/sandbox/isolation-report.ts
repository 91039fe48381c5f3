import type { SandboxOptions } from './sandbox-options.ts';
import type { StartedEnvironment } from './start-process.ts';
import type { Supervisor } from './supervisor.ts';

/**
 * Where a sandboxed plugin's proxy keeps its report: a registered symbol, so the runtime's plugin
 * reports (core/manager/reports.ts) can show it without the core knowing about processes.
 */
export const SANDBOX_REPORT = Symbol.for('plugboard.isolation');

/** A sandboxed plugin as `GET /plugins` shows it (`sandbox`). */
export interface IsolationReport {
  readonly sandboxed: true;
  readonly state: string;
  readonly pid: number | undefined;
  readonly restarts: number;
  readonly lastExit?: {
    readonly kind: string;
    readonly detail: string;
    readonly at: string;
    readonly code: number | null;
    readonly signal: string | null;
  };
  readonly limits: {
    readonly memoryMb: number;
    readonly cpuPercent: number;
    readonly allowHosts: readonly string[];
    readonly allowedImports: readonly string[];
    readonly deniedImports: readonly string[];
  };
  /** How each limit is enforced on this machine. */
  readonly enforcement: {
    readonly filesystem: string;
    readonly network: string;
    readonly processes: string;
    readonly memory: string;
    readonly cpu: string;
  };
  /** What this platform cannot enforce (empty when everything is). */
  readonly gaps: readonly string[];
  readonly usage?: { readonly memoryBytes?: number; readonly cpuThrottledUs?: number };
  /** What the process runs: the precompiled build, or the sources through jiti (slower to start) and why. */
  readonly runsFrom?: string;
}

/** The report of one sandboxed plugin now. */
export function describeIsolation(
  options: SandboxOptions,
  environment: StartedEnvironment | undefined,
  supervisor: Supervisor,
): IsolationReport {
  const platform = environment?.platform;
  const cgroup = environment?.cgroup;
  const last = supervisor.lastExit;
  const stats = cgroup?.readStats();
  return {
    sandboxed: true,
    state: supervisor.state,
    pid: supervisor.process?.pid,
    restarts: supervisor.restarts,
    ...(last === undefined
      ? {}
      : { lastExit: { kind: last.kind, detail: last.detail, at: last.at, code: last.code, signal: last.signal } }),
    limits: {
      memoryMb: options.memoryMb,
      cpuPercent: options.cpuPercent,
      allowHosts: options.allowHosts,
      allowedImports: options.allowedImports,
      deniedImports: options.deniedImports,
    },
    enforcement: {
      filesystem: `Node permission model (${platform?.node.permissionFlag ?? '?'}): reads of its own folder and Plugboard's code only; no writes`,
      network: platform?.namespaces.network
        ? options.allowHosts.length > 0
          ? `own network namespace (no interfaces); fetch to ${options.allowHosts.join(', ')} through the server`
          : 'own network namespace (no interfaces): no network'
        : 'NOT ENFORCED: no network namespace on this platform',
      processes: `Node permission model: no child processes, workers, addons, WASI or inspector${platform?.namespaces.pid ? '; own PID namespace: cannot signal other processes' : '; NO PID namespace: it can signal processes of the same user'}`,
      memory: `heap limit ${options.memoryMb} MB (V8), resident memory watchdog${cgroup?.enforced.memory ? `, memory cgroup (${cgroup.version === 1 ? 'v1' : 'v2'})` : ''}`,
      cpu: cgroup?.enforced.cpu
        ? `cgroup CPU quota ${options.cpuPercent} %, killed when throttled past the grace`
        : `sampling with throttling (SIGSTOP/SIGCONT) at ${options.cpuPercent} %, killed past the grace`,
    },
    gaps: environment?.gaps ?? [],
    ...(environment === undefined
      ? {}
      : {
          runsFrom: environment.entry.fromBuild
            ? 'build'
            : `sources (${environment.entry.reason}; npm run build starts it faster)`,
        }),
    ...(stats === undefined
      ? {}
      : {
          usage: {
            ...(stats.memoryBytes === undefined ? {} : { memoryBytes: stats.memoryBytes }),
            ...(stats.cpuThrottledUs === undefined ? {} : { cpuThrottledUs: stats.cpuThrottledUs }),
          },
        }),
  };
}
