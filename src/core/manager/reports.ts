import type { CallStats } from '../execution/call-metrics.ts';
import type { BreakerStatus } from '../execution/circuit-breaker.ts';
import type { PluginBreakerStatus } from '../execution/plugin-breakers.ts';
import type { HookManager } from '../hooks/hook-manager.ts';
import type { HookName } from '../hooks/hook-map.ts';
import type { FailurePolicy, PluginKind } from '../plugin/metadata.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import type { Priority } from '../plugin/priority.ts';
import { PLUGIN_STATES, type PluginState, type StateTransition } from '../plugin/state.ts';

/** A recorded error, as status reports show it. */
export interface ErrorSummary {
  readonly code: string;
  readonly message: string;
  readonly hook?: string;
}

/** One plugin in `getPluginStatus()` (GET /plugins). */
export interface PluginStatus {
  readonly name: string;
  readonly version: string;
  readonly description?: string;
  readonly state: PluginState;
  readonly enabled: boolean;
  readonly kinds: readonly PluginKind[];
  readonly priority: Priority;
  readonly failurePolicy: FailurePolicy;
  readonly timeoutMs: number;
  readonly source?: string;
  readonly dependencies: Readonly<Record<string, string>>;
  readonly hooks: readonly HookName[];
  /** The worst of its operations' breakers, and those not closed (one breaker per operation). */
  readonly breaker: PluginBreakerStatus;
  readonly inFlight: number;
  readonly lastError?: ErrorSummary;
  readonly transitions: readonly StateTransition[];
  /** The HTTP endpoints it declares (`GET /v1/conversations` …), served while it is ACTIVE. */
  readonly endpoints?: readonly string[];
  /**
   * For a plugin in its own process (`sandbox`): its state, pid, restarts, last exit, limits, how
   * each is enforced on this machine and what cannot be (see docs/SANDBOX.md).
   */
  readonly sandbox?: Readonly<Record<string, unknown>>;
}

/** `getPluginStatus()`. */
export interface StatusReport {
  readonly snapshotVersion: number;
  readonly plugins: Readonly<Record<string, PluginStatus>>;
  /** Files that could not be loaded at all (no plugin name to file them under). */
  readonly loadErrors: readonly { readonly path: string; readonly plugin?: string; readonly error: ErrorSummary }[];
  /** Endpoints not served because an ACTIVE plugin before it (in priority order) declares the same method and path. */
  readonly endpointConflicts?: readonly string[];
}

/** `getMetrics()`. */
export interface MetricsReport {
  readonly system: {
    readonly uptimeSeconds: number;
    readonly plugins: Readonly<Record<'total' | Lowercase<PluginState>, number>>;
    readonly breakers: Readonly<Record<BreakerStatus['state'], number>>;
    readonly hookDispatches: number;
    readonly droppedMonitoringHooks: number;
    /** Errors that escaped every plugin call and no plugin's stack named (see `reportStrayError`); attributed ones are their plugin's `background` failures. */
    readonly unattributedStrayErrors: number;
  };
  readonly plugins: Readonly<
    Record<
      string,
      CallStats & { readonly operations: Readonly<Record<string, CallStats>>; readonly breaker: PluginBreakerStatus }
    >
  >;
  readonly hooks: ReturnType<HookManager['getMetrics']>;
}

export function buildStatusReport(
  records: readonly PluginRecord[],
  loadProblems: readonly {
    path: string;
    plugin?: string;
    error: { code: string; message: string; hook?: string | undefined };
  }[],
  snapshotVersion: number,
  endpointConflicts: readonly string[] = [],
): StatusReport {
  return {
    snapshotVersion,
    ...(endpointConflicts.length === 0 ? {} : { endpointConflicts: [...endpointConflicts] }),
    plugins: Object.fromEntries(records.map((record) => [record.name, pluginStatus(record)])),
    loadErrors: loadProblems.map((problem) => ({
      path: problem.path,
      ...(problem.plugin === undefined ? {} : { plugin: problem.plugin }),
      error: summarize(problem.error)!,
    })),
  };
}

function pluginStatus(record: PluginRecord): PluginStatus {
  const metadata = record.plugin.metadata;
  const lastError = summarize(record.lastError);
  return {
    name: record.name,
    version: record.version,
    ...(metadata.description === undefined ? {} : { description: metadata.description }),
    state: record.state,
    enabled: record.config.enabled,
    kinds: [...record.kinds],
    priority: record.config.priority,
    failurePolicy: record.config.failurePolicy,
    timeoutMs: record.config.timeoutMs,
    ...(record.source === undefined ? {} : { source: record.source }),
    dependencies: metadata.dependencies ?? {},
    hooks: record.hookMethods,
    breaker: record.breakers.status,
    inFlight: record.inFlight,
    ...(lastError === undefined ? {} : { lastError }),
    transitions: [...record.states.history],
    ...(record.plugin.endpoints?.length
      ? { endpoints: record.plugin.endpoints.map((endpoint) => `${endpoint.method} ${endpoint.path}`) }
      : {}),
    ...isolationOf(record.plugin),
  };
}

/**
 * A plugin proxy that runs elsewhere (a sandboxed plugin) reports itself under this registered
 * symbol; the core shows the report without knowing about processes.
 */
const ISOLATION_REPORT = Symbol.for('plugboard.isolation');

function isolationOf(plugin: object): { sandbox?: Readonly<Record<string, unknown>> } {
  const report = (plugin as { [ISOLATION_REPORT]?: unknown })[ISOLATION_REPORT];
  if (typeof report !== 'function') return {};
  try {
    return { sandbox: report.call(plugin) as Readonly<Record<string, unknown>> };
  } catch {
    return {};
  }
}

export function buildMetricsReport(
  records: readonly PluginRecord[],
  hooks: HookManager,
  startedAt: number,
  unattributedStrayErrors = 0,
): MetricsReport {
  const states = Object.fromEntries([
    ['total', records.length],
    ...PLUGIN_STATES.map((state) => [state.toLowerCase(), 0]),
  ]);
  const breakers: Record<BreakerStatus['state'], number> = { closed: 0, open: 0, 'half-open': 0, disabled: 0 };
  for (const record of records) {
    states[record.state.toLowerCase()]++;
    breakers[record.breakers.status.state]++;
  }
  const hookMetrics = hooks.getMetrics();
  return {
    system: {
      uptimeSeconds: (Date.now() - startedAt) / 1000,
      plugins: states as MetricsReport['system']['plugins'],
      breakers,
      hookDispatches: Object.values(hookMetrics.dispatches).reduce((sum, count) => sum + (count ?? 0), 0),
      droppedMonitoringHooks: hookMetrics.droppedMonitoring,
      unattributedStrayErrors,
    },
    plugins: Object.fromEntries(
      records.map((record) => [
        record.name,
        {
          ...record.metrics.total.snapshot(),
          operations: record.metrics.operations(),
          breaker: record.breakers.status,
        },
      ]),
    ),
    hooks: hookMetrics,
  };
}

function summarize(
  error: { code: string; message: string; hook?: string | undefined } | undefined,
): ErrorSummary | undefined {
  if (error === undefined) return undefined;
  return { code: error.code, message: error.message, ...(error.hook === undefined ? {} : { hook: error.hook }) };
}
