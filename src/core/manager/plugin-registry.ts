import { duplicateName, pluginNotFound, unreadableFolder } from '../errors/core-errors.ts';
import { describeCause, PlugboardError, toPlugboardError } from '../errors/plugboard-error.ts';
import type { CallObserver } from '../execution/call-observer.ts';
import type { CircuitBreakerOptions } from '../execution/circuit-breaker.ts';
import type { Logger } from '../logger.ts';
import { discoverPluginFiles } from '../plugin/discovery.ts';
import type { FailurePolicy, PluginConfig, PluginMetadata, PluginSettings } from '../plugin/metadata.ts';
import { loadPluginModule } from '../plugin/module-loader.ts';
import { PluginRecord } from '../plugin/plugin-record.ts';
import type { Priority } from '../plugin/priority.ts';
import { checkPluginStructure, type PluginShape } from '../plugin/structure-check.ts';
import { deepFreeze } from '../util/deep-freeze.ts';

/** A problem loading one plugin file, kept for status reports. */
export interface LoadProblem {
  readonly path: string;
  /** The plugin's name, when known (e.g. from its config entry). */
  readonly plugin?: string;
  readonly error: PlugboardError;
}

/** The manager's defaults that a plugin's resolved configuration falls back on. */
export interface RecordDefaults {
  readonly defaultTimeoutMs: number;
  readonly defaultHookTimeoutMs: number;
  readonly defaultPriority: Priority;
  readonly defaultFailurePolicy: FailurePolicy;
  readonly circuitBreaker: CircuitBreakerOptions;
}

/**
 * The loaded plugins of a manager, by name, and the files that could not be loaded. Builds
 * records: checks a value's structure, resolves its configuration from settings, metadata and
 * the manager's defaults, and validates its `config` against its schema.
 */
export class PluginRegistry {
  readonly #records = new Map<string, PluginRecord>();
  readonly #loadProblems: LoadProblem[] = [];
  #loadSequence = 0;

  constructor(
    private readonly defaults: RecordDefaults,
    private readonly logger: Logger,
    private readonly observer: () => CallObserver | undefined,
  ) {}

  get(name: string): PluginRecord | undefined {
    return this.#records.get(name);
  }

  has(name: string): boolean {
    return this.#records.has(name);
  }

  /** Every record, in load order. */
  values(): PluginRecord[] {
    return [...this.#records.values()];
  }

  names(): string[] {
    return [...this.#records.keys()];
  }

  /** @throws PlugboardError `PLUGIN_NOT_FOUND` naming what is loaded. */
  require(name: string): PluginRecord {
    const record = this.#records.get(name);
    if (record === undefined) throw pluginNotFound(name, this.names());
    return record;
  }

  /** Puts a record under its name (replacing another instance of the same plugin). */
  set(record: PluginRecord): void {
    this.#records.set(record.name, record);
  }

  delete(name: string): void {
    this.#records.delete(name);
  }

  /** The position a new plugin takes among equal priorities. */
  nextLoadOrder(): number {
    return this.#loadSequence++;
  }

  /**
   * Checks a plugin value and adds it in LOADED (or in ERROR when its config is invalid).
   * @throws PlugboardError `PLUGIN_INVALID_STRUCTURE`, `PLUGIN_DUPLICATE_NAME`.
   */
  add(value: unknown, settings: PluginSettings, source: string | undefined, checkConfig = true): PluginRecord {
    const shape = checkPluginStructure(value, source);
    const existing = this.#records.get(shape.plugin.metadata.name);
    if (existing !== undefined) throw duplicateName(shape.plugin.metadata.name, source, existing.source);
    const record = this.create(shape, settings, source, this.nextLoadOrder(), checkConfig);
    this.#records.set(record.name, record);
    return record;
  }

  /** A new record in LOADED (or ERROR, when its config is invalid); not yet part of the registry. */
  create(
    shape: PluginShape,
    settings: PluginSettings,
    source: string | undefined,
    loadOrder: number,
    checkConfig = true,
  ): PluginRecord {
    const metadata = shape.plugin.metadata;
    const record = new PluginRecord(
      shape.plugin,
      shape.kinds,
      shape.hookMethods,
      this.resolveConfig(metadata, settings),
      settings,
      source,
      loadOrder,
      this.defaults.circuitBreaker,
      this.logger,
    );
    record.observer = this.observer();
    record.states.moveTo('LOADING', source ? `loading ${source}` : 'registering');
    const configError = checkConfig ? validateConfig(record, settings.config) : undefined;
    if (configError !== undefined) this.fail(record, configError);
    else record.states.moveTo('LOADED', 'module loaded and structure valid');
    this.logger.info(
      { plugin: record.name, operation: 'load', success: configError === undefined, file: source },
      'plugin loaded',
    );
    return record;
  }

  /**
   * Settings given, else the plugin's metadata, else the manager's defaults. A fail-closed
   * plugin (auth, redaction) configured to fail open gets a warning: that choice lets requests
   * through unchecked when the plugin breaks.
   */
  resolveConfig(metadata: PluginMetadata, settings: PluginSettings): PluginConfig {
    const failurePolicy = settings.failurePolicy ?? metadata.failurePolicy ?? this.defaults.defaultFailurePolicy;
    if (metadata.failurePolicy === 'closed' && failurePolicy === 'open') {
      this.logger.warn(
        { plugin: metadata.name, operation: 'load', failure_policy: 'open' },
        `plugin "${metadata.name}" declares itself fail-closed, but its configuration makes it fail open: when it fails, requests pass unchecked`,
      );
    }
    return Object.freeze({
      enabled: settings.enabled ?? true,
      priority: settings.priority ?? metadata.priority ?? this.defaults.defaultPriority,
      config: deepFreeze(settings.config ?? {}),
      timeoutMs: settings.timeoutMs ?? metadata.timeoutMs ?? this.defaults.defaultTimeoutMs,
      // A plugin's own timeout covers its hooks too; otherwise hooks have their own default.
      hookTimeoutMs: settings.timeoutMs ?? metadata.timeoutMs ?? this.defaults.defaultHookTimeoutMs,
      failurePolicy,
      backend: Object.freeze({
        ...(settings.backend?.fallback === undefined ? {} : { fallback: settings.backend.fallback }),
        retries: settings.backend?.retries ?? 0,
        retryDelayMs: settings.backend?.retryDelayMs ?? 500,
        ...(settings.backend?.maxConcurrent === undefined ? {} : { maxConcurrent: settings.backend.maxConcurrent }),
        maxQueued: settings.backend?.maxQueued ?? 100,
      }),
    });
  }

  /** Puts a record in ERROR with the reason, and logs it. */
  fail(record: PluginRecord, error: PlugboardError): void {
    record.lastError = error;
    record.states.moveTo('ERROR', error.message);
    record.logger.error(
      { operation: 'start', success: false, error: error.code, cause: describeCause(error) },
      error.message,
    );
  }

  /**
   * Discovers plugin files under `directory` (FR-2) and adds them all; one bad file never
   * stops the others: its problem is reported with the file. Returns the names added.
   */
  async addFromDirectory(
    directory: string,
    settingsByName: Readonly<Record<string, PluginSettings>>,
  ): Promise<string[]> {
    const { files, problems } = await discoverPluginFiles(directory);
    for (const problem of problems) {
      this.reportLoadProblem(problem.path, unreadableFolder(problem.path, problem.reason));
    }
    const names: string[] = [];
    for (const file of files) {
      try {
        const value = await loadPluginModule(file);
        const name = (value as { metadata?: { name?: unknown } } | null)?.metadata?.name;
        names.push(this.add(value, (typeof name === 'string' && settingsByName[name]) || {}, file).name);
      } catch (error) {
        this.reportLoadProblem(file, toPlugboardError(error, 'PLUGIN_MODULE_LOAD_FAILED', { details: { file } }));
      }
    }
    return names;
  }

  /** Files (or entries) that could not be loaded at all. */
  get loadProblems(): readonly LoadProblem[] {
    return this.#loadProblems;
  }

  /**
   * Records a plugin that could not be loaded at all (its file, its config entry). A newer
   * problem of the same plugin (or, unnamed, the same file) replaces the older one.
   */
  reportLoadProblem(path: string, error: PlugboardError, plugin?: string): void {
    const same = this.#loadProblems.findIndex((problem) =>
      plugin === undefined ? problem.plugin === undefined && problem.path === path : problem.plugin === plugin,
    );
    if (same >= 0) this.#loadProblems.splice(same, 1);
    this.#loadProblems.push({ path, error, ...(plugin === undefined ? {} : { plugin }) });
    this.logger.error({ operation: 'load', file: path, success: false, error: error.code }, error.message);
  }

  /** Forgets the load problem of a plugin that has since loaded. */
  clearLoadProblem(plugin: string): void {
    const index = this.#loadProblems.findIndex((problem) => problem.plugin === plugin);
    if (index >= 0) this.#loadProblems.splice(index, 1);
  }
}

/** Validates `raw` against the plugin's config schema and keeps what the schema produced. */
function validateConfig(record: PluginRecord, raw: unknown): PlugboardError | undefined {
  const schema = record.plugin.metadata.configSchema;
  if (schema === undefined) return undefined;
  const outcome = schema['~standard'].validate(raw ?? {});
  if (outcome instanceof Promise) {
    return new PlugboardError(
      'PLUGIN_CONFIG_INVALID',
      `Plugin "${record.name}": asynchronous config schemas are not supported`,
      { plugin: record.name },
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
      { plugin: record.name, details: { issues } },
    );
  }
  // Keep what the schema produced (defaults applied, values coerced), frozen.
  record.config = Object.freeze({ ...record.config, config: deepFreeze(outcome.value) });
  return undefined;
}
