import { isDeepStrictEqual } from 'node:util';
import { type FSWatcher, watch } from 'chokidar';
import { ConnectionRegistry } from '../connections/connection-registry.ts';
import { CONNECTIONS_PLUGIN, createConnectionsPlugin } from '../connections/connections-plugin.ts';
import { PlugboardError, toPlugboardError } from '../core/errors/plugboard-error.ts';
import { createDefaultLogger, type Logger } from '../core/logger.ts';
import type { ApplyReport, PluginChange } from '../core/manager/plugin-change.ts';
import { PluginManager } from '../core/manager/plugin-manager.ts';
import { PLUGIN_FILE_PATTERN } from '../core/plugin/discovery.ts';
import { disposeIfSandboxed } from '../sandbox/dispose.ts';
import { changeFor, importCheckedEntry } from './config-diff.ts';
import { formatIssue } from './config-issue.ts';
import { type Discovered, discoverPlugins } from './discovery.ts';
import { type LoadedConfig, type LoadOptions, loadConfig } from './load-config.ts';
import { checkEntryConfig, type ImportedEntry, importEntry, pluginFolderError, settingsOf } from './plugin-entries.ts';
import {
  configError,
  type LastReload,
  lastReloadOf,
  logIssues,
  managerOptions,
  pinoLevel,
  refusedReload,
} from './runtime-support.ts';
import { GLOBAL_SECTIONS, type PlugboardConfig, type ResolvedPluginEntry } from './schema.ts';

export { type LastReload, managerOptions, pinoLevel, type ReloadError } from './runtime-support.ts';

/** Refusals of a plugin's entry (not of its code): the plugin's lastError until the entry is valid again. */
const ENTRY_ERRORS: ReadonlySet<string> = new Set(['CONFIG_INVALID', 'PLUGIN_CONFIG_INVALID']);

/** Options of {@link ConfigRuntime.start}. */
export interface ConfigRuntimeOptions extends LoadOptions {
  /** Logger to use; default: one built from `observability.logging`. */
  readonly logger?: Logger;
}

/** What one reload did. */
export interface ReloadReport extends ApplyReport {
  /** Config issues found in the new file (errors refuse only what they concern). */
  readonly issues: readonly string[];
}

/**
 * Runs a PluginManager from a configuration file and keeps it in step with it: the config
 * layer on top of the core (which knows nothing of YAML). On `reload()` — called by the
 * file watcher (`enable_hot_reload`), SIGHUP or the admin API — it reads the file again,
 * discovers plugin files again (`plugin_manager.discover`), computes what changed, and
 * hands the manager one transaction of changes: the running version of anything refused
 * stays in place. The shared connections of the `connections:` section are a built-in
 * plugin, `connections`, that provides them to the plugins that consume them.
 *
 * @example
 * ```ts
 * const runtime = await ConfigRuntime.start({ file: 'plugins/config.yaml' });
 * const reply = await runtime.manager.chat(context);
 * await runtime.reload();
 * await runtime.close();
 * ```
 */
export class ConfigRuntime {
  readonly manager: PluginManager;
  readonly logger: Logger;
  #loaded: LoadedConfig;
  /** Plugins as applied, by name (configured and discovered). */
  readonly #applied = new Map<string, ImportedEntry>();
  #discovered: Discovered = { plugins: [], problems: [], folders: [] };
  #watcher: FSWatcher | undefined;
  #watching: Promise<void> = Promise.resolve();
  /** Removers of the handlers reloadOnSignal installed (removed by close). */
  readonly #signalHandlers = new Set<() => void>();
  #closed = false;
  #debounce: NodeJS.Timeout | undefined;
  /** Settles when the last queued reload or plugin reload has finished; never rejects. */
  #tail: Promise<void> = Promise.resolve();
  /** Reloads and plugin reloads queued or running. */
  #busy = 0;
  /** A reload waiting for its turn: further reload() calls join it. */
  #queuedReload: Promise<ReloadReport> | undefined;
  #lastReload: LastReload | undefined;
  /** The entry refusals standing as running plugins' lastError, by plugin (resolved once fixed). */
  readonly #entryRefusals = new Map<string, PlugboardError>();

  private constructor(
    manager: PluginManager,
    loaded: LoadedConfig,
    private readonly options: ConfigRuntimeOptions,
    logger: Logger,
  ) {
    this.manager = manager;
    this.#loaded = loaded;
    this.logger = logger;
  }

  /**
   * Loads the configuration, starts a manager with its plugins (and, with discovery on, the
   * plugin files no entry names), and watches the files when hot reload is on. The log says
   * what was discovered and whether hot reload is on and what it watches.
   *
   * @throws PlugboardError `CONFIG_INVALID` when the configuration is fatally wrong (strict
   *   mode, or a named file that cannot be read), listing every issue.
   */
  static async start(options: ConfigRuntimeOptions = {}): Promise<ConfigRuntime> {
    const loaded = await loadConfig(options);
    const { level, format } = loaded.config.observability.logging;
    const logger = options.logger ?? createDefaultLogger(pinoLevel(level), format);
    logIssues(logger, loaded);
    if (loaded.fatal) throw configError(loaded);
    const manager = new PluginManager(managerOptions(loaded.config, logger));
    const runtime = new ConfigRuntime(manager, loaded, options, logger);
    await runtime.#registerConnections();
    runtime.#discovered = await discoverPlugins(loaded);
    await runtime.#loadAll();
    await manager.initialize();
    if (loaded.config.plugin_manager.enable_hot_reload) await runtime.watch();
    runtime.#logStart();
    return runtime;
  }

  /** The configuration in effect (as last loaded). */
  get config(): PlugboardConfig {
    return this.#loaded.config;
  }

  /** The configuration file, if one was read. */
  get file(): string | undefined {
    return this.#loaded.file;
  }

  /**
   * What the last {@link reload} did — when, whether everything applied, and why not (the
   * error and where, or the refused entries) — until the next one; undefined before any.
   */
  get lastReload(): LastReload | undefined {
    return this.#lastReload;
  }

  /** The plugins found by discovery (`plugin_manager.discover`) and loaded with defaults, by name. */
  get discovered(): readonly string[] {
    return this.#discovered.plugins.map((plugin) => plugin.entry.name);
  }

  /**
   * Reads the file again and applies what changed. Reloads never overlap (nor with
   * {@link reloadPlugin}): one requested while another runs is done once after it (requests
   * in between are merged).
   */
  reload(): Promise<ReloadReport> {
    if (this.#queuedReload !== undefined) return this.#queuedReload;
    let started = false;
    const reload = this.#exclusive(() => {
      started = true;
      this.#queuedReload = undefined;
      return this.#reload();
    });
    if (!started) this.#queuedReload = reload;
    return reload;
  }

  /**
   * Re-imports one plugin's module (fresh, not from a module cache) with its entry of the
   * configuration in effect, and swaps it in: the new instance initializes while the running
   * one keeps serving, then takes over; the old one is shut down once its requests are done.
   * A plugin that failed to load before is added. Goes through the same queue as
   * {@link reload}, so the two never overlap. A refused reload (the module does not import,
   * its config does not match its schema, initialize fails) leaves the running version in
   * place and is listed in the report's `refused`.
   *
   * @throws PlugboardError `PLUGIN_NOT_FOUND` when no plugin of that name is configured or
   *   loaded; `CONFIG_INVALID` when its entry in the file was rejected.
   */
  reloadPlugin(name: string): Promise<ApplyReport> {
    return this.#exclusive(() => this.#reloadPlugin(name));
  }

  /**
   * Watches the config file, every plugin module and, with discovery on, the plugin folders
   * (a plugin file added, changed or removed); changes trigger a debounced reload. Resolves
   * once the watcher is ready (a change made before that could be missed).
   */
  watch(): Promise<void> {
    if (this.#watcher !== undefined) return this.#watching;
    const watcher = watch(this.#watchedPaths(), { ignoreInitial: true, atomic: true });
    watcher.on('all', (_event, path) => {
      if (this.#triggersReload(path)) this.#scheduleReload();
    });
    watcher.on('error', (error) =>
      this.logger.error({ operation: 'watch', cause: String(error) }, 'file watcher failed'),
    );
    this.#watcher = watcher;
    this.#watching = new Promise((resolve) => watcher.once('ready', () => resolve()));
    return this.#watching;
  }

  /**
   * Reloads when the process receives `signal` (SIGHUP by convention). Returns a function
   * that removes the handler.
   */
  reloadOnSignal(signal: NodeJS.Signals = 'SIGHUP'): () => void {
    const handler = () => {
      this.logger.info({ operation: 'reload', signal }, 'reload requested by signal');
      this.reload().catch((error: unknown) =>
        this.logger.error({ operation: 'reload', cause: String(error) }, 'reload failed'),
      );
    };
    process.on(signal, handler);
    const remove = () => {
      process.off(signal, handler);
      this.#signalHandlers.delete(remove);
    };
    this.#signalHandlers.add(remove);
    return remove;
  }

  /** Stops watching (files and signals) and shuts the manager down. */
  async close(reason = 'shutdown'): Promise<void> {
    this.#closed = true;
    for (const remove of [...this.#signalHandlers]) remove();
    clearTimeout(this.#debounce);
    await this.#watcher?.close();
    this.#watcher = undefined;
    await this.#tail;
    await this.manager.shutdown(reason);
  }

  /** Runs `task` once every reload queued before it has finished. */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#busy === 0 ? task() : this.#tail.then(task);
    this.#busy++;
    this.#tail = result.then(
      () => {
        this.#busy--;
      },
      () => {
        this.#busy--;
      },
    );
    return result;
  }

  #scheduleReload(): void {
    if (this.#closed) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.reload().catch((error: unknown) =>
        this.logger.error({ operation: 'reload', cause: String(error) }, 'hot reload failed'),
      );
    }, this.#loaded.config.plugin_manager.reload_debounce * 1000);
  }

  #watchedPaths(): string[] {
    return [
      ...(this.#loaded.file ? [this.#loaded.file] : []),
      ...[...this.#applied.values()].map((imported) => imported.modulePath),
      ...this.#discovered.folders,
    ];
  }

  /** The config file, a plugin module, or a plugin file in a discovery folder. */
  #triggersReload(path: string): boolean {
    if (path === this.#loaded.file) return true;
    for (const imported of this.#applied.values()) if (imported.modulePath === path) return true;
    return this.#discovered.folders.length > 0 && PLUGIN_FILE_PATTERN.test(path);
  }

  /**
   * The built-in plugin of the `connections:` section, when the section names any: one client
   * per connection for every plugin, one health check, closed after the last consumer stopped.
   */
  async #registerConnections(): Promise<void> {
    const settings = this.#loaded.config.connections;
    if (
      Object.keys(settings.redis).length +
        Object.keys(settings.postgres).length +
        Object.keys(settings.sqlite).length ===
      0
    ) {
      return;
    }
    const registry = new ConnectionRegistry(settings, {
      logger: this.logger.child({ plugin: CONNECTIONS_PLUGIN }),
      healthTimeoutMs: this.#loaded.config.plugin_manager.health_timeout * 1000,
    });
    await this.manager.register(createConnectionsPlugin(registry), { priority: 'CRITICAL' });
  }

  /** Every configured entry, then every discovered plugin file that no entry names. */
  #entries(loaded: LoadedConfig, discovered: Discovered): readonly ResolvedPluginEntry[] {
    return [...loaded.config.plugins, ...discovered.plugins.map((plugin) => plugin.entry)];
  }

  #preimported(name: string): ImportedEntry | undefined {
    return this.#discovered.plugins.find((plugin) => plugin.entry.name === name);
  }

  /** First start: import and register every entry; a bad one is recorded in ERROR, the rest load. */
  async #loadAll(): Promise<void> {
    for (const entry of this.#entries(this.#loaded, this.#discovered)) {
      try {
        const imported =
          this.#preimported(entry.name) ?? (await importEntry(entry, this.#loaded.file, this.#loaded.config.security));
        const checked = checkEntryConfig(imported, this.#loaded);
        if (!checked.ok) {
          await this.manager.registerFailed(imported.plugin, checked.error, imported.modulePath);
          // Kept for its report, never started: a sandboxed one's process ends now.
          await disposeIfSandboxed(imported.plugin);
          continue;
        }
        await this.manager.register(
          imported.plugin,
          { ...settingsOf(entry), config: checked.config },
          imported.modulePath,
        );
        this.#applied.set(entry.name, imported);
      } catch (error) {
        this.#reportEntryFailure(
          entry.name,
          toPlugboardError(error, 'PLUGIN_MODULE_LOAD_FAILED', { plugin: entry.name }),
        );
      }
    }
    for (const rejected of this.#loaded.rejectedPlugins) {
      const reason = rejected.issues.map(formatIssue).join('; ');
      this.#reportEntryFailure(rejected.name, new PlugboardError('CONFIG_INVALID', reason, { plugin: rejected.name }));
    }
    for (const problem of this.#discovered.problems) this.manager.reportLoadProblem(problem.path, problem.error);
  }

  #reportEntryFailure(name: string, error: PlugboardError): void {
    this.manager.reportLoadProblem(this.#loaded.file ?? '<config>', error, name);
  }

  /** The start-up log: discovery's findings, and whether hot reload is on and what it watches. */
  #logStart(): void {
    const manager = this.#loaded.config.plugin_manager;
    if (manager.discover) {
      this.logger.info(
        { operation: 'discover', folders: this.#discovered.folders, plugins: this.discovered },
        this.discovered.length === 0
          ? `discovery: no plugin file in ${this.#discovered.folders.join(', ')} that no entry names`
          : `discovery: loaded ${this.discovered.join(', ')} with default settings`,
      );
    }
    const watched = this.#watcher === undefined ? [] : this.#watchedPaths();
    this.logger.info(
      { operation: 'hot_reload', enabled: this.#watcher !== undefined, watching: watched },
      this.#watcher === undefined
        ? 'hot reload is off (plugin_manager.enable_hot_reload); reload with SIGHUP or POST /admin/reload'
        : `hot reload is on: watching ${watched.length} paths (the config file, plugin modules${this.#discovered.folders.length > 0 ? ', plugin folders' : ''})`,
    );
  }

  /** Reloads the file, and keeps what came of it in {@link lastReload}. */
  async #reload(): Promise<ReloadReport> {
    try {
      return await this.#reloadFile();
    } catch (error) {
      this.#lastReload = refusedReload(toPlugboardError(error, 'CONFIG_INVALID', {}));
      throw error;
    }
  }

  async #reloadFile(): Promise<ReloadReport> {
    const next = await loadConfig(this.options);
    const issues = next.issues.map(formatIssue);
    logIssues(this.logger, next);
    if (next.issues.some((issue) => issue.rule === 'empty')) {
      // A half-written save or `> config.yaml` is not "remove every plugin".
      const error = new PlugboardError('CONFIG_INVALID', `${next.file}: the configuration file is empty`);
      return this.#refuseAll(error, issues, next);
    }
    if (next.fatal || next.issues.some((issue) => issue.rule === 'syntax')) {
      return this.#refuseAll(configError(next), issues, next);
    }

    const refused: { plugin: string; error: PlugboardError }[] = [];
    for (const section of Object.keys(GLOBAL_SECTIONS) as (keyof typeof GLOBAL_SECTIONS)[]) {
      if (!isDeepStrictEqual(next.config[section], this.#loaded.config[section])) {
        refused.push({
          plugin: `(${section})`,
          error: new PlugboardError('CONFIG_INVALID', `changes to "${section}" take effect after a restart`),
        });
      }
    }
    const discovered = await discoverPlugins(
      { ...next, config: { ...next.config, plugin_manager: this.#loaded.config.plugin_manager } },
      this.#discovered,
    );

    const changes: PluginChange[] = [];
    const incoming = new Map<string, ImportedEntry>();
    const entries = this.#entries(next, discovered);
    const wanted = new Set(entries.map((entry) => entry.name));
    const status = this.manager.getPluginStatus().plugins;
    for (const entry of entries) {
      const preimported = discovered.plugins.find((plugin) => plugin.entry.name === entry.name);
      try {
        const change = await changeFor(
          entry,
          this.#applied.get(entry.name),
          next,
          Object.hasOwn(status, entry.name),
          preimported,
        );
        if (change === undefined) continue;
        changes.push(change.change);
        if (change.imported) incoming.set(entry.name, change.imported);
      } catch (error) {
        refused.push({
          plugin: entry.name,
          error: toPlugboardError(error, 'PLUGIN_MODULE_LOAD_FAILED', { plugin: entry.name }),
        });
      }
    }
    const rejected = new Map(next.rejectedPlugins.map((entry) => [entry.name, entry]));
    for (const name of this.#applied.keys()) {
      if (wanted.has(name)) continue;
      const invalid = rejected.get(name);
      if (invalid !== undefined) {
        // The entry is still there but now invalid: keep the running version.
        refused.push({
          plugin: name,
          error: new PlugboardError('CONFIG_INVALID', invalid.issues.map(formatIssue).join('; '), { plugin: name }),
        });
      } else {
        changes.push({ type: 'remove', name });
      }
    }
    for (const [name, invalid] of rejected) {
      if (!this.#applied.has(name)) {
        refused.push({
          plugin: name,
          error: new PlugboardError('CONFIG_INVALID', invalid.issues.map(formatIssue).join('; '), { plugin: name }),
        });
      }
    }

    const report = await this.manager.applyChanges(changes, refused);
    this.#record(report, changes, incoming, entries);
    this.#settleEntryRefusals(report, entries);
    this.#lastReload = lastReloadOf(report);
    for (const problem of discovered.problems) this.manager.reportLoadProblem(problem.path, problem.error);
    this.#discovered = discovered;
    // Keep the global sections that are in force, take the rest of the new file.
    this.#loaded = {
      ...next,
      config: {
        ...next.config,
        ...Object.fromEntries(
          Object.keys(GLOBAL_SECTIONS).map((section) => [
            section,
            this.#loaded.config[section as keyof typeof GLOBAL_SECTIONS],
          ]),
        ),
      },
    };
    this.#watcher?.add(this.#watchedPaths());
    for (const refusal of report.refused) {
      this.logger.warn(
        { operation: 'reload', plugin: refusal.plugin, error: refusal.error.code },
        refusal.error.message,
      );
    }
    this.logger.info(
      { operation: 'reload', applied: report.applied, refused: report.refused.length, version: report.snapshotVersion },
      'configuration reloaded',
    );
    return { ...report, issues };
  }

  /** Takes note of what a reload applied: the running modules and entries, the load problems left. */
  #record(
    report: ApplyReport,
    changes: readonly PluginChange[],
    incoming: ReadonlyMap<string, ImportedEntry>,
    entries: readonly ResolvedPluginEntry[],
  ): void {
    const refusedNames = new Set(report.refused.map((refusal) => refusal.plugin));
    // A plugin that is not running and could not be added shows in status as a load problem.
    for (const refusal of report.refused) {
      if (!refusal.plugin.startsWith('(') && !this.#applied.has(refusal.plugin)) {
        this.#reportEntryFailure(refusal.plugin, refusal.error);
      }
    }
    for (const change of changes) {
      const name =
        change.type === 'add'
          ? [...incoming.entries()].find(([, imported]) => imported.plugin === change.plugin)?.[0]
          : change.name;
      if (name === undefined || refusedNames.has(name)) continue;
      if (change.type === 'remove') this.#applied.delete(name);
      else if (change.type === 'update') {
        const entry = entries.find((candidate) => candidate.name === name)!;
        this.#applied.set(name, { ...this.#applied.get(name)!, entry });
      } else {
        this.#applied.set(name, incoming.get(name)!);
        this.manager.clearLoadProblem(name);
      }
    }
  }

  /**
   * A running plugin whose entry a reload refused shows that error as its lastError; once a
   * reload finds the entry valid — applied, or equal to what runs — the error is history.
   */
  #settleEntryRefusals(report: ApplyReport, entries: readonly ResolvedPluginEntry[]): void {
    const refused = new Map(report.refused.map((refusal) => [refusal.plugin, refusal.error]));
    for (const entry of entries) {
      const standing = this.#entryRefusals.get(entry.name);
      if (standing === undefined || refused.has(entry.name)) continue;
      this.manager.clearLastError(entry.name, standing);
      this.#entryRefusals.delete(entry.name);
    }
    for (const [plugin, error] of refused) {
      if (ENTRY_ERRORS.has(error.code) && this.#applied.has(plugin)) this.#entryRefusals.set(plugin, error);
    }
  }

  async #reloadPlugin(name: string): Promise<ApplyReport> {
    const entry = this.#entries(this.#loaded, this.#discovered).find((candidate) => candidate.name === name);
    if (entry === undefined) {
      const invalid = this.#loaded.rejectedPlugins.find((candidate) => candidate.name === name);
      if (invalid !== undefined) {
        throw new PlugboardError(
          'CONFIG_INVALID',
          `The entry of "${name}" in the configuration is invalid: ${invalid.issues.map(formatIssue).join('; ')}`,
          { plugin: name },
        );
      }
      const configured = this.#entries(this.#loaded, this.#discovered).map((candidate) => candidate.name);
      throw new PlugboardError(
        'PLUGIN_NOT_FOUND',
        `No plugin named "${name}" is configured; configured: ${configured.join(', ') || 'none'}`,
        { plugin: name },
      );
    }
    const loaded = Object.hasOwn(this.manager.getPluginStatus().plugins, name);
    let imported: Awaited<ReturnType<typeof importCheckedEntry>>;
    try {
      // The file may have become a symlink out of the plugin folders since the config was read.
      const outside = pluginFolderError(entry, this.#loaded, this.options.cwd);
      if (outside !== undefined) throw outside;
      imported = await importCheckedEntry(entry, this.#loaded);
    } catch (error) {
      const refusal = { plugin: name, error: toPlugboardError(error, 'PLUGIN_MODULE_LOAD_FAILED', { plugin: name }) };
      return this.#reportPluginReload(name, await this.manager.applyChanges([], [refusal]), loaded);
    }
    const change: PluginChange = loaded
      ? { type: 'replace', name, plugin: imported.plugin, settings: imported.settings, source: imported.modulePath }
      : { type: 'add', plugin: imported.plugin, settings: imported.settings, source: imported.modulePath };
    const report = await this.manager.applyChanges([change]);
    if (report.applied.includes(name)) {
      this.#applied.set(name, imported);
      this.manager.clearLoadProblem(name);
      this.#watcher?.add(this.#watchedPaths());
    }
    return this.#reportPluginReload(name, report, loaded);
  }

  #reportPluginReload(name: string, report: ApplyReport, loaded: boolean): ApplyReport {
    for (const refusal of report.refused) {
      // Not running at all and still not loadable: status shows it as a load problem.
      if (!loaded && !this.#applied.has(refusal.plugin)) this.#reportEntryFailure(refusal.plugin, refusal.error);
      this.logger.warn(
        { operation: 'reload_plugin', plugin: refusal.plugin, error: refusal.error.code },
        `plugin reload refused, the running version stays: ${refusal.error.message}`,
      );
    }
    if (report.applied.includes(name)) {
      this.logger.info(
        { operation: 'reload_plugin', plugin: name, version: report.snapshotVersion },
        'plugin reloaded',
      );
    }
    return report;
  }

  async #refuseAll(error: PlugboardError, issues: string[], loaded: LoadedConfig): Promise<ReloadReport> {
    this.#lastReload = refusedReload(error, loaded);
    this.logger.error(
      { operation: 'reload', error: error.code },
      `reload refused, the running configuration stays: ${error.message}`,
    );
    const refused = [{ plugin: '(config)', error }];
    await this.manager.hooks.execute('configReloaded', {
      version: this.manager.getPluginStatus().snapshotVersion,
      changed: [],
      refused: [{ reason: error.message }],
    });
    return { snapshotVersion: this.manager.getPluginStatus().snapshotVersion, applied: [], refused, issues };
  }
}
