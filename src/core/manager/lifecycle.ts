import { dependencyUnavailable, initFailed, provisionMissing, shutdownFailed } from '../errors/core-errors.ts';
import type { PlugboardError } from '../errors/plugboard-error.ts';
import type { DeadlineScheduler } from '../execution/deadline-scheduler.ts';
import { invokePlugin } from '../execution/invoke.ts';
import type { Logger } from '../logger.ts';
import { planStartOrder, type StartPlan } from '../plugin/dependency-graph.ts';
import type { InitializeCall, PluginCall } from '../plugin/plugin-call.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import { fail, ok } from '../result.ts';
import type { ServiceAccess, ServiceRef } from '../services/service-ref.ts';
import type { ServiceRegistry } from '../services/service-registry.ts';
import type { JsonValue } from '../stores/json.ts';
import type { PluginRegistry } from './plugin-registry.ts';

/** What starting and stopping plugins needs from the manager. */
export interface LifecycleEnv {
  readonly deadlines: DeadlineScheduler;
  readonly registry: PluginRegistry;
  readonly services: ServiceRegistry;
  readonly logger: Logger;
  readonly maxConcurrentPlugins: number;
  readonly drainTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  /** Called once a plugin became ACTIVE (the manager registers its hooks and rebuilds the snapshot). */
  readonly started: (record: PluginRecord) => Promise<void>;
  /** Called when a plugin did not start (the manager rebuilds the snapshot: a fail-closed one then refuses requests). */
  readonly failedToStart: (record: PluginRecord) => void;
}

/**
 * Runs `task` for each name of `order` (dependencies first), each once the tasks of its
 * dependencies have finished, with at most `maxConcurrent` running at a time: the parallel
 * topological start that plugin start-up and reloads share.
 */
export async function runInDependencyOrder(
  order: readonly string[],
  dependenciesOf: (name: string) => readonly string[],
  maxConcurrent: number,
  task: (name: string) => Promise<void>,
): Promise<void> {
  const started = new Map<string, Promise<void>>();
  const running = new Set<Promise<void>>();
  for (const name of order) {
    await Promise.all(dependenciesOf(name).map((dependency) => started.get(dependency)));
    while (running.size >= maxConcurrent) await Promise.race(running);
    const run = task(name).finally(() => running.delete(run));
    started.set(name, run);
    running.add(run);
  }
  await Promise.all(running);
}

/**
 * Binds the services of each plugin about to start (those in LOADED) to providers among
 * `candidates`, then plans the start order over every dependency, declared or through a
 * service. Plugins that cannot start are in the plan's failures.
 */
export function planStart(
  env: Pick<LifecycleEnv, 'services'>,
  candidates: readonly PluginRecord[],
  others: readonly PluginRecord[],
): StartPlan {
  const serviceFailures = new Map<string, PlugboardError>();
  for (const record of candidates) {
    if (record.state !== 'LOADED') continue;
    const outcome = env.services.resolve(record, candidates, others);
    if ('error' in outcome) serviceFailures.set(record.name, outcome.error);
    else record.bindServices(outcome.bindings, env.services.defaultOf);
  }
  const unavailable = new Map(
    others.map((record) => [
      record.name,
      record.state === 'ERROR'
        ? `it is in ERROR (${record.lastError?.message ?? 'unknown'})`
        : `it is ${record.config.enabled ? record.state : 'disabled'}`,
    ]),
  );
  return planStartOrder(
    candidates.map((record) => ({ name: record.name, version: record.version, dependencies: record.dependencies })),
    unavailable,
    serviceFailures,
  );
}

/** Starts every LOADED, enabled plugin whose dependencies allow it, in dependency order. */
export async function startPending(env: LifecycleEnv): Promise<void> {
  const all = env.registry.values();
  const candidates = all.filter(
    (record) =>
      record.state === 'ACTIVE' || record.state === 'PAUSED' || (record.state === 'LOADED' && record.config.enabled),
  );
  const plan = planStart(
    env,
    candidates,
    all.filter((record) => !candidates.includes(record)),
  );
  for (const [name, error] of plan.failures) {
    const record = env.registry.require(name);
    if (record.state === 'LOADED') env.registry.fail(record, error);
  }
  await runInDependencyOrder(
    plan.order.filter((name) => env.registry.get(name)?.state === 'LOADED'),
    (name) => Object.keys(env.registry.require(name).dependencies),
    env.maxConcurrentPlugins,
    (name) => startWhenReady(env, env.registry.require(name)),
  );
}

/** Starts a plugin whose dependencies have finished starting, unless one of them failed. */
async function startWhenReady(env: LifecycleEnv, record: PluginRecord): Promise<void> {
  const broken = Object.keys(record.dependencies).find(
    (dependency) => env.registry.get(dependency)?.state !== 'ACTIVE',
  );
  if (broken !== undefined) {
    const dependency = env.registry.get(broken);
    const why = dependency?.lastError?.message ?? dependency?.state ?? 'is not loaded';
    env.registry.fail(record, dependencyUnavailable(record.name, broken, `did not start: ${why}`));
    env.failedToStart(record);
    return;
  }
  if (await initializeRecord(env, record)) await env.started(record);
  else env.failedToStart(record);
}

/**
 * LOADED → INITIALIZING → ACTIVE (true), or ERROR with the reason (false). `initialize` gets
 * the plugin's configuration and a call through which it provides the services it declares;
 * a declared service it does not provide fails the start.
 */
export async function initializeRecord(
  env: Pick<LifecycleEnv, 'deadlines' | 'registry' | 'services'>,
  record: PluginRecord,
): Promise<boolean> {
  record.states.moveTo('INITIALIZING', 'initializing');
  record.provided.clear();
  const initialize = record.plugin.initialize;
  const provide = env.services.provideFor(record);
  let result =
    initialize === undefined
      ? ok(undefined)
      : await invokePlugin(
          env.deadlines,
          record,
          'initialize',
          (call) => initialize.call(record.plugin, record.config, new ProvidingCall(call, provide)),
          () => undefined,
          { useBreaker: false },
        );
  const missing = result.ok ? env.services.missingProvisions(record) : [];
  if (missing.length > 0) result = fail(provisionMissing(record.name, missing));
  if (!result.ok) {
    env.registry.fail(record, initFailed(record.name, result.error));
    return false;
  }
  record.states.moveTo('ACTIVE', 'initialized');
  return true;
}

/** The call `initialize` gets: the guarded call, plus `provide`. */
class ProvidingCall implements InitializeCall {
  constructor(
    private readonly call: PluginCall,
    private readonly provider: <T>(ref: ServiceRef<T>, value: T) => void,
  ) {}

  get plugin(): string {
    return this.call.plugin;
  }

  get requestId(): string | undefined {
    return this.call.requestId;
  }

  get signal(): AbortSignal {
    return this.call.signal;
  }

  get logger() {
    return this.call.logger;
  }

  get services(): ServiceAccess {
    return this.call.services;
  }

  setResponseHeader(name: string, value: string): boolean {
    return this.call.setResponseHeader(name, value);
  }

  setResponseData(key: string, value: JsonValue): boolean {
    return this.call.setResponseData(key, value);
  }

  provide<T>(ref: ServiceRef<T>, value: T): void {
    this.provider(ref, value);
  }
}

/** Waits for the plugin's in-flight calls (bounded), then runs its `shutdown` (bounded). */
export async function drainAndShutDown(
  env: Pick<LifecycleEnv, 'deadlines' | 'drainTimeoutMs' | 'shutdownTimeoutMs'>,
  record: PluginRecord,
  wasStarted: boolean,
): Promise<void> {
  const drained = await record.drain(env.drainTimeoutMs);
  if (!drained) {
    record.logger.warn(
      { operation: 'shutdown', inFlight: record.inFlight },
      'shutting down with calls still in flight',
    );
  }
  const shutdown = record.plugin.shutdown;
  if (!wasStarted || shutdown === undefined) return;
  const result = await invokePlugin(
    env.deadlines,
    record,
    'shutdown',
    (call) => shutdown.call(record.plugin, call),
    () => undefined,
    { timeoutMs: env.shutdownTimeoutMs, useBreaker: false },
  );
  if (!result.ok) record.lastError = shutdownFailed(record.name, result.error);
}

/** Shuts down an instance that already left the pipeline (replaced or removed). */
export async function retire(
  env: Pick<LifecycleEnv, 'deadlines' | 'drainTimeoutMs' | 'shutdownTimeoutMs'>,
  record: PluginRecord,
  reason: string,
): Promise<void> {
  const wasStarted = record.state === 'ACTIVE' || record.state === 'PAUSED';
  if (!record.states.canMoveTo('UNLOADING')) return;
  record.states.moveTo('UNLOADING', reason);
  await drainAndShutDown(env, record, wasStarted);
  record.states.moveTo('UNLOADED', reason);
}

/** Reverse dependency order: dependents (declared, or consumers of a service) stop before what they depend on. */
export function stopOrder(records: readonly PluginRecord[]): string[] {
  const names = new Set(records.map((record) => record.name));
  const plan = planStartOrder(
    records.map((record) => ({
      name: record.name,
      version: record.version,
      dependencies: Object.fromEntries(
        Object.keys(record.dependencies)
          .filter((dependency) => names.has(dependency))
          .map((dependency) => [dependency, '*']),
      ),
    })),
  );
  const ordered = [...plan.order, ...records.map((record) => record.name).filter((name) => !plan.order.includes(name))];
  return ordered.reverse();
}

/** Loaded plugins, other than `record`, that are running and depend on it. */
export function dependentsOf(record: PluginRecord, among: Iterable<PluginRecord>): PluginRecord[] {
  return [...among].filter(
    (other) =>
      other !== record && (other.state === 'ACTIVE' || other.state === 'PAUSED') && record.name in other.dependencies,
  );
}

/**
 * Stops a plugin that takes part in the pipeline: UNLOADING at once (new snapshots leave it
 * out), then — once the requests on older snapshots finished (bounded) — drained, shut down,
 * its hooks removed, UNLOADED.
 */
export async function stopPlugin(
  env: Pick<LifecycleEnv, 'deadlines' | 'drainTimeoutMs' | 'shutdownTimeoutMs'>,
  record: PluginRecord,
  reason: string,
  manager: { rebuild(): Promise<void>; unregisterHooks(): void },
): Promise<void> {
  if (record.state === 'UNLOADED' || record.state === 'UNLOADING') return;
  const wasStarted = record.state === 'ACTIVE' || record.state === 'PAUSED';
  if (record.state === 'LOADING' || record.state === 'INITIALIZING')
    record.states.moveTo('ERROR', 'stopped while starting');
  record.states.moveTo('UNLOADING', reason);
  // Requests that started on an earlier snapshot may still call it: let them finish.
  await boundedWait(manager.rebuild(), env.drainTimeoutMs);
  await drainAndShutDown(env, record, wasStarted);
  manager.unregisterHooks();
  record.states.moveTo('UNLOADED', reason);
  void manager.rebuild();
}

/** Waits for `promise`, but no longer than `timeoutMs`. */
export async function boundedWait(promise: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
}
