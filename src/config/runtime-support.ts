import { PlugboardError } from '../core/errors/plugboard-error.ts';
import type { Logger } from '../core/logger.ts';
import type { ApplyReport } from '../core/manager/plugin-change.ts';
import type { PluginManagerOptions } from '../core/manager/plugin-manager.ts';
import { formatIssue } from './config-issue.ts';
import type { LoadedConfig } from './load-config.ts';
import type { PlugboardConfig } from './schema.ts';

/** The manager's settings from the configuration (seconds → milliseconds). */
export function managerOptions(config: PlugboardConfig, logger: Logger): PluginManagerOptions {
  const pm = config.plugin_manager;
  return {
    logger,
    defaultTimeoutMs: pm.default_timeout * 1000,
    defaultHookTimeoutMs: config.hooks.default_timeout * 1000,
    maxConcurrentPlugins: pm.max_concurrent_plugins,
    maxConcurrentHooks: config.hooks.max_concurrent_hooks,
    monitoringQueue: config.hooks.monitoring_queue,
    maxTurns: pm.max_turns,
    drainTimeoutMs: pm.drain_timeout * 1000,
    shutdownTimeoutMs: pm.shutdown_timeout * 1000,
    healthTimeoutMs: pm.health_timeout * 1000,
    circuitBreaker: {
      enabled: pm.enable_circuit_breaker,
      failureThreshold: config.hooks.circuit_breaker.failure_threshold,
      halfOpenAfterMs: config.hooks.circuit_breaker.timeout_seconds * 1000,
    },
    ...(pm.default_backend === undefined ? {} : { defaultBackend: pm.default_backend }),
  };
}

export function configError(loaded: LoadedConfig): PlugboardError {
  const errors = loaded.issues.filter((issue) => issue.severity === 'error').map(formatIssue);
  return new PlugboardError('CONFIG_INVALID', `Invalid configuration:\n  ${errors.join('\n  ')}`, {
    details: { issues: errors },
  });
}

export function logIssues(logger: Logger, loaded: LoadedConfig): void {
  for (const issue of loaded.issues) {
    const line = formatIssue(issue);
    if (issue.severity === 'error')
      logger.error({ operation: 'config', ...(issue.plugin ? { plugin: issue.plugin } : {}) }, line);
    else logger.warn({ operation: 'config' }, line);
  }
}

/** The spec's level names → pino's. */
export function pinoLevel(level: string): string {
  return { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', ERROR: 'error', CRITICAL: 'fatal' }[level] ?? 'info';
}

/** The error of a refused configuration reload, for status reports: code, message, and where. */
export interface ReloadError {
  readonly code: string;
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

/**
 * What the last configuration reload did (`ConfigRuntime.lastReload`; `config.lastReload` in
 * `GET /plugins` and `GET /health`). `ok` when everything in the file applied; otherwise
 * `error` says why the whole file was refused (the running configuration stays), or
 * `refused` lists the entries and sections refused while the rest applied. The next reload
 * replaces it: one that applies clears the error.
 */
export interface LastReload {
  /** When it finished (ISO 8601). */
  readonly at: string;
  readonly ok: boolean;
  readonly error?: ReloadError;
  readonly refused?: readonly { readonly plugin: string; readonly code: string; readonly message: string }[];
}

/** A reload that ran: ok, or the entries and sections it refused. */
export function lastReloadOf(report: ApplyReport): LastReload {
  const at = new Date().toISOString();
  if (report.refused.length === 0) return { at, ok: true };
  return {
    at,
    ok: false,
    refused: report.refused.map(({ plugin, error }) => ({ plugin, code: error.code, message: error.message })),
  };
}

/** A reload refused as a whole: the error, located at the file's first error (`loaded`) when known. */
export function refusedReload(error: PlugboardError, loaded?: LoadedConfig): LastReload {
  const issue = loaded?.issues.find((candidate) => candidate.severity === 'error') ?? loaded?.issues[0];
  const file = issue?.file ?? loaded?.file;
  return {
    at: new Date().toISOString(),
    ok: false,
    error: {
      code: error.code,
      message: error.message,
      ...(file === undefined ? {} : { file }),
      ...(issue?.line === undefined ? {} : { line: issue.line }),
      ...(issue?.column === undefined ? {} : { column: issue.column }),
    },
  };
}
