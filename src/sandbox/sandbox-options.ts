/** Everything one sandboxed plugin runs with, resolved from its entry and `security.plugin_sandboxing`. */
export interface SandboxOptions {
  /** The plugin module's file. */
  readonly modulePath: string;
  /** The server's configuration file: never readable by the plugin. */
  readonly configFile?: string;
  /** Resident memory limit of the process, in MB (heap flag, RSS watchdog, memory cgroup). */
  readonly memoryMb: number;
  /** CPU limit, in percent of one core (cgroup quota, or sampling with throttling and a kill). */
  readonly cpuPercent: number;
  readonly allowedImports: readonly string[];
  readonly deniedImports: readonly string[];
  /** Hosts the plugin's `fetch` may reach, through the server (`api.example.com`, `*.example.com`). */
  readonly allowHosts: readonly string[];
  /** Grace after a cancelled call for the process's event loop to answer, before it is killed (ms). */
  readonly yieldGraceMs?: number;
  /** How long loading may take, in ms (from the sources without a build: several seconds). */
  readonly startTimeoutMs?: number;
  /** Crashes tolerated, and the backoff between restarts. */
  readonly restart?: Partial<import('./supervisor.ts').RestartPolicy>;
}
