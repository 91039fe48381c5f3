import { PlugboardError } from '../errors/plugboard-error.ts';
import type { DeadlineScheduler } from '../execution/deadline-scheduler.ts';
import { invokePlugin } from '../execution/invoke.ts';
import type { PipelineSnapshot } from '../pipeline/snapshot.ts';
import type { HealthReport } from '../plugin/kinds.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import type { PluginState } from '../plugin/state.ts';
import { ok, type PluginResult } from '../result.ts';

/** The system health of spec §11.3. */
export interface SystemHealth {
  readonly status: 'healthy' | 'degraded' | 'unhealthy';
  readonly timestamp: string;
  /** Why the status is not `healthy`, in plain words. */
  readonly reasons: readonly string[];
  readonly plugins: Readonly<
    Record<
      string,
      {
        readonly state: PluginState;
        readonly health: HealthReport & { readonly custom_metrics?: Readonly<Record<string, unknown>> };
      }
    >
  >;
}

/**
 * Sums up plugin health:
 * - `unhealthy` when the manager is not running, no backend is active (no chat can be
 *   served), or a fail-closed plugin is down (its requests would all be rejected);
 * - `degraded` when any plugin is in ERROR, has an open breaker, or reports itself unwell;
 * - `healthy` otherwise.
 */
export function buildHealthReport(
  running: boolean,
  records: readonly PluginRecord[],
  checks: ReadonlyMap<string, PluginResult<HealthReport>>,
  snapshot: PipelineSnapshot,
): SystemHealth {
  const fatal: string[] = [];
  const degraded: string[] = [];
  if (!running) fatal.push('the plugin manager is not running');
  if (snapshot.backends.size === 0) fatal.push('no backend provider is active');
  const plugins: Record<string, SystemHealth['plugins'][string]> = {};
  for (const record of records) {
    const check = checks.get(record.name);
    const health: HealthReport =
      check === undefined
        ? {
            status: record.state === 'ERROR' ? 'unhealthy' : 'degraded',
            message: `plugin is ${record.state}${record.lastError ? `: ${record.lastError.message}` : ''}`,
          }
        : check.ok
          ? check.value
          : { status: 'unhealthy', message: `${check.error.code}: ${check.error.message}` };
    plugins[record.name] = {
      state: record.state,
      health: { ...health, custom_metrics: health.details ?? {} },
    };
    const unwell =
      record.state === 'ERROR' || (check !== undefined && health.status !== 'healthy') || record.breakers.isOpen;
    if (!unwell) continue;
    const reason = `${record.name}: ${record.breakers.isOpen ? 'circuit open' : (health.message ?? health.status)}`;
    if (record.config.failurePolicy === 'closed' && record.config.enabled) fatal.push(`${reason} (fail-closed)`);
    else degraded.push(reason);
  }
  return {
    status: fatal.length > 0 ? 'unhealthy' : degraded.length > 0 ? 'degraded' : 'healthy',
    timestamp: new Date().toISOString(),
    reasons: [...fatal, ...degraded],
    plugins,
  };
}

/** Runs every ACTIVE plugin's health check, each bounded by `timeoutMs`; a plugin without one is healthy. */
export async function checkHealth(
  records: readonly PluginRecord[],
  deadlines: DeadlineScheduler,
  timeoutMs: number,
): Promise<Map<string, PluginResult<HealthReport>>> {
  const checks = new Map<string, PluginResult<HealthReport>>();
  await Promise.all(
    records
      .filter((record) => record.state === 'ACTIVE')
      .map(async (record) => {
        const check = record.plugin.healthCheck;
        const result =
          check === undefined
            ? ok<HealthReport>({ status: 'healthy' })
            : await invokePlugin(
                deadlines,
                record,
                'healthCheck',
                (call) => check.call(record.plugin, call),
                validateHealth,
                {
                  timeoutMs,
                  useBreaker: false,
                },
              );
        checks.set(record.name, result);
      }),
  );
  return checks;
}

function validateHealth(value: unknown): HealthReport {
  const status = (value as HealthReport | null)?.status;
  if (status !== 'healthy' && status !== 'degraded' && status !== 'unhealthy') {
    throw new PlugboardError(
      'PLUGIN_INVALID_RESULT',
      'healthCheck must return { status: "healthy" | "degraded" | "unhealthy" }',
    );
  }
  return value as HealthReport;
}
