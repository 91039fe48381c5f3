import { dependencyUnavailable, dependentsRemain, duplicateName } from '../errors/core-errors.ts';
import { PlugboardError, toPlugboardError } from '../errors/plugboard-error.ts';
import type { HookManager } from '../hooks/hook-manager.ts';
import type { PluginConfig } from '../plugin/metadata.ts';
import { freshInstance, instantiate } from '../plugin/module-loader.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import { checkPluginStructure } from '../plugin/structure-check.ts';
import {
  boundedWait,
  dependentsOf,
  initializeRecord,
  type LifecycleEnv,
  planStart,
  retire,
  stopOrder,
} from './lifecycle.ts';
import type { ApplyReport, PluginChange } from './plugin-change.ts';

/** What a reload transaction needs from the manager. */
export interface ReloadEnv extends LifecycleEnv {
  readonly hooks: HookManager;
  /** ACTIVE plugins on their way out (disabled): out of new snapshots, PAUSED once older ones drain. */
  readonly leaving: Set<PluginRecord>;
  /** Builds a new snapshot; resolves once the requests on older ones have drained (bounded by the caller). */
  rebuild(): Promise<void>;
  currentVersion(): number;
  registerHooksOf(record: PluginRecord): void;
}

interface Incoming {
  readonly record: PluginRecord;
  readonly replaces?: PluginRecord;
}

type Refusal = ApplyReport['refused'][number];

/**
 * Applies several plugin changes as one step (hot reload, FR-1.5), in three phases:
 *
 * 1. **prepare**, invisibly: new and replacement instances are created and initialized while
 *    the running ones keep serving. A running plugin whose services would now come from
 *    another instance (its provider replaced or removed, a provider added) is started afresh
 *    next to the running one, bound to the new providers: a provider and its consumers are
 *    replaced together. A change that fails is refused; the running version stays.
 * 2. **commit**, synchronously: records, hooks, and one new snapshot that shows every
 *    accepted change at once — no request sees half of the old and half of the new set.
 * 3. **retire**: once the requests still running on older snapshots have finished, replaced
 *    and removed instances are shut down; then `configReloaded` fires.
 */
export async function applyChanges(
  env: ReloadEnv,
  changes: readonly PluginChange[],
  refusedBefore: readonly Refusal[],
): Promise<ApplyReport> {
  const refused: Refusal[] = [...refusedBefore];
  const refuse = (plugin: string, error: unknown) =>
    refused.push({ plugin, error: toPlugboardError(error, 'PLUGIN_INIT_FAILED', { plugin }) });
  const registry = env.registry;

  // 1. Prepare: new records, settings updates, removals.
  const incoming = new Map<string, Incoming>();
  const updates: { record: PluginRecord; config: PluginConfig }[] = [];
  const removals: PluginRecord[] = [];
  for (const change of changes) {
    const name = change.type === 'add' ? (peekName(change.plugin) ?? '(unnamed)') : change.name;
    try {
      if (change.type === 'remove') {
        removals.push(registry.require(name));
      } else if (change.type === 'update' && !bindingsChange(registry.require(name), change.settings.services)) {
        const record = registry.require(name);
        updates.push({
          record,
          config: registry.resolveConfig(record.plugin.metadata, { ...change.settings, config: record.config.config }),
        });
      } else if (change.type === 'update') {
        // Other providers for its services: a fresh instance, bound to them.
        const record = registry.require(name);
        const settings = { ...change.settings, config: record.settings.config };
        incoming.set(name, { record: await freshRecord(env, record, settings), replaces: record });
      } else {
        const current = registry.get(name);
        if (change.type === 'add' && current !== undefined) throw duplicateName(name, change.source, current.source);
        if (change.type === 'replace' && current === undefined) registry.require(name);
        const shape = checkPluginStructure(await instantiate(change.plugin, change.source), change.source);
        if (shape.plugin.metadata.name !== name) {
          throw new PlugboardError(
            'PLUGIN_INVALID_STRUCTURE',
            `${change.source ?? 'the new version'} is named "${shape.plugin.metadata.name}", expected "${name}"`,
            { plugin: name },
          );
        }
        const record = registry.create(
          shape,
          change.settings,
          change.source,
          current?.loadOrder ?? registry.nextLoadOrder(),
        );
        if (record.state === 'ERROR') throw record.lastError;
        incoming.set(name, { record, ...(current ? { replaces: current } : {}) });
      }
    } catch (error) {
      refuse(name, error);
    }
  }

  // The set as it will be, with consumers that follow their providers.
  const leaving = new Set([...removals, ...[...incoming.values()].flatMap((entry) => entry.replaces ?? [])]);
  const future = new Map<string, PluginRecord>();
  for (const record of registry.values()) if (!leaving.has(record)) future.set(record.name, record);
  for (const { record } of incoming.values()) future.set(record.name, record);
  await followProviders(env, future, incoming, leaving, refuse);

  // Start the incoming plugins, dependencies first, against the set as it will be.
  const candidates = [...future.values()].filter(isCandidate);
  const plan = planStart(
    env,
    candidates,
    [...future.values()].filter((record) => !isCandidate(record)),
  );
  for (const name of [...plan.order, ...plan.failures.keys()]) {
    const entry = incoming.get(name);
    if (entry === undefined) continue;
    const giveUp = (error: PlugboardError | undefined) => {
      refuse(name, error);
      incoming.delete(name);
      future.delete(name);
      if (entry.replaces) future.set(name, entry.replaces);
    };
    const failure = plan.failures.get(name);
    if (failure !== undefined) {
      giveUp(failure);
      continue;
    }
    if (!entry.record.config.enabled) continue;
    const missing = Object.keys(entry.record.dependencies).find((dependency) => {
      const provider = future.get(dependency);
      return provider?.state !== 'ACTIVE' || !boundTo(entry.record, dependency, provider);
    });
    if (missing !== undefined) {
      giveUp(dependencyUnavailable(name, missing, 'is not active (its own change was refused)'));
      continue;
    }
    if (!(await initializeRecord(env, entry.record))) giveUp(entry.record.lastError);
  }
  for (const record of removals) {
    const dependents = dependentsOf(record, future.values());
    if (dependents.length === 0) continue;
    refuse(
      record.name,
      dependentsRemain(
        record.name,
        dependents.map((other) => other.name),
        'remove',
      ),
    );
    leaving.delete(record);
  }
  // Enabled now, never started (disabled since it was loaded): start it before the commit.
  const started = new Set<PluginRecord>();
  for (const update of updates) {
    if (!update.config.enabled || update.record.state !== 'LOADED') continue;
    const running = [...future.values()].filter(isCandidate);
    const outcome = env.services.resolve(
      update.record,
      running,
      [...future.values()].filter((r) => !isCandidate(r)),
    );
    if ('error' in outcome) {
      refuse(update.record.name, outcome.error);
      continue;
    }
    update.record.bindServices(outcome.bindings, env.services.defaultOf);
    if (await initializeRecord(env, update.record)) started.add(update.record);
    else refuse(update.record.name, update.record.lastError);
  }

  // 2. Commit, in one synchronous step: one new snapshot shows every accepted change.
  const applied: string[] = [];
  const retiring: PluginRecord[] = [];
  for (const record of removals) {
    if (!leaving.has(record)) continue;
    registry.delete(record.name);
    env.hooks.unregisterRecord(record);
    retiring.push(record);
    applied.push(record.name);
  }
  for (const { record, replaces } of incoming.values()) {
    if (replaces !== undefined) {
      env.hooks.unregisterRecord(replaces);
      retiring.push(replaces);
    }
    registry.set(record);
    if (record.state === 'ACTIVE') env.registerHooksOf(record);
    applied.push(record.name);
  }
  const pausing: PluginRecord[] = [];
  for (const { record, config } of updates) {
    if (refused.some((refusal) => refusal.plugin === record.name)) continue;
    const priorityChanged = config.priority !== record.config.priority;
    record.config = config;
    if (!config.enabled && record.state === 'ACTIVE') {
      // It leaves the new snapshot (its hooks too) now, but requests already running on an
      // older one still see it, hooks included: it becomes PAUSED once they have drained.
      env.hooks.unregisterRecord(record, true);
      env.leaving.add(record);
      pausing.push(record);
    } else if ((config.enabled && record.state === 'PAUSED') || started.has(record) || priorityChanged) {
      if (record.state === 'PAUSED') record.states.moveTo('ACTIVE', 'enabled by configuration');
      if (record.state !== 'ERROR') {
        env.hooks.unregisterRecord(record, true);
        env.registerHooksOf(record);
      }
    }
    applied.push(record.name);
  }
  // A refused change leaves the running version in place: its status shows why.
  for (const refusal of refused) {
    const running = registry.get(refusal.plugin);
    if (running !== undefined && !applied.includes(running.name)) running.lastError = refusal.error;
  }
  const drained = env.rebuild();
  const snapshotVersion = env.currentVersion();

  // 3. Retire what was replaced or removed, once the requests running on it are done.
  await boundedWait(drained, env.drainTimeoutMs);
  for (const record of pausing) {
    env.leaving.delete(record);
    if (record.state === 'ACTIVE' && !record.config.enabled)
      record.states.moveTo('PAUSED', 'disabled by configuration');
  }
  // Consumers before their providers: a consumer's shutdown may still use its services.
  const byName = new Map(retiring.map((record) => [record.name, record]));
  for (const name of stopOrder(retiring)) {
    await retire(env, byName.get(name)!, incoming.has(name) ? 'replaced by a new version' : 'removed');
  }
  for (const record of retiring) {
    if (!incoming.has(record.name))
      await env.hooks.execute('pluginUnloaded', { plugin: record.name, reason: 'removed' });
  }
  for (const record of [...[...incoming.values()].map((entry) => entry.record), ...started]) {
    if (record.state === 'ACTIVE')
      await env.hooks.execute('pluginLoaded', { plugin: record.name, metadata: record.plugin.metadata });
  }
  await env.hooks.execute('configReloaded', {
    version: snapshotVersion,
    changed: applied,
    refused: refused.map((refusal) => ({ plugin: refusal.plugin, reason: refusal.error.message })),
  });
  return { snapshotVersion, applied, refused };
}

/**
 * Adds to `incoming` a fresh instance of every running plugin whose services would come from
 * another instance in the future set, until nothing more changes (a consumer that is itself a
 * provider takes its own consumers along).
 */
async function followProviders(
  env: ReloadEnv,
  future: Map<string, PluginRecord>,
  incoming: Map<string, Incoming>,
  leaving: Set<PluginRecord>,
  refuse: (plugin: string, error: unknown) => void,
): Promise<void> {
  for (let changed = true; changed; ) {
    changed = false;
    const candidates = [...future.values()].filter(isCandidate);
    for (const record of candidates) {
      if (incoming.has(record.name) || record.state === 'LOADED') continue;
      if ((record.plugin.metadata.consumes ?? []).length === 0) continue;
      const outcome = env.services.resolve(
        record,
        candidates,
        [...future.values()].filter((r) => !isCandidate(r)),
      );
      // Unresolvable now: it keeps running as it is, and a removal it depends on is refused.
      if ('error' in outcome || sameBindings(record, outcome.bindings)) continue;
      try {
        const fresh = await freshRecord(env, record, record.settings);
        incoming.set(record.name, { record: fresh, replaces: record });
        leaving.add(record);
        future.set(record.name, fresh);
        changed = true;
      } catch (error) {
        refuse(record.name, error);
      }
    }
  }
}

/** Another instance of a running plugin, with the same (or new) settings, in LOADED. */
async function freshRecord(
  env: ReloadEnv,
  record: PluginRecord,
  settings: PluginRecord['settings'],
): Promise<PluginRecord> {
  const shape = checkPluginStructure(await freshInstance(record.plugin, record.source), record.source);
  const fresh = env.registry.create(shape, settings, record.source, record.loadOrder);
  if (fresh.state === 'ERROR') throw fresh.lastError;
  return fresh;
}

function sameBindings(record: PluginRecord, next: ReadonlyMap<string, { kind: string; record?: unknown }>): boolean {
  if (next.size !== record.bindings.size) return false;
  for (const [id, binding] of next) {
    const current = record.bindings.get(id);
    if (current?.kind !== binding.kind) return false;
    if (current.kind === 'plugin' && current.record !== binding.record) return false;
  }
  return true;
}

/** True unless `record` depends on `name` through a service bound to another instance than `provider`. */
function boundTo(record: PluginRecord, name: string, provider: PluginRecord): boolean {
  for (const binding of record.bindings.values()) {
    if (binding.kind === 'plugin' && binding.provider === name && binding.record !== provider) return false;
  }
  return true;
}

function bindingsChange(record: PluginRecord, services: Readonly<Record<string, string>> | undefined): boolean {
  const before = record.settings.services ?? {};
  const after = services ?? {};
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].some((key) => before[key] !== after[key]);
}

/** Plugins that will run: active, paused, or loaded and enabled. */
function isCandidate(record: PluginRecord): boolean {
  return record.state === 'ACTIVE' || record.state === 'PAUSED' || (record.state === 'LOADED' && record.config.enabled);
}

function peekName(value: unknown): string | undefined {
  const name = (value as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === 'string' ? name : undefined;
}
