import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { ErrorCatalogueEntry } from '../errors/catalogue.ts';
import type { ServiceDependency, ServiceRef } from '../services/service-ref.ts';
import type { Priority } from './priority.ts';

/** The four plugin kinds of the spec. A plugin may be several at once. */
export const PLUGIN_KINDS = ['message-processor', 'backend-provider', 'feature-extension', 'middleware'] as const;
export type PluginKind = (typeof PLUGIN_KINDS)[number];

/**
 * What a failing plugin does to the request:
 * - `open` (default): the plugin is bypassed, the request goes on with what it had (the spec's behaviour).
 * - `closed`: the request is rejected with `PLUGIN_FAILED_CLOSED` — for authentication, strict filters.
 * Timeouts and open circuit breakers count as failures. A security plugin (auth, redaction)
 * declares `closed` in its metadata; configuration may still override it, with a warning in the log.
 */
export type FailurePolicy = 'open' | 'closed';

/**
 * What a plugin says about itself.
 *
 * @example
 * ```ts
 * metadata: {
 *   name: 'rag',
 *   version: '1.2.0',
 *   description: 'Adds retrieved passages as a system message',
 *   consumes: [searchIndexRef],
 *   configSchema: z.object({ topK: z.number().int().default(4) }),
 * }
 * ```
 */
export interface PluginMetadata<Config = unknown> {
  /** Unique name: lower-case letters, digits, `-` and `_`. */
  readonly name: string;
  /** Semantic version (checked against dependents' ranges). */
  readonly version: string;
  readonly description?: string;
  /** Kinds the plugin claims; checked against the methods it has. Derived from the methods when absent. */
  readonly kinds?: readonly PluginKind[];
  /** Other plugins this one needs, by name, with a semver range. */
  readonly dependencies?: Readonly<Record<string, string>>;
  /** Default priority (NORMAL when absent); configuration may override it. */
  readonly priority?: Priority;
  /** Default failure policy (`open` when absent); configuration may override it. */
  readonly failurePolicy?: FailurePolicy;
  /** Default timeout of each call in ms; configuration may override it. */
  readonly timeoutMs?: number;
  /** Any Standard Schema (zod, valibot, arktype …) for the plugin's `config`; defaults it may apply are kept. */
  readonly configSchema?: StandardSchemaV1<unknown, Config>;
  /**
   * Services this plugin provides (with `call.provide(ref, value)` in `initialize`). Its
   * consumers start after it and stop before it.
   */
  readonly provides?: readonly ServiceRef<unknown>[];
  /** Services this plugin uses through `call.services` (refs, or `optionalService(ref)`). */
  readonly consumes?: readonly ServiceDependency[];
  /** The error codes it raises, from `defineErrors` (listed in GET /plugins/errors). */
  readonly errors?: {
    readonly namespace: string;
    readonly entries: Readonly<Record<string, ErrorCatalogueEntry>>;
  };
}

/**
 * The configuration a plugin is initialized with (FR-12). Frozen.
 *
 * @example
 * ```ts
 * async initialize(config) {
 *   this.limit = config.config.maxLength;
 * }
 * ```
 */
export interface PluginConfig<Config = unknown> {
  readonly enabled: boolean;
  readonly priority: Priority;
  /** The plugin's own settings, validated against its `configSchema`. */
  readonly config: Config;
  /** Timeout of each method call in ms. */
  readonly timeoutMs: number;
  /** Timeout of each hook handler in ms. */
  readonly hookTimeoutMs: number;
  readonly failurePolicy: FailurePolicy;
  /** How the pipeline calls a backend provider (ignored for other kinds). */
  readonly backend: ResolvedBackendSettings;
}

/**
 * Resilience of one backend provider. A call that fails in a way another attempt may fix —
 * the service unreachable (`BACKEND_UNAVAILABLE`), a 5xx or 429 (`BACKEND_FAILED` with that
 * status), a timeout — is retried `retries` times with exponential backoff and jitter (a
 * `details.retryAfterMs` on the error, from the service's Retry-After, wins); then, and also
 * when the backend's circuit breaker is open, the request moves to `fallback`. Only the call
 * is retried: a stream that already produced output is never re-run.
 */
export interface BackendSettings {
  /** Name of the backend that takes over when this one cannot answer. */
  readonly fallback?: string;
  /** Extra attempts after a retryable failure (default 0). */
  readonly retries?: number;
  /** First backoff delay in ms, doubled each attempt, ±50 % jitter (default 500). */
  readonly retryDelayMs?: number;
  /** Most calls in flight at once (a bulkhead; default: no limit). A stream holds its slot until it ends. */
  readonly maxConcurrent?: number;
  /** Calls that may wait for a slot; beyond, the backend is reported busy (503) (default 100). */
  readonly maxQueued?: number;
}

/** {@link BackendSettings} with defaults applied. */
export interface ResolvedBackendSettings {
  readonly fallback?: string;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly maxConcurrent?: number;
  readonly maxQueued: number;
}

/** Settings a caller may give when loading a plugin; missing ones come from metadata and manager defaults. */
export interface PluginSettings {
  readonly enabled?: boolean;
  readonly priority?: Priority;
  readonly config?: unknown;
  /** Timeout of the plugin's method calls and hook handlers, in ms. */
  readonly timeoutMs?: number;
  readonly failurePolicy?: FailurePolicy;
  /** Retries and fallback, for backend providers. */
  readonly backend?: BackendSettings;
  /**
   * Which plugin provides each service it consumes, by service id, when several could
   * (`{ 'plugboard.kv-store': 'redis-store' }`). Unbound services go to their only provider.
   */
  readonly services?: Readonly<Record<string, string>>;
}
