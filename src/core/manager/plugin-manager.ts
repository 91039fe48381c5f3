import { dependentsRemain, managerNotRunning } from '../errors/core-errors.ts';
import { PlugboardError, toPlugboardError } from '../errors/plugboard-error.ts';
import type { CallObserver } from '../execution/call-observer.ts';
import { DeadlineScheduler } from '../execution/deadline-scheduler.ts';
import { RequestScope } from '../execution/request-scope.ts';
import { HookManager } from '../hooks/hook-manager.ts';
import type { HookName } from '../hooks/hook-map.ts';
import { createDefaultLogger, type Logger } from '../logger.ts';
import type { ChatContext } from '../model/context.ts';
import type { Message } from '../model/message.ts';
import type { ChatResponse, PluginStep } from '../model/reply.ts';
import { modelAccessRef } from '../models/model-access.ts';
import { type ChatOptions, runChatPipeline } from '../pipeline/chat-pipeline.ts';
import { type ChatStream, collectResponse, toChatStream } from '../pipeline/chat-stream.ts';
import { runInputProcessors } from '../pipeline/context-stage.ts';
import { type OperationCall, type OperationOutcome, runOperation } from '../pipeline/operation-pipeline.ts';
import { type PipelineEnv, RequestRun } from '../pipeline/request-run.ts';
import type { EndpointMatch, EndpointTable } from '../plugin/endpoint-table.ts';
import type { EndpointReply } from '../plugin/endpoints.ts';
import type { HookHandler } from '../plugin/kinds.ts';
import type { PluginMetadata, PluginSettings } from '../plugin/metadata.ts';
import { instantiate, loadPluginModule } from '../plugin/module-loader.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import type { Priority } from '../plugin/priority.ts';
import { fail, ok, type PluginResult } from '../result.ts';
import { ModelRouter } from '../routing/model-router.ts';
import type { ServiceRef } from '../services/service-ref.ts';
import { ServiceRegistry } from '../services/service-registry.ts';
import { deepFreeze } from '../util/deep-freeze.ts';
import { type BackendHandle, backendDirectory, backendHandle } from './backend-handles.ts';
import { type EmbeddingReply, embedOperation } from './embed-operation.ts';
import { type EndpointInput, endpointOperation } from './endpoint-operation.ts';
import { buildHealthReport, checkHealth, type SystemHealth } from './health.ts';
import { boundedWait, dependentsOf, type LifecycleEnv, startPending, stopOrder, stopPlugin } from './lifecycle.ts';
import { type PluginManagerOptions, type ResolvedManagerOptions, resolveManagerOptions } from './manager-options.ts';
import { createModelAccess } from './model-access.ts';
import type { ApplyReport, PluginChange } from './plugin-change.ts';
import { type LoadProblem, PluginRegistry } from './plugin-registry.ts';
import { applyChanges, type ReloadEnv } from './reload-transaction.ts';
import { buildMetricsReport, buildStatusReport, type MetricsReport, type StatusReport } from './reports.ts';
import { SnapshotKeeper } from './snapshots.ts';
import { reportStray, type StrayErrorKind, type StrayErrorReport } from './stray-errors.ts';

export type { BackendHandle } from './backend-handles.ts';
export type { EmbeddingReply } from './embed-operation.ts';
export type { PluginManagerOptions } from './manager-options.ts';
export type { LoadProblem } from './plugin-registry.ts';

type ManagerState = 'created' | 'running' | 'stopping' | 'stopped';

/**
 * The central plugin orchestrator (spec §7.1): loads, orders, starts, runs and stops plugins,
 * and runs requests through them. A facade over the registry of plugins, their lifecycle,
 * reload transactions, pipeline snapshots and services (see docs/ARCHITECTURE.md).
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
  /** Resolves model names to backends (`backend/model`, or looked up in the backends' model lists). */
  readonly models: ModelRouter;
  readonly #deadlines = new DeadlineScheduler();
  readonly #registry: PluginRegistry;
  readonly #services: ServiceRegistry;
  readonly #snapshots: SnapshotKeeper;
  readonly #options: ResolvedManagerOptions;
  /** ACTIVE plugins being disabled: out of new snapshots, PAUSED once older ones drain (applyChanges). */
  readonly #leaving = new Set<PluginRecord>();
  readonly #startedAt = Date.now();
  readonly #pipelineEnv: PipelineEnv;
  #state: ManagerState = 'created';
  #unattributedStrays = 0;
  #callObserver: CallObserver | undefined;

  constructor(options: PluginManagerOptions = {}) {
    this.logger = options.logger ?? createDefaultLogger();
    this.#callObserver = options.callObserver;
    this.#options = resolveManagerOptions(options);
    this.hooks = new HookManager(
      this.#deadlines,
      { maxConcurrentHooks: this.#options.maxConcurrentHooks, monitoringQueue: this.#options.monitoringQueue },
      this.logger,
    );
    this.#registry = new PluginRegistry(this.#options, this.logger, () => this.#callObserver);
    this.#services = new ServiceRegistry(this.logger);
    const manager = this;
    this.#snapshots = new SnapshotKeeper(() => ({
      records: this.#registry.values(),
      leaving: this.#leaving,
      defaultBackend: this.#options.defaultBackend,
      hooks: this.hooks.table,
      logger: this.logger,
    }));
    this.models = new ModelRouter(
      backendDirectory(this.#registry, () => this.#snapshots.current, this.#deadlines),
      options.modelListTtlMs === undefined ? {} : { ttlMs: options.modelListTtlMs },
    );
    this.#services.install(
      modelAccessRef,
      createModelAccess({
        router: this.models,
        get defaultBackend() {
          return manager.defaultBackend;
        },
        get backendNames() {
          return manager.backendNames;
        },
        getBackendProvider: (name) => this.getBackendProvider(name),
      }),
    );
    this.#pipelineEnv = {
      deadlines: this.#deadlines,
      hooks: this.hooks,
      logger: this.logger,
      router: this.models,
      maxTurns: this.#options.maxTurns,
      acquireSnapshot: () => this.#snapshots.acquire(),
    };
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
    for (const record of this.#registry.values()) record.observer = observer;
  }

  /** The observer set by {@link setCallObserver} (or the `callObserver` option), if any. */
  get callObserver(): CallObserver | undefined {
    return this.#callObserver;
  }

  /**
   * Starts every loaded, enabled plugin in dependency order (FR-3.3), providers of services
   * before their consumers, then runs the `startup` hook. A plugin that cannot start goes to
   * ERROR with the reason; the rest start.
   */
  async initialize(): Promise<void> {
    if (this.#state === 'running') return;
    if (this.#state !== 'created') throw managerNotRunning('initialize', this.#state);
    this.#state = 'running';
    await startPending(this.#lifecycle);
    const active = this.#registry
      .values()
      .filter((record) => record.state === 'ACTIVE')
      .map((record) => record.name);
    await this.hooks.execute('startup', { plugins: active });
    this.logger.info({ operation: 'initialize', plugins: active.length }, 'plugin manager started');
  }

  /**
   * Stops: runs the `shutdown` hook, waits for running requests (up to `drainTimeoutMs`),
   * then shuts plugins down in reverse dependency order, each bounded by `shutdownTimeoutMs`;
   * last, the default instances of services nobody provided are closed.
   */
  async shutdown(reason = 'shutdown'): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return;
    const wasRunning = this.#state === 'running';
    this.#state = 'stopping';
    if (wasRunning) await this.hooks.execute('shutdown', { reason });
    await boundedWait(this.#snapshots.drainAll(), this.#options.drainTimeoutMs);
    for (const name of stopOrder(this.#registry.values())) await this.#stopPlugin(this.#registry.require(name), reason);
    await this.#services.close();
    this.#state = 'stopped';
  }

  /**
   * Loads one plugin from a file (FR-1.1) and, if the manager is running, starts it.
   * Returns its name. A module that cannot be imported or is not a plugin throws;
   * a plugin that loads but cannot start is kept in ERROR state (see getPluginStatus).
   */
  async loadPlugin(path: string, settings: PluginSettings = {}): Promise<string> {
    this.#assertUsable('loadPlugin');
    const record = this.#registry.add(await loadPluginModule(path), settings, path);
    if (this.#state === 'running') await startPending(this.#lifecycle);
    return record.name;
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
    const record = this.#registry.add(await instantiate(plugin, source), settings, source);
    if (this.#state === 'running') await startPending(this.#lifecycle);
    return record.name;
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
    if (directory === undefined) {
      throw new PlugboardError(
        'CONFIG_INVALID',
        'No plugin directory given, and none configured (option pluginDirectory)',
      );
    }
    const names = await this.#registry.addFromDirectory(directory, settingsByName);
    if (this.#state === 'running') await startPending(this.#lifecycle);
    return names;
  }

  /**
   * Unloads a plugin (FR-1.4): it leaves the pipeline at once, in-flight requests finish on
   * it, then its `shutdown` runs and its hooks are removed. Refuses while active (or paused)
   * plugins depend on it, declared or through a service it provides.
   * @throws PlugboardError `PLUGIN_NOT_FOUND` or `PLUGIN_DEPENDENCY_MISSING`.
   */
  async unloadPlugin(name: string, reason = 'unloaded'): Promise<void> {
    const record = this.#registry.require(name);
    const dependents = dependentsOf(record, this.#registry.values());
    if (dependents.length > 0) {
      throw dependentsRemain(
        name,
        dependents.map((other) => other.name),
        'unload',
      );
    }
    await this.#stopPlugin(record, reason);
    this.#registry.delete(name);
    void this.#snapshots.rebuild();
    await this.hooks.execute('pluginUnloaded', { plugin: name, reason });
  }

  /**
   * Adds a plugin that must not run because its configuration was rejected before it
   * reached the manager (e.g. an invalid entry in the config file): it is listed in
   * status in ERROR with `error` as the reason, and takes no part in requests.
   */
  async registerFailed(plugin: unknown, error: PlugboardError, source?: string): Promise<string> {
    this.#assertUsable('registerFailed');
    const record = this.#registry.add(await instantiate(plugin, source), {}, source, false);
    this.#registry.fail(record, error);
    void this.#snapshots.rebuild();
    return record.name;
  }

  /**
   * Applies several plugin changes as one step (hot reload, FR-1.5); see
   * {@link applyChanges} in reload-transaction.ts for the three phases. A change that fails
   * (bad structure, invalid config, failed initialization, missing dependency or service) is
   * refused and the running version stays. Fires `configReloaded`.
   *
   * @param refusedBefore refusals found before this call (e.g. invalid config entries), for the report
   */
  applyChanges(
    changes: readonly PluginChange[],
    refusedBefore: readonly { readonly plugin: string; readonly error: PlugboardError }[] = [],
  ): Promise<ApplyReport> {
    this.#assertRunning('applyChanges');
    return applyChanges(this.#reloadEnv, changes, refusedBefore);
  }

  /**
   * Takes an ACTIVE plugin out of the pipeline without unloading it (state PAUSED). A kill
   * switch: it takes effect at once, also for the remaining steps of requests already running
   * (a configuration reload that disables a plugin instead waits for them, see applyChanges).
   */
  pausePlugin(name: string, reason = 'paused'): void {
    this.#registry.require(name).states.moveTo('PAUSED', reason);
    void this.#snapshots.rebuild();
  }

  /** Puts a PAUSED plugin back into the pipeline. */
  resumePlugin(name: string, reason = 'resumed'): void {
    this.#registry.require(name).states.moveTo('ACTIVE', reason);
    void this.#snapshots.rebuild();
  }

  /** Closes every circuit breaker of a plugin and forgets its failures (FR-6 manual reset). */
  resetCircuitBreaker(name: string): void {
    this.#registry.require(name).breakers.reset();
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
    this.hooks.registerHook(hook, handler, priority, this.#registry.require(pluginName));
    void this.#snapshots.rebuild();
  }

  /** Removes a plugin's handlers of `hook` (all hooks when omitted). Returns how many were removed. */
  unregisterHook(hook: HookName | undefined, pluginName: string): number {
    const removed = this.hooks.unregisterHook(hook, pluginName);
    void this.#snapshots.rebuild();
    return removed;
  }

  /** The HTTP endpoints the ACTIVE plugins add (the current snapshot's). */
  get endpoints(): EndpointTable {
    return this.#snapshots.current.endpoints;
  }

  /**
   * Why a path no ACTIVE plugin serves would be served by a loaded one: its plugin and state
   * (ERROR, PAUSED …) and whether it is disabled. Undefined when no loaded plugin declares it.
   */
  dormantEndpoint(method: string, path: string): { plugin: string; state: string; enabled: boolean } | undefined {
    const match = this.#snapshots.current.dormantEndpoints.match(method, path);
    if (!('record' in match)) return undefined;
    return { plugin: match.record.name, state: match.record.state, enabled: match.record.config.enabled };
  }

  /**
   * Serves a request to a plugin's endpoint matched in {@link endpoints}: the operation
   * `endpoint`, through request middleware and hooks, then the endpoint's handler.
   *
   * @example
   * ```ts
   * const match = manager.endpoints.match('GET', '/v1/conversations');
   * if ('endpoint' in match) reply = await manager.callEndpoint(match, context, { query: {}, headers: {}, body: undefined, contentType: undefined });
   * ```
   */
  callEndpoint(
    match: EndpointMatch,
    context: ChatContext,
    input: EndpointInput,
    options: ChatOptions = {},
  ): Promise<EndpointReply> {
    this.#assertRunning('callEndpoint');
    return endpointOperation(this.#pipelineEnv, this.#deadlines, match, context, input, options);
  }

  /** A guarded handle on an ACTIVE backend provider, by name (FR-8.5). */
  getBackendProvider(name: string): BackendHandle | undefined {
    const record = this.#snapshots.current.backends.get(name);
    return record === undefined ? undefined : backendHandle(record, this.#deadlines);
  }

  /** The backend a request that names none goes to (the configured default, else the first active). */
  get defaultBackend(): string | undefined {
    return this.#snapshots.current.defaultBackend;
  }

  /** Names of the ACTIVE backends, in priority order. */
  get backendNames(): readonly string[] {
    return [...this.#snapshots.current.backends.keys()];
  }

  /**
   * Fail-closed plugins in ERROR that concern every request: while there is any, every request
   * is refused with `PLUGIN_FAILED_CLOSED` (and the server is not ready). One that concerns
   * only some requests (`concerns`) refuses those; `GET /health` shows it unhealthy.
   */
  get failedClosedPlugins(): readonly string[] {
    // Those that concern every request: one that concerns only some (`concerns`) refuses those, not the rest.
    return this.#snapshots.current.closedGaps
      .filter((record) => record.plugin.concerns === undefined)
      .map((record) => record.name);
  }

  /**
   * Runs the input message processors on `message` (FR-7.4): a waterfall in priority order;
   * a failing fail-open processor is skipped and the previous message kept (FR-7.5).
   * Fails only when a fail-closed processor fails.
   */
  async executeMessageProcessors(message: Message, context: ChatContext): Promise<PluginResult<Message>> {
    const start = performance.now();
    const lease = this.#snapshots.acquire();
    const scope = new RequestScope(context.requestId);
    try {
      const run = new RequestRun(this.#pipelineEnv, lease.snapshot, scope);
      const processed = await runInputProcessors(run, lease.snapshot.inputProcessors, message, context);
      return ok(processed, performance.now() - start);
    } catch (error) {
      return fail(toPlugboardError(error, 'INTERNAL_ERROR', {}), undefined, performance.now() - start);
    } finally {
      scope.dispose();
      lease.release();
    }
  }

  /** Runs a chat request through every plugin and returns the whole reply. */
  chat(context: ChatContext, options: ChatOptions = {}): Promise<ChatResponse> {
    this.#assertRunning('chat');
    return collectResponse(runChatPipeline(this.#pipelineEnv, context, options));
  }

  /** Runs a chat request and streams the reply (a context with `stream: false` is streamed all the same). */
  stream(context: ChatContext, options: ChatOptions = {}): ChatStream {
    this.#assertRunning('stream');
    const steps: PluginStep[] = [];
    const streamed = context.stream ? context : deepFreeze({ ...context, stream: true });
    return toChatStream(runChatPipeline(this.#pipelineEnv, streamed, options, steps), steps);
  }

  /**
   * Runs a client operation other than a chat (`context.operation`: embeddings, a model
   * listing …) through request middleware and the `requestStart` / `requestEnd` hooks, so
   * that authentication, rate limits and logging see it, then `perform`.
   *
   * @example
   * ```ts
   * const listing = await manager.runOperation(createChatContext({ operation: 'models.list', messages: [] }),
   *   async () => ({ value: await manager.models.list() }));
   * ```
   */
  runOperation<T>(
    context: ChatContext,
    perform: (context: ChatContext, call: OperationCall) => Promise<OperationOutcome<T>>,
    options: ChatOptions = {},
  ): Promise<T> {
    this.#assertRunning('runOperation');
    return runOperation(this.#pipelineEnv, context, perform, options);
  }

  /**
   * Embeddings of the contents of `context.messages` (one vector per message), from the
   * backend serving `context.model`, after request middleware (an `embeddings` operation).
   *
   * @example
   * ```ts
   * const { embeddings } = await manager.embed(createChatContext({ operation: 'embeddings', model: 'nomic-embed-text',
   *   messages: [{ role: 'user', content: 'a sentence' }] }));
   * ```
   * @throws PlugboardError `BACKEND_FAILED` when the backend returns a wrong number of vectors.
   */
  embed(context: ChatContext, options: ChatOptions = {}): Promise<EmbeddingReply> {
    this.#assertRunning('embed');
    return embedOperation(this.#pipelineEnv, this, context, options);
  }

  /**
   * The built-in default of a service nobody provides, once a consumer made the manager
   * create it (the server reads the plugins' default metrics registry this way).
   */
  defaultService<T>(ref: ServiceRef<T>): T | undefined {
    return this.#services.defaultOf(ref.id) as T | undefined;
  }

  /**
   * What a loaded plugin says about itself (name, version, its `configSchema` …), whatever its
   * state; undefined when no plugin of that name is loaded. The admin API's config editor
   * builds its form from the schema.
   */
  pluginMetadata(name: string): PluginMetadata | undefined {
    return this.#registry.get(name)?.plugin.metadata;
  }

  /** Status of every plugin: state, transitions, kinds, priority, breakers, services, last error. */
  getPluginStatus(): StatusReport {
    const { version, endpoints } = this.#snapshots.current;
    return buildStatusReport(this.#registry.values(), this.#registry.loadProblems, version, endpoints.conflicts);
  }

  /** Performance metrics: per plugin, per operation and hook, and system-wide. */
  getMetrics(): MetricsReport {
    return buildMetricsReport(this.#registry.values(), this.hooks, this.#startedAt, this.#unattributedStrays);
  }

  /** Runs every ACTIVE plugin's health check (bounded) and sums up (spec §11.3). */
  getHealth(): Promise<SystemHealth> {
    const records = this.#registry.values();
    return checkHealth(records, this.#deadlines, this.#options.healthTimeoutMs).then((checks) =>
      buildHealthReport(this.#state === 'running', records, checks, this.#snapshots.current),
    );
  }

  /**
   * Records a plugin that could not be loaded at all (its file, its config entry), so that
   * status reports show it with the reason. `plugin` names it when known.
   */
  reportLoadProblem(path: string, error: PlugboardError, plugin?: string): void {
    this.#registry.reportLoadProblem(path, error, plugin);
  }

  /**
   * Forgets a plugin's `lastError` while it is still `error` (a newer one stays). The config
   * layer calls it once an entry it refused is valid again.
   */
  clearLastError(name: string, error: PlugboardError): void {
    const record = this.#registry.get(name);
    if (record !== undefined && record.lastError === error) record.lastError = undefined;
  }

  /** Forgets the load problem of a plugin that has since loaded. */
  clearLoadProblem(plugin: string): void {
    this.#registry.clearLoadProblem(plugin);
  }

  /** Load problems kept for status (files or entries that never became plugins). */
  get loadProblems(): readonly LoadProblem[] {
    return this.#registry.loadProblems;
  }

  /**
   * Takes an error that escaped every plugin call — a rejected promise nobody awaited, an
   * exception thrown from a timer or event handler — which would otherwise end the process.
   * The server's process guards hand it here (see `installProcessGuards`). When the error's
   * stack runs through a plugin's files it counts as that plugin's failure: metrics,
   * `lastError`, and its `background` circuit, which opens after repeated stray errors and
   * then skips the whole plugin for a while. The report says who it was, and whether the
   * error came from Plugboard's own code (for the guard's decision to keep serving).
   *
   * @example
   * ```ts
   * process.on('unhandledRejection', (reason) => manager.reportStrayError(reason, 'unhandledRejection'));
   * ```
   */
  reportStrayError(error: unknown, kind: StrayErrorKind): StrayErrorReport {
    const report = reportStray(error, kind, this.#registry.values(), this.logger);
    if (report.plugin === undefined) this.#unattributedStrays++;
    return report;
  }

  // ——— internals ———

  get #lifecycle(): LifecycleEnv {
    return {
      deadlines: this.#deadlines,
      registry: this.#registry,
      services: this.#services,
      logger: this.logger,
      maxConcurrentPlugins: this.#options.maxConcurrentPlugins,
      drainTimeoutMs: this.#options.drainTimeoutMs,
      shutdownTimeoutMs: this.#options.shutdownTimeoutMs,
      started: async (record) => {
        this.#registerHooksOf(record);
        void this.#snapshots.rebuild();
        await this.hooks.execute('pluginLoaded', { plugin: record.name, metadata: record.plugin.metadata });
      },
      failedToStart: () => {
        void this.#snapshots.rebuild();
      },
    };
  }

  get #reloadEnv(): ReloadEnv {
    return {
      ...this.#lifecycle,
      hooks: this.hooks,
      leaving: this.#leaving,
      rebuild: () => this.#snapshots.rebuild(),
      currentVersion: () => this.#snapshots.current.version,
      registerHooksOf: (record) => this.#registerHooksOf(record),
    };
  }

  /** Auto-registers the plugin's `on<Hook>` methods at its priority. */
  #registerHooksOf(record: PluginRecord): void {
    for (const hook of record.hookMethods) {
      const handler = record.plugin[`on${hook[0]!.toUpperCase()}${hook.slice(1)}` as keyof typeof record.plugin];
      this.hooks.registerHook(hook, handler as HookHandler<typeof hook>, record.config.priority, record, true);
    }
  }

  /** Stops one plugin: out of new snapshots, drained, shut down, its hooks removed. */
  #stopPlugin(record: PluginRecord, reason: string): Promise<void> {
    return stopPlugin(this.#lifecycle, record, reason, {
      rebuild: () => this.#snapshots.rebuild(),
      unregisterHooks: () => this.hooks.unregisterRecord(record),
    });
  }

  #assertUsable(operation: string): void {
    if (this.#state === 'stopping' || this.#state === 'stopped') throw managerNotRunning(operation, this.#state);
  }

  #assertRunning(operation: string): void {
    if (this.#state !== 'running') throw managerNotRunning(operation, this.#state);
  }
}
