import type { CallObserver } from '../execution/call-observer.ts';
import { type CircuitBreakerOptions, DEFAULT_CIRCUIT_BREAKER } from '../execution/circuit-breaker.ts';
import type { Logger } from '../logger.ts';
import type { FailurePolicy } from '../plugin/metadata.ts';
import type { Priority } from '../plugin/priority.ts';

/** Settings of the plugin manager. Every field has a default. */
export interface PluginManagerOptions {
  /** Structured logger (pino or compatible). Default: JSON on stdout at `warn`. */
  readonly logger?: Logger;
  /** Default per-call timeout of plugins and hooks, in ms (spec: 30 s). */
  readonly defaultTimeoutMs?: number;
  /** Default timeout of hook handlers, in ms (spec `hooks.default_timeout`, 30 s). */
  readonly defaultHookTimeoutMs?: number;
  readonly defaultPriority?: Priority;
  readonly defaultFailurePolicy?: FailurePolicy;
  readonly circuitBreaker?: Partial<CircuitBreakerOptions>;
  /** Most handlers of one parallel hook dispatch at once, and most background MONITORING handlers. */
  readonly maxConcurrentHooks?: number;
  /** Background MONITORING handlers that may queue before new ones are dropped. */
  readonly monitoringQueue?: number;
  /** Most model turns per request (tool loops). */
  readonly maxTurns?: number;
  /** How long shutdown and unload wait for in-flight requests to finish. */
  readonly drainTimeoutMs?: number;
  /** Bound on each plugin's `shutdown`. */
  readonly shutdownTimeoutMs?: number;
  /** How many plugins may initialize at the same time (spec `max_concurrent_plugins`). */
  readonly maxConcurrentPlugins?: number;
  /** Bound on each plugin's `healthCheck`. */
  readonly healthTimeoutMs?: number;
  /** Backend used when a request names none (else the first active backend by priority). */
  readonly defaultBackend?: string;
  /** Folder that `loadPluginsFromDirectory()` scans when called without one. */
  readonly pluginDirectory?: string;
  /** Watches every plugin call (tracing); see {@link PluginManager.setCallObserver}. Default: none. */
  readonly callObserver?: CallObserver;
  /** How long a backend's model list is reused for routing, in ms (default 30 s). */
  readonly modelListTtlMs?: number;
}

/** {@link PluginManagerOptions} with every default applied (the logger and observer apart). */
export type ResolvedManagerOptions = Required<
  Omit<
    PluginManagerOptions,
    'logger' | 'circuitBreaker' | 'defaultBackend' | 'pluginDirectory' | 'callObserver' | 'modelListTtlMs'
  >
> & {
  readonly circuitBreaker: CircuitBreakerOptions;
  readonly defaultBackend: string | undefined;
  readonly pluginDirectory: string | undefined;
};

/** The spec's defaults (§8.1, §10.2) where the options say nothing. */
export function resolveManagerOptions(options: PluginManagerOptions): ResolvedManagerOptions {
  return {
    defaultTimeoutMs: options.defaultTimeoutMs ?? 30_000,
    defaultHookTimeoutMs: options.defaultHookTimeoutMs ?? options.defaultTimeoutMs ?? 30_000,
    maxConcurrentPlugins: options.maxConcurrentPlugins ?? 10,
    defaultPriority: options.defaultPriority ?? 'NORMAL',
    defaultFailurePolicy: options.defaultFailurePolicy ?? 'open',
    circuitBreaker: { ...DEFAULT_CIRCUIT_BREAKER, ...options.circuitBreaker },
    maxConcurrentHooks: options.maxConcurrentHooks ?? 10,
    monitoringQueue: options.monitoringQueue ?? 1000,
    maxTurns: options.maxTurns ?? 8,
    drainTimeoutMs: options.drainTimeoutMs ?? 30_000,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 10_000,
    healthTimeoutMs: options.healthTimeoutMs ?? 2_000,
    defaultBackend: options.defaultBackend,
    pluginDirectory: options.pluginDirectory,
  };
}
