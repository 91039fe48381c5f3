/**
 * The shapes of the answers the dashboard reads, as the server sends them (docs/api/
 * observability.md, docs/api/admin.md). Declared here rather than imported from src/: the UI
 * is a separate bundle and must not pull server code in; fields the page does not read are
 * left out.
 */

export type PluginState =
  | 'UNLOADED'
  | 'LOADING'
  | 'LOADED'
  | 'INITIALIZING'
  | 'ACTIVE'
  | 'PAUSED'
  | 'ERROR'
  | 'UNLOADING';

export type BreakerState = 'closed' | 'open' | 'half-open' | 'disabled';

export interface BreakerStatus {
  readonly state: BreakerState;
  readonly opened: number;
  readonly lastOpenedAt?: string;
  /** Operations whose breaker is open or half-open. */
  readonly operations?: Readonly<Record<string, { readonly state: BreakerState; readonly opened: number }>>;
}

export interface ErrorSummary {
  readonly code: string;
  readonly message: string;
  readonly hook?: string;
}

export interface StateTransition {
  readonly from: PluginState;
  readonly to: PluginState;
  /** ISO 8601. */
  readonly at: string;
  readonly reason: string;
}

/** One plugin in `GET /plugins`. */
export interface PluginStatus {
  readonly name: string;
  readonly version: string;
  readonly description?: string;
  readonly state: PluginState;
  readonly enabled: boolean;
  readonly kinds: readonly string[];
  readonly priority: string;
  readonly failurePolicy: 'open' | 'closed';
  readonly timeoutMs: number;
  readonly source?: string;
  readonly dependencies: Readonly<Record<string, string>>;
  readonly hooks: readonly string[];
  readonly breaker: BreakerStatus;
  readonly inFlight: number;
  readonly lastError?: ErrorSummary;
  readonly transitions?: readonly StateTransition[];
  readonly endpoints?: readonly string[];
  /** Present when the plugin runs in its own sandboxed process (server: src/sandbox/isolation-report.ts). */
  readonly sandbox?: SandboxStatus;
}

/** A sandboxed plugin's process, limits and enforcement (`sandbox` in `GET /plugins`). */
export interface SandboxStatus {
  readonly state: string;
  readonly pid?: number;
  readonly restarts: number;
  readonly lastExit?: { readonly kind: string; readonly detail: string; readonly at: string };
  readonly limits: { readonly memoryMb: number; readonly cpuPercent: number; readonly allowHosts: readonly string[] };
  readonly enforcement: Readonly<Record<string, string>>;
  readonly gaps: readonly string[];
  readonly usage?: { readonly memoryBytes?: number };
}

/** What the last configuration reload did (`config.lastReload`). */
export interface LastReload {
  readonly at: string;
  readonly ok: boolean;
  readonly error?: { readonly code: string; readonly message: string; readonly file?: string; readonly line?: number };
  readonly refused?: readonly { readonly plugin: string; readonly code: string; readonly message: string }[];
}

export interface ConfigStatus {
  readonly file?: string;
  readonly lastReload?: LastReload;
}

/** `GET /plugins`. */
export interface StatusReport {
  readonly snapshotVersion: number;
  readonly plugins: Readonly<Record<string, PluginStatus>>;
  readonly loadErrors: readonly { readonly path: string; readonly plugin?: string; readonly error: ErrorSummary }[];
  readonly endpointConflicts?: readonly string[];
  readonly config?: ConfigStatus;
}

export interface CallStats {
  readonly invocations: number;
  readonly successes: number;
  readonly failures: number;
  readonly timeouts: number;
  readonly skipped: number;
  readonly latencyMs: {
    readonly min: number;
    readonly mean: number;
    readonly max: number;
    readonly p50: number;
    readonly p99: number;
  };
  readonly lastExecutedAt?: string;
}

/** `GET /plugins/metrics`. */
export interface MetricsReport {
  readonly system: { readonly uptimeSeconds: number };
  readonly plugins: Readonly<Record<string, CallStats>>;
}

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** `GET /health` (200 healthy or degraded, 503 unhealthy: the same body). */
export interface HealthReport {
  readonly status: HealthStatus;
  readonly timestamp: string;
  readonly version: string;
  readonly uptime_seconds: number;
  readonly reasons: readonly string[];
  readonly plugins: Readonly<
    Record<
      string,
      { readonly state: string; readonly health: { readonly status: HealthStatus; readonly message?: string } }
    >
  >;
  readonly config?: ConfigStatus;
}

/** `POST /admin/plugins/:name/{enable,disable,reload,breaker/reset}`. */
export interface AdminPluginResponse {
  readonly plugin: string;
  readonly action: 'reload' | 'disable' | 'enable' | 'breaker-reset';
  readonly changed: boolean;
  readonly status: PluginStatus;
  readonly snapshotVersion?: number;
}

/** `POST /admin/reload` (and the report of a configuration change). */
export interface ReloadReport {
  readonly file: string | null;
  readonly snapshotVersion: number;
  readonly applied: readonly string[];
  readonly refused: readonly { readonly plugin: string; readonly code: string; readonly message: string }[];
  readonly issues: readonly string[];
}
