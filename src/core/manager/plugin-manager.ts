import { describeCause, PlugboardError, toPlugboardError } from '../errors/plugboard-error.ts';
import type { CallObserver } from '../execution/call-observer.ts';
import { type CircuitBreakerOptions, DEFAULT_CIRCUIT_BREAKER } from '../execution/circuit-breaker.ts';
import { DeadlineScheduler } from '../execution/deadline-scheduler.ts';
import { invokePlugin } from '../execution/invoke.ts';
import { RequestScope } from '../execution/request-scope.ts';
import { HookManager } from '../hooks/hook-manager.ts';
import type { HookName } from '../hooks/hook-map.ts';
import { createDefaultLogger, type Logger } from '../logger.ts';
import type { ChatContext } from '../model/context.ts';
import type { Message } from '../model/message.ts';
import type { BackendReply, ChatResponse, ModelInfo } from '../model/reply.ts';
import { readBackendReply } from '../pipeline/backend-stream.ts';
import { type ChatOptions, runChatPipeline } from '../pipeline/chat-pipeline.ts';
import { type ChatStream, collectResponse, toChatStream } from '../pipeline/chat-stream.ts';
import { type PipelineSnapshot, SnapshotLease } from '../pipeline/snapshot.ts';
import { messageValidator, validateBackendReply } from '../pipeline/validators.ts';
import { planStartOrder } from '../plugin/dependency-graph.ts';
import { discoverPluginFiles } from '../plugin/discovery.ts';
import type { EmbeddingRequest, EmbeddingResult, HealthReport, HookHandler } from '../plugin/kinds.ts';
import type { FailurePolicy, PluginConfig, PluginMetadata, PluginSettings } from '../plugin/metadata.ts';
import { instantiate, loadPluginModule } from '../plugin/module-loader.ts';
import { PluginRecord } from '../plugin/plugin-record.ts';
import { type Priority, priorityRank } from '../plugin/priority.ts';
import { checkPluginStructure } from '../plugin/structure-check.ts';
import { fail, ok, type PluginResult } from '../result.ts';
import { deepFreeze } from '../util/deep-freeze.ts';
import { buildHealthReport, type SystemHealth } from './health.ts';
import type { ApplyReport, PluginChange } from './plugin-change.ts';
import { buildMetricsReport, buildStatusReport, type MetricsReport, type StatusReport } from './reports.ts';

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
}

/** A problem loading one plugin file, kept for status reports. */
export interface LoadProblem {
  readonly path: string;
  /** The plugin's name, when known (e.g. from its config entry). */
  readonly plugin?: string;
  readonly error: PlugboardError;
}

/**
 * A guarded handle on one backend provider: every call goes through the backend's breaker,
 * timeout and metrics, like calls made by the chat pipeline.
 */
export interface BackendHandle {
  readonly name: string;
  chat(context: ChatContext, options?: ChatOptions): Promise<PluginResult<BackendReply>>;
  listModels(): Promise<PluginResult<readonly ModelInfo[]>>;
  embed(request: EmbeddingRequest, options?: ChatOptions): Promise<PluginResult<EmbeddingResult>>;
}

type ManagerState = 'created' | 'running' | 'stopping' | 'stopped';

/**
 * The central plugin orchestrator (spec §7.1): loads, orders, starts, runs and stops plugins,
 * and runs chat requests through them.
 *
 * @example
 * ```ts
 * const manager = new PluginManager({ defaultBackend: 'ollama' });
 * await manager.loadPluginsFromDirectory('./plugins');
 * await manager.initialize();
 * const response = await manager.chat(createChatContext({ messages: [{ role: 'user', content: 'Hi' }] }));
 * await manager.shutdown();
 * ```
 */
export class PluginManager {
  readonly hooks: HookManager;
  readonly logger: Logger;
  readonly #deadlines = new DeadlineScheduler();
  readonly #records = new Map<string, PluginRecord>();
  readonly #loadProblems: LoadProblem[] = [];
  readonly #options: Required<
    Omit<PluginManagerOptions, 'logger' | 'circuitBreaker' | 'defaultBackend' | 'pluginDirectory' | 'callObserver'>
  > & {
    circuitBreaker: CircuitBreakerOptions;
    defaultBackend: string | undefined;
    pluginDirectory: string | undefined;
  };
  #state: ManagerState = 'created';
  #loadSequence = 0;
  #snapshotVersion = 0;
  #lease: SnapshotLease;
  /** Replaced snapshots that still have requests running on them. */
  readonly #retired = new Set<SnapshotLease>();
  /** ACTIVE plugins being disabled: out of new snapshots, PAUSED once older ones drain (applyChanges). */
  readonly #leaving = new Set<PluginRecord>();
  readonly #startedAt = Date.now();
  #callObserver: CallObserver | undefined;

  constructor(options: PluginManagerOptions = {}) {
    this.logger = options.logger ?? createDefaultLogger();
    this.#callObserver = options.callObserver;
    this.#options = {
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
    this.hooks = new HookManager(
      this.#deadlines,
      { maxConcurrentHooks: this.#options.maxConcurrentHooks, monitoringQueue: this.#options.monitoringQueue },
      this.logger,
    );
    this.#lease = new SnapshotLease(this.#buildSnapshot());
  }

  /** True between `initialize()` and `shutdown()`. */
  get running(): boolean {
    return this.#state === 'running';
  }

  /**
   * Sets (or, with `undefined`, removes) the observer that watches every plugin call from now
   * on — the seam tracing uses (the HTTP server attaches its OpenTelemetry tracer here). It
   * applies to every plugin, loaded now or later, and to calls that start after this call.
   */
  setCallObserver(observer: CallObserver | undefined): void {
    this.#callObserver = observer;
    for (const record of this.#records.values()) record.observer = observer;
  }

  /** The observer set by {@link setCallObserver} (or the `callObserver` option), if any. */
  get callObserver(): CallObserver | undefined {
    return this.#callObserver;
  }

  /**
   * Starts every loaded, enabled plugin in dependency order (FR-3.3), then runs the
   * `startup` hook. A plugin that cannot start goes to ERROR with the reason; the rest start.
   */
  async initialize(): Promise<void> {
    if (this.#state === 'running') return;
    if (this.#state !== 'created') throw notRunning('initialize', this.#state);
    this.#state = 'running';
    await this.#startPending();
    const active = [...this.#records.values()]
      .filter((record) => record.state === 'ACTIVE')
      .map((record) => record.name);
    await this.hooks.execute('startup', { plugins: active });
    this.logger.info({ operation: 'initialize', plugins: active.length }, 'plugin manager started');
  }

  /**
   * Stops: runs the `shutdown` hook, waits for running requests (up to `drainTimeoutMs`),
   * then shuts plugins down in reverse dependency order, each bounded by `shutdownTimeoutMs`.
   */
  async shutdown(reason = 'shutdown'): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return;
    const wasRunning = this.#state === 'running';
    this.#state = 'stopping';
    if (wasRunning) await this.hooks.execute('shutdown', { reason });
    await withTimeout(
      Promise.all([this.#lease.retire(), ...[...this.#retired].map((lease) => lease.retire())]),
      this.#options.drainTimeoutMs,
    );
    for (const name of this.#stopOrder()) await this.#stopPlugin(this.#records.get(name)!, reason);
    this.#state = 'stopped';
  }

  /**
   * Loads one plugin from a file (FR-1.1) and, if the manager is running, starts it.
   * Returns its name. A module that cannot be imported or is not a plugin throws;
   * a plugin that loads but cannot start is kept in ERROR state (see getPluginStatus).
   */
  async loadPlugin(path: string, settings: PluginSettings = {}): Promise<string> {
    this.#assertUsable('loadPlugin');
    const value = await loadPluginModule(path);
    const name = this.#register(value, settings, path);
    if (this.#state === 'running') await this.#startPending();
    return name;
  }

  /**
   * Adds a plugin given as a value (an object, a class or a factory) rather than a file:
   * how first-party plugins and tests load. `source` names the file it came from, if any (for status).
   *
   * @example
   * ```ts
   * await manager.register(defineMessageProcessor({ metadata: { name: 'trim', version: '1.0.0' },
   *   processMessage: (m) => withContent(m, m.content.trim()) }));
   * ```
   */
  async register(plugin: unknown, settings: PluginSettings = {}, source?: string): Promise<string> {
    this.#assertUsable('register');
    const name = this.#register(await instantiate(plugin, source), settings, source);
    if (this.#state === 'running') await this.#startPending();
    return name;
  }

  /**
   * Discovers plugin files under `directory` (FR-2) and loads them all; one bad file never
   * stops the others. Problems are logged with the file path and kept for getPluginStatus().
   * Returns the names of the plugins loaded.
   */
  async loadPluginsFromDirectory(
    directory = this.#options.pluginDirectory,
    settingsByName: Readonly<Record<string, PluginSettings>> = {},
  ): Promise<string[]> {
    this.#assertUsable('loadPluginsFromDirectory');
    if (directory === undefined)
      throw new PlugboardError(
        'CONFIG_INVALID',
        'No plugin directory given, and none configured (option pluginDirectory)',
      );
    const { files, problems } = await discoverPluginFiles(directory);
    for (const problem of problems) {
      this.#recordLoadProblem(
        problem.path,
        new PlugboardError('PLUGIN_MODULE_LOAD_FAILED', `${problem.path}: cannot read folder (${problem.reason})`),
      );
    }
    const names: string[] = [];
    for (const file of files) {
      try {
        const value = await loadPluginModule(file);
        const name = peekName(value);
        names.push(this.#register(value, (name && settingsByName[name]) || {}, file));
      } catch (error) {
        this.#recordLoadProblem(file, toPlugboardError(error, 'PLUGIN_MODULE_LOAD_FAILED', { details: { file } }));
      }
    }
    if (this.#state === 'running') await this.#startPending();
    return names;
  }

  /**
   * Unloads a plugin (FR-1.4): it leaves the pipeline at once, in-flight requests finish on
   * it, then its `shutdown` runs and its hooks are removed. Refuses while active (or paused) plugins depend
   * on it. @throws PlugboardError `PLUGIN_NOT_FOUND` or `PLUGIN_DEPENDENCY_MISSING`.
   */
  async unloadPlugin(name: string, reason = 'unloaded'): Promise<void> {
    const record = this.#require(name);
    const dependents = [...this.#records.values()].filter(
      (other) =>
        other !== record &&
        (other.state === 'ACTIVE' || other.state === 'PAUSED') &&
        name in (other.plugin.metadata.dependencies ?? {}),
    );
    if (dependents.length > 0) {
      throw new PlugboardError(
        'PLUGIN_DEPENDENCY_MISSING',
        `Cannot unload "${name}": ${dependents.map((other) => `"${other.name}"`).join(', ')} depend on it; unload them first`,
        { plugin: name, details: { dependents: dependents.map((other) => other.name) } },
      );
    }
    await this.#stopPlugin(record, reason);
    this.#records.delete(name);
    void this.#rebuild();
    await this.hooks.execute('pluginUnloaded', { plugin: name, reason });
  }

  /**
   * Adds a plugin that must not run because its configuration was rejected before it
   * reached the manager (e.g. an invalid entry in the config file): it is listed in
   * status in ERROR with `error` as the reason, and takes no part in requests.
   */
  async registerFailed(plugin: unknown, error: PlugboardError, source?: string): Promise<string> {
    this.#assertUsable('registerFailed');
    const name = this.#register(await instantiate(plugin, source), {}, source, false);
    this.#fail(this.#records.get(name)!, error);
    return name;
  }

  /**
   * Applies several plugin changes as one step (hot reload, FR-1.5): new and replacement
   * instances are loaded and initialized first while the running ones keep serving; then one
   * new snapshot makes every accepted change visible at once, so no request sees half of
   * the old and half of the new set; replaced and removed instances are shut down only
   * after the requests still running on them have finished. A change that fails (bad
   * structure, invalid config, failed initialization, missing dependency) is refused and the
   * running version stays. Fires `configReloaded` with what changed and what was refused.
   *
   * @param refusedBefore refusals found before this call (e.g. invalid config entries), for the report
   */
  async applyChanges(
    changes: readonly PluginChange[],
    refusedBefore: readonly { readonly plugin: string; readonly error: PlugboardError }[] = [],
  ): Promise<ApplyReport> {
    this.#assertRunning('applyChanges');
    const refused = [...refusedBefore];
    const refuse = (plugin: string, error: unknown) =>
      refused.push({ plugin, error: toPlugboardError(error, 'PLUGIN_INIT_FAILED', { plugin }) });

    // 1. Prepare, invisibly: build the new records and the settings changes.
    const incoming = new Map<string, { record: PluginRecord; replaces?: PluginRecord }>();
    const updates: { record: PluginRecord; config: PluginConfig }[] = [];
    const removals: PluginRecord[] = [];
    for (const change of changes) {
      const name = change.type === 'add' ? (peekName(change.plugin) ?? '(unnamed)') : change.name;
      try {
        if (change.type === 'remove') {
          removals.push(this.#require(name));
        } else if (change.type === 'update') {
          const record = this.#require(name);
          updates.push({
            record,
            config: this.#resolveConfig(record.plugin.metadata, { ...change.settings, config: record.config.config }),
          });
        } else {
          const current = this.#records.get(name);
          if (change.type === 'add' && current !== undefined) {
            throw new PlugboardError('PLUGIN_DUPLICATE_NAME', `a plugin named "${name}" is already loaded`, {
              plugin: name,
            });
          }
          if (change.type === 'replace' && current === undefined) this.#require(name);
          const shape = checkPluginStructure(await instantiate(change.plugin, change.source), change.source);
          if (shape.plugin.metadata.name !== name) {
            throw new PlugboardError(
              'PLUGIN_INVALID_STRUCTURE',
              `${change.source ?? 'the new version'} is named "${shape.plugin.metadata.name}", expected "${name}"`,
              { plugin: name },
            );
          }
          const record = this.#createRecord(
            shape,
            change.settings,
            change.source,
            current?.loadOrder ?? this.#loadSequence++,
          );
          if (record.state === 'ERROR') throw record.lastError;
          incoming.set(name, { record, ...(current ? { replaces: current } : {}) });
        }
      } catch (error) {
        refuse(name, error);
      }
    }

    // Start the incoming plugins, dependencies first, against the set as it will be.
    const leaving = new Set([
      ...removals,
      ...[...incoming.values()].flatMap((entry) => (entry.replaces ? [entry.replaces] : [])),
    ]);
    const future = new Map<string, PluginRecord>();
    for (const record of this.#records.values()) if (!leaving.has(record)) future.set(record.name, record);
    for (const { record } of incoming.values()) future.set(record.name, record);
    const plan = planStartOrder(
      [...future.values()]
        .filter((record) => record.state !== 'ERROR')
        .map((record) => ({
          name: record.name,
          version: record.version,
          dependencies: record.plugin.metadata.dependencies ?? {},
        })),
    );
    for (const name of [...plan.order, ...plan.failures.keys()]) {
      const entry = incoming.get(name);
      if (entry === undefined) continue;
      const failure = plan.failures.get(name);
      const needsMissing = Object.keys(entry.record.plugin.metadata.dependencies ?? {}).find(
        (dependency) => future.get(dependency)?.state !== 'ACTIVE',
      );
      if (failure !== undefined || (entry.record.config.enabled && needsMissing !== undefined)) {
        refuse(
          name,
          failure ??
            new PlugboardError(
              'PLUGIN_DEPENDENCY_MISSING',
              `Plugin "${name}" depends on "${needsMissing}", which is not active`,
              { plugin: name },
            ),
        );
        incoming.delete(name);
        future.delete(name);
        if (entry.replaces) future.set(name, entry.replaces);
        continue;
      }
      if (entry.record.config.enabled && !(await this.#initializeRecord(entry.record))) {
        refuse(name, entry.record.lastError);
        incoming.delete(name);
        future.delete(name);
        if (entry.replaces) future.set(name, entry.replaces);
      }
    }
    for (const record of removals) {
      const dependents = [...future.values()].filter(
        (other) =>
          (other.state === 'ACTIVE' || other.state === 'PAUSED') &&
          record.name in (other.plugin.metadata.dependencies ?? {}),
      );
      if (dependents.length > 0) {
        refuse(
          record.name,
          new PlugboardError(
            'PLUGIN_DEPENDENCY_MISSING',
            `Cannot remove "${record.name}": ${dependents.map((other) => other.name).join(', ')} depend on it`,
            {
              plugin: record.name,
            },
          ),
        );
        leaving.delete(record);
      }
    }
    // Enabled now, never started (disabled since it was loaded): start it before the commit.
    const started = new Set<PluginRecord>();
    for (const update of updates) {
      if (!update.config.enabled || update.record.state !== 'LOADED') continue;
      if (await this.#initializeRecord(update.record)) started.add(update.record);
      else refuse(update.record.name, update.record.lastError);
    }

    // 2. Commit, in one synchronous step: one new snapshot shows every accepted change.
    const applied: string[] = [];
    const retiring: PluginRecord[] = [];
    for (const record of removals) {
      if (!leaving.has(record)) continue;
      this.#records.delete(record.name);
      this.hooks.unregisterRecord(record);
      retiring.push(record);
      applied.push(record.name);
    }
    for (const { record, replaces } of incoming.values()) {
      if (replaces !== undefined) {
        this.hooks.unregisterRecord(replaces);
        retiring.push(replaces);
      }
      this.#records.set(record.name, record);
      if (record.state === 'ACTIVE') this.#registerHooksOf(record);
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
        this.hooks.unregisterRecord(record, true);
        this.#leaving.add(record);
        pausing.push(record);
      } else if ((config.enabled && record.state === 'PAUSED') || started.has(record) || priorityChanged) {
        if (record.state === 'PAUSED') record.states.moveTo('ACTIVE', 'enabled by configuration');
        if (record.state !== 'ERROR') {
          this.hooks.unregisterRecord(record, true);
          this.#registerHooksOf(record);
        }
      }
      applied.push(record.name);
    }
    // A refused change leaves the running version in place: its status shows why.
    for (const refusal of refused) {
      const running = this.#records.get(refusal.plugin);
      if (running !== undefined && !applied.includes(running.name)) running.lastError = refusal.error;
    }
    const drained = this.#rebuild();
    const snapshotVersion = this.#lease.snapshot.version;

    // 3. Retire what was replaced or removed, once the requests running on it are done.
    await withTimeout(drained, this.#options.drainTimeoutMs);
    for (const record of pausing) {
      this.#leaving.delete(record);
      if (record.state === 'ACTIVE' && !record.config.enabled)
        record.states.moveTo('PAUSED', 'disabled by configuration');
    }
    for (const record of retiring)
      await this.#retire(record, incoming.has(record.name) ? 'replaced by a new version' : 'removed');
    for (const record of retiring) {
      if (!incoming.has(record.name))
        await this.hooks.execute('pluginUnloaded', { plugin: record.name, reason: 'removed' });
    }
    for (const record of [...[...incoming.values()].map((entry) => entry.record), ...started]) {
      if (record.state === 'ACTIVE')
        await this.hooks.execute('pluginLoaded', { plugin: record.name, metadata: record.plugin.metadata });
    }
    await this.hooks.execute('configReloaded', {
      version: snapshotVersion,
      changed: applied,
      refused: refused.map((refusal) => ({ plugin: refusal.plugin, reason: refusal.error.message })),
    });
    return { snapshotVersion, applied, refused };
  }

  /**
   * Takes an ACTIVE plugin out of the pipeline without unloading it (state PAUSED). A kill
   * switch: it takes effect at once, also for the remaining steps of requests already running
   * (a configuration reload that disables a plugin instead waits for them, see applyChanges).
   */
  pausePlugin(name: string, reason = 'paused'): void {
    this.#require(name).states.moveTo('PAUSED', reason);
    void this.#rebuild();
  }

  /** Puts a PAUSED plugin back into the pipeline. */
  resumePlugin(name: string, reason = 'resumed'): void {
    this.#require(name).states.moveTo('ACTIVE', reason);
    void this.#rebuild();
  }

  /** Closes a plugin's circuit breaker and forgets its failures (FR-6 manual reset). */
  resetCircuitBreaker(name: string): void {
    this.#require(name).breaker.reset();
  }

  /**
   * Registers a hook handler for a loaded plugin by hand (FR-4.5).
   *
   * @example
   * ```ts
   * manager.registerHook('requestEnd', ({ durationMs }) => histogram.observe(durationMs), 'MONITORING', 'metrics');
   * ```
   */
  registerHook<H extends HookName>(hook: H, handler: HookHandler<H>, priority: Priority, pluginName: string): void {
    this.hooks.registerHook(hook, handler, priority, this.#require(pluginName));
    void this.#rebuild();
  }

  /** Removes a plugin's handlers of `hook` (all hooks when omitted). Returns how many were removed. */
  unregisterHook(hook: HookName | undefined, pluginName: string): number {
    const removed = this.hooks.unregisterHook(hook, pluginName);
    void this.#rebuild();
    return removed;
  }

  /** A guarded handle on an ACTIVE backend provider, by name (FR-8.5). */
  getBackendProvider(name: string): BackendHandle | undefined {
    const record = this.#lease.snapshot.backends.get(name);
    if (record === undefined) return undefined;
    const deadlines = this.#deadlines;
    return {
      name,
      async chat(context, options = {}) {
        const scope = new RequestScope(context.requestId, options.signal, options.cancellation);
        const result = await invokePlugin(
          deadlines,
          record,
          'chat',
          (call) => record.plugin.chat!(context, call),
          validateBackendReply,
          { scope },
        );
        if (!result.ok || !(Symbol.asyncIterator in result.value)) return result;
        return ok(readBackendReply(result.value, record, deadlines, scope), result.durationMs);
      },
      listModels: () =>
        invokePlugin(deadlines, record, 'listModels', (call) => record.plugin.listModels!(call), validateModels),
      embed: async (request, options = {}) => {
        if (record.plugin.embed === undefined) {
          return fail(
            new PlugboardError('BACKEND_FAILED', `Backend "${name}" does not support embeddings`, {
              plugin: name,
              hook: 'embed',
              status: 400,
            }),
          );
        }
        return invokePlugin(
          deadlines,
          record,
          'embed',
          (call) => record.plugin.embed!(request, call),
          validateEmbeddings,
          {
            scope: new RequestScope(undefined, options.signal, options.cancellation),
          },
        );
      },
    };
  }

  /** Names of the ACTIVE backends, in priority order. */
  get backendNames(): readonly string[] {
    return [...this.#lease.snapshot.backends.keys()];
  }

  /**
   * Runs the input message processors on `message` (FR-7.4): a waterfall in priority order;
   * a failing fail-open processor is skipped and the previous message kept (FR-7.5).
   * Fails only when a fail-closed processor fails.
   */
  async executeMessageProcessors(message: Message, context: ChatContext): Promise<PluginResult<Message>> {
    const start = performance.now();
    let current = message;
    for (const record of this.#lease.snapshot.inputProcessors) {
      const input = current;
      const result = await invokePlugin(
        this.#deadlines,
        record,
        'processMessage',
        (call) => record.plugin.processMessage!(input, context, call),
        messageValidator(input),
      );
      if (result.ok) current = result.value;
      else if (record.config.failurePolicy === 'closed')
        return fail(result.error, undefined, performance.now() - start);
    }
    return ok(current, performance.now() - start);
  }

  /** Runs a chat request through every plugin and returns the whole reply. */
  chat(context: ChatContext, options: ChatOptions = {}): Promise<ChatResponse> {
    this.#assertRunning('chat');
    return collectResponse(this.#pipeline(context, options));
  }

  /** Runs a chat request and streams the reply (a context with `stream: false` is streamed all the same). */
  stream(context: ChatContext, options: ChatOptions = {}): ChatStream {
    this.#assertRunning('stream');
    return toChatStream(this.#pipeline(context.stream ? context : deepFreeze({ ...context, stream: true }), options));
  }

  /** Status of every plugin: state, transitions, kinds, priority, breaker, last error. */
  getPluginStatus(): StatusReport {
    return buildStatusReport([...this.#records.values()], this.#loadProblems, this.#lease.snapshot.version);
  }

  /** Performance metrics: per plugin, per operation and hook, and system-wide. */
  getMetrics(): MetricsReport {
    return buildMetricsReport([...this.#records.values()], this.hooks, this.#startedAt);
  }

  /** Runs every ACTIVE plugin's health check (bounded) and sums up (spec §11.3). */
  async getHealth(): Promise<SystemHealth> {
    const checks = new Map<string, PluginResult<HealthReport>>();
    await Promise.all(
      [...this.#records.values()]
        .filter((record) => record.state === 'ACTIVE')
        .map(async (record) => {
          const check = record.plugin.healthCheck;
          const result =
            check === undefined
              ? ok<HealthReport>({ status: 'healthy' })
              : await invokePlugin(
                  this.#deadlines,
                  record,
                  'healthCheck',
                  (call) => check.call(record.plugin, call),
                  validateHealth,
                  {
                    timeoutMs: this.#options.healthTimeoutMs,
                    useBreaker: false,
                  },
                );
          checks.set(record.name, result);
        }),
    );
    return buildHealthReport(this.#state === 'running', [...this.#records.values()], checks, this.#lease.snapshot);
  }

  // ——— internals ———

  #pipeline(context: ChatContext, options: ChatOptions) {
    return runChatPipeline(
      {
        deadlines: this.#deadlines,
        hooks: this.hooks,
        logger: this.logger,
        maxTurns: this.#options.maxTurns,
        acquireSnapshot: () => {
          this.#lease.acquire();
          return this.#lease;
        },
      },
      context,
      options,
    );
  }

  #register(value: unknown, settings: PluginSettings, source: string | undefined, checkConfig = true): string {
    const shape = checkPluginStructure(value, source);
    const metadata = shape.plugin.metadata;
    const existing = this.#records.get(metadata.name);
    if (existing !== undefined) {
      throw new PlugboardError(
        'PLUGIN_DUPLICATE_NAME',
        `${source ? `${source}: ` : ''}a plugin named "${metadata.name}" is already loaded${existing.source ? ` from ${existing.source}` : ''}`,
        { plugin: metadata.name, details: { file: source, existing: existing.source } },
      );
    }
    const record = this.#createRecord(shape, settings, source, this.#loadSequence++, checkConfig);
    this.#records.set(record.name, record);
    return record.name;
  }

  /** A new record in LOADED (or ERROR, when its config is invalid); not yet part of the manager. */
  #createRecord(
    shape: ReturnType<typeof checkPluginStructure>,
    settings: PluginSettings,
    source: string | undefined,
    loadOrder: number,
    checkConfig = true,
  ): PluginRecord {
    const metadata = shape.plugin.metadata;
    const config = this.#resolveConfig(metadata, settings);
    const record = new PluginRecord(
      shape.plugin,
      shape.kinds,
      shape.hookMethods,
      config,
      source,
      loadOrder,
      this.#options.circuitBreaker,
      this.logger,
    );
    record.observer = this.#callObserver;
    record.states.moveTo('LOADING', source ? `loading ${source}` : 'registering');
    const configError = checkConfig ? validateConfig(record, settings.config) : undefined;
    if (configError !== undefined) {
      this.#fail(record, configError);
    } else {
      record.states.moveTo('LOADED', 'module loaded and structure valid');
    }
    this.logger.info(
      { plugin: record.name, operation: 'load', success: configError === undefined, file: source },
      'plugin loaded',
    );
    return record;
  }

  /** Settings given, else the plugin's metadata, else the manager's defaults. */
  #resolveConfig(metadata: PluginMetadata, settings: PluginSettings): PluginConfig {
    return Object.freeze({
      enabled: settings.enabled ?? true,
      priority: settings.priority ?? metadata.priority ?? this.#options.defaultPriority,
      config: deepFreeze(settings.config ?? {}),
      timeoutMs: settings.timeoutMs ?? metadata.timeoutMs ?? this.#options.defaultTimeoutMs,
      // A plugin's own timeout covers its hooks too; otherwise hooks have their own default.
      hookTimeoutMs: settings.timeoutMs ?? metadata.timeoutMs ?? this.#options.defaultHookTimeoutMs,
      failurePolicy: settings.failurePolicy ?? metadata.failurePolicy ?? this.#options.defaultFailurePolicy,
      backend: Object.freeze({
        ...(settings.backend?.fallback === undefined ? {} : { fallback: settings.backend.fallback }),
        retries: settings.backend?.retries ?? 0,
        retryDelayMs: settings.backend?.retryDelayMs ?? 500,
        ...(settings.backend?.maxConcurrent === undefined ? {} : { maxConcurrent: settings.backend.maxConcurrent }),
        maxQueued: settings.backend?.maxQueued ?? 100,
      }),
    });
  }

  /** Shuts down an instance that already left the pipeline (replaced or removed). */
  async #retire(record: PluginRecord, reason: string): Promise<void> {
    const wasStarted = record.state === 'ACTIVE' || record.state === 'PAUSED';
    if (!record.states.canMoveTo('UNLOADING')) return;
    record.states.moveTo('UNLOADING', reason);
    await this.#drainAndShutDown(record, wasStarted);
    record.states.moveTo('UNLOADED', reason);
  }

  /** Waits for the plugin's in-flight calls (bounded), then runs its `shutdown` (bounded). */
  async #drainAndShutDown(record: PluginRecord, wasStarted: boolean): Promise<void> {
    const drained = await record.drain(this.#options.drainTimeoutMs);
    if (!drained) {
      record.logger.warn(
        { operation: 'shutdown', inFlight: record.inFlight },
        'shutting down with calls still in flight',
      );
    }
    const shutdown = record.plugin.shutdown;
    if (!wasStarted || shutdown === undefined) return;
    const result = await invokePlugin(
      this.#deadlines,
      record,
      'shutdown',
      (call) => shutdown.call(record.plugin, call),
      () => undefined,
      { timeoutMs: this.#options.shutdownTimeoutMs, useBreaker: false },
    );
    if (!result.ok) {
      record.lastError = new PlugboardError(
        'PLUGIN_SHUTDOWN_FAILED',
        `Plugin "${record.name}" failed to shut down: ${result.error.message}`,
        { plugin: record.name, hook: 'shutdown', cause: result.error },
      );
    }
  }

  /** Starts every LOADED, enabled plugin whose dependencies allow it, in dependency order. */
  async #startPending(): Promise<void> {
    const candidates = [...this.#records.values()].filter(
      (record) =>
        record.state === 'ACTIVE' || record.state === 'PAUSED' || (record.state === 'LOADED' && record.config.enabled),
    );
    const unavailable = new Map(
      [...this.#records.values()]
        .filter((record) => !candidates.includes(record))
        .map((record) => [
          record.name,
          record.state === 'ERROR'
            ? `it is in ERROR (${record.lastError?.message ?? 'unknown'})`
            : `it is ${record.config.enabled ? record.state : 'disabled'}`,
        ]),
    );
    const plan = planStartOrder(
      candidates.map((record) => ({
        name: record.name,
        version: record.version,
        dependencies: record.plugin.metadata.dependencies ?? {},
      })),
      unavailable,
    );
    for (const [name, error] of plan.failures) {
      const record = this.#records.get(name)!;
      if (record.state === 'LOADED') this.#fail(record, error);
    }
    // Plugins start in plan order, up to maxConcurrentPlugins at a time; each waits for the
    // start of what it depends on (which the plan puts before it).
    const starting = new Map<string, Promise<void>>();
    const running = new Set<Promise<void>>();
    for (const name of plan.order) {
      const record = this.#records.get(name)!;
      if (record.state !== 'LOADED') continue;
      const dependencies = Object.keys(record.plugin.metadata.dependencies ?? {});
      await Promise.all(dependencies.map((dependency) => starting.get(dependency)));
      while (running.size >= this.#options.maxConcurrentPlugins) await Promise.race(running);
      const start = this.#startWhenReady(record).finally(() => running.delete(start));
      starting.set(name, start);
      running.add(start);
    }
    await Promise.all(running);
  }

  /** Starts a plugin whose dependencies have finished starting, unless one of them failed. */
  async #startWhenReady(record: PluginRecord): Promise<void> {
    const name = record.name;
    const brokenDependency = Object.keys(record.plugin.metadata.dependencies ?? {}).find(
      (dependency) => this.#records.get(dependency)?.state !== 'ACTIVE',
    );
    if (brokenDependency === undefined) return this.#startPlugin(record);
    const dependency = this.#records.get(brokenDependency);
    this.#fail(
      record,
      new PlugboardError(
        'PLUGIN_DEPENDENCY_MISSING',
        `Plugin "${name}" depends on "${brokenDependency}", which did not start: ${dependency?.lastError?.message ?? dependency?.state}`,
        { plugin: name, details: { dependency: brokenDependency } },
      ),
    );
  }

  async #startPlugin(record: PluginRecord): Promise<void> {
    if (!(await this.#initializeRecord(record))) return;
    this.#registerHooksOf(record);
    void this.#rebuild();
    await this.hooks.execute('pluginLoaded', { plugin: record.name, metadata: record.plugin.metadata });
  }

  /** LOADED → INITIALIZING → ACTIVE (true), or ERROR with the reason (false). */
  async #initializeRecord(record: PluginRecord): Promise<boolean> {
    record.states.moveTo('INITIALIZING', 'initializing');
    const initialize = record.plugin.initialize;
    const result =
      initialize === undefined
        ? ok(undefined)
        : await invokePlugin(
            this.#deadlines,
            record,
            'initialize',
            (call) => initialize.call(record.plugin, record.config, call),
            () => undefined,
            { useBreaker: false },
          );
    if (!result.ok) {
      this.#fail(
        record,
        new PlugboardError(
          'PLUGIN_INIT_FAILED',
          `Plugin "${record.name}" failed to initialize: ${result.error.message}`,
          {
            plugin: record.name,
            hook: 'initialize',
            cause: result.error,
          },
        ),
      );
      return false;
    }
    record.states.moveTo('ACTIVE', 'initialized');
    return true;
  }

  /** Auto-registers the plugin's `on<Hook>` methods at its priority. */
  #registerHooksOf(record: PluginRecord): void {
    for (const hook of record.hookMethods) {
      const handler = record.plugin[`on${hook[0]!.toUpperCase()}${hook.slice(1)}` as keyof typeof record.plugin];
      this.hooks.registerHook(hook, handler as HookHandler<typeof hook>, record.config.priority, record, true);
    }
  }

  async #stopPlugin(record: PluginRecord, reason: string): Promise<void> {
    if (record.state === 'UNLOADED' || record.state === 'UNLOADING') return;
    const wasStarted = record.state === 'ACTIVE' || record.state === 'PAUSED';
    if (record.state === 'LOADING' || record.state === 'INITIALIZING') {
      record.states.moveTo('ERROR', 'stopped while starting');
    }
    record.states.moveTo('UNLOADING', reason);
    // Requests that started on an earlier snapshot may still call it: let them finish.
    await withTimeout(this.#rebuild(), this.#options.drainTimeoutMs);
    await this.#drainAndShutDown(record, wasStarted);
    this.hooks.unregisterRecord(record);
    record.states.moveTo('UNLOADED', reason);
    void this.#rebuild();
  }

  /** Reverse dependency order: dependents stop before what they depend on. */
  #stopOrder(): string[] {
    const records = [...this.#records.values()];
    const plan = planStartOrder(
      records.map((record) => ({
        name: record.name,
        version: record.version,
        dependencies: Object.fromEntries(
          Object.keys(record.plugin.metadata.dependencies ?? {})
            .filter((dependency) => this.#records.has(dependency))
            .map((dependency) => [dependency, '*']),
        ),
      })),
    );
    const ordered = [
      ...plan.order,
      ...records.map((record) => record.name).filter((name) => !plan.order.includes(name)),
    ];
    return ordered.reverse();
  }

  #fail(record: PluginRecord, error: PlugboardError): void {
    record.lastError = error;
    record.states.moveTo('ERROR', error.message);
    record.logger.error(
      { operation: 'start', success: false, error: error.code, cause: describeCause(error) },
      error.message,
    );
  }

  /**
   * Records a plugin that could not be loaded at all (its file, its config entry), so that
   * status reports show it with the reason. `plugin` names it when known. A newer problem
   * of the same plugin (or, unnamed, the same file) replaces the older one.
   */
  reportLoadProblem(path: string, error: PlugboardError, plugin?: string): void {
    this.#recordLoadProblem(path, error, plugin);
  }

  /** Forgets the load problem of a plugin that has since loaded. */
  clearLoadProblem(plugin: string): void {
    const index = this.#loadProblems.findIndex((problem) => problem.plugin === plugin);
    if (index >= 0) this.#loadProblems.splice(index, 1);
  }

  #recordLoadProblem(path: string, error: PlugboardError, plugin?: string): void {
    const same = this.#loadProblems.findIndex((problem) =>
      plugin === undefined ? problem.plugin === undefined && problem.path === path : problem.plugin === plugin,
    );
    if (same >= 0) this.#loadProblems.splice(same, 1);
    this.#loadProblems.push({ path, error, ...(plugin === undefined ? {} : { plugin }) });
    this.logger.error({ operation: 'load', file: path, success: false, error: error.code }, error.message);
  }

  /**
   * Builds a new snapshot from the current records and retires the old one. Resolves when
   * every retired snapshot has no request left running on it.
   */
  #rebuild(): Promise<void> {
    const old = this.#lease;
    this.#lease = new SnapshotLease(this.#buildSnapshot());
    this.#retired.add(old);
    void old.retire().then(() => this.#retired.delete(old));
    return Promise.all([...this.#retired].map((lease) => lease.retire())).then(() => undefined);
  }

  #buildSnapshot(): PipelineSnapshot {
    const active = [...this.#records.values()]
      .filter((record) => record.state === 'ACTIVE' && !this.#leaving.has(record))
      .sort((a, b) => priorityRank(a.config.priority) - priorityRank(b.config.priority) || a.loadOrder - b.loadOrder);
    const processors = active.filter((record) => record.kinds.has('message-processor'));
    const backends = new Map(
      active.filter((record) => record.kinds.has('backend-provider')).map((record) => [record.name, record]),
    );
    const preferred = this.#options?.defaultBackend;
    return Object.freeze({
      version: ++this.#snapshotVersion,
      middleware: active.filter((record) => record.kinds.has('middleware')),
      inputProcessors: processors.filter((record) => record.plugin.direction !== 'output'),
      outputProcessors: processors.filter((record) => record.plugin.direction !== 'input'),
      extensions: active.filter((record) => record.kinds.has('feature-extension')),
      backends,
      defaultBackend: preferred !== undefined && backends.has(preferred) ? preferred : backends.keys().next().value,
      hooks: this.hooks.table,
    });
  }

  #require(name: string): PluginRecord {
    const record = this.#records.get(name);
    if (record === undefined) {
      throw new PlugboardError(
        'PLUGIN_NOT_FOUND',
        `No plugin named "${name}" is loaded; loaded: ${[...this.#records.keys()].join(', ') || 'none'}`,
        {
          plugin: name,
        },
      );
    }
    return record;
  }

  #assertUsable(operation: string): void {
    if (this.#state === 'stopping' || this.#state === 'stopped') throw notRunning(operation, this.#state);
  }

  #assertRunning(operation: string): void {
    if (this.#state !== 'running') throw notRunning(operation, this.#state);
  }
}

function notRunning(operation: string, state: ManagerState): PlugboardError {
  return new PlugboardError('MANAGER_NOT_RUNNING', `Cannot ${operation}: the plugin manager is ${state}`);
}

function validateConfig(record: PluginRecord, raw: unknown): PlugboardError | undefined {
  const schema = record.plugin.metadata.configSchema;
  if (schema === undefined) return undefined;
  const outcome = schema['~standard'].validate(raw ?? {});
  if (outcome instanceof Promise) {
    return new PlugboardError(
      'PLUGIN_CONFIG_INVALID',
      `Plugin "${record.name}": asynchronous config schemas are not supported`,
      {
        plugin: record.name,
      },
    );
  }
  if (outcome.issues !== undefined) {
    const issues = outcome.issues.map(
      (issue) =>
        `${issue.path?.map((segment) => (typeof segment === 'object' ? String(segment.key) : String(segment))).join('.') || '(root)'}: ${issue.message}`,
    );
    return new PlugboardError(
      'PLUGIN_CONFIG_INVALID',
      `Plugin "${record.name}" has invalid config: ${issues.join('; ')}`,
      {
        plugin: record.name,
        details: { issues },
      },
    );
  }
  // Keep what the schema produced (defaults applied, values coerced), frozen.
  record.config = Object.freeze({ ...record.config, config: deepFreeze(outcome.value) });
  return undefined;
}

function peekName(value: unknown): string | undefined {
  const name = (value as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === 'string' ? name : undefined;
}

function validateModels(value: unknown): readonly ModelInfo[] {
  if (!Array.isArray(value))
    throw new PlugboardError('PLUGIN_INVALID_RESULT', 'listModels must return an array of { id }');
  return value.map((model) => {
    if (typeof model === 'string') return { id: model };
    if (typeof model?.id !== 'string')
      throw new PlugboardError('PLUGIN_INVALID_RESULT', 'listModels: every model needs a string id');
    return model as ModelInfo;
  });
}

function validateEmbeddings(value: unknown): EmbeddingResult {
  const result = value as EmbeddingResult | null;
  if (!Array.isArray(result?.embeddings) || !result.embeddings.every((vector) => Array.isArray(vector))) {
    throw new PlugboardError('PLUGIN_INVALID_RESULT', 'embed must return { model, embeddings: number[][] }');
  }
  return result;
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

async function withTimeout(promise: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
}
