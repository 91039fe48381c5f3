import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { PlugboardError } from '../core/errors/plugboard-error.ts';
import type { AnyPlugin } from '../core/plugin/kinds.ts';
import type { BackendSettings, PluginSettings } from '../core/plugin/metadata.ts';
import { loadPluginModule } from '../core/plugin/module-loader.ts';
import { checkPluginStructure } from '../core/plugin/structure-check.ts';
import type { JsonValue } from '../core/stores/json.ts';
import { disposeIfSandboxed } from '../sandbox/dispose.ts';
import type { SandboxOptions } from '../sandbox/sandbox-options.ts';
import { formatIssue, valueAt } from './config-issue.ts';
import { pathKey } from './env-substitution.ts';
import { coerce, type LoadedConfig, setAt } from './load-config.ts';
import { isInside, realOrResolved } from './plugin-folders.ts';
import { type SandboxingConfig, sandboxOptionsFor } from './sandbox-entry.ts';
import { type ResolvedPluginEntry, SECTION_KIND } from './schema.ts';

/** A configured plugin, imported and checked against its entry. */
export interface ImportedEntry {
  readonly entry: ResolvedPluginEntry;
  readonly plugin: unknown;
  /** The module file, for watching and change detection. */
  readonly modulePath: string;
  /** Hash of the module file's content when it was imported. */
  readonly moduleHash: string;
}

/** The manager settings an entry gives (seconds → milliseconds). */
export function settingsOf(entry: ResolvedPluginEntry): PluginSettings {
  return {
    enabled: entry.enabled,
    config: entry.config,
    ...(entry.priority === undefined ? {} : { priority: entry.priority }),
    ...(entry.failure_policy === undefined ? {} : { failurePolicy: entry.failure_policy }),
    ...(entry.timeout === undefined ? {} : { timeoutMs: entry.timeout * 1000 }),
    ...(entry.services === undefined ? {} : { services: entry.services }),
    ...(entry.section === 'backends' ? backendSettingsOf(entry) : {}),
  };
}

/** A backend entry's retries, fallback and bulkhead, when it sets any. */
function backendSettingsOf(entry: ResolvedPluginEntry): { backend?: BackendSettings } {
  const backend: BackendSettings = {
    ...(entry.fallback === undefined ? {} : { fallback: entry.fallback }),
    ...(entry.retries === undefined ? {} : { retries: entry.retries }),
    ...(entry.retry_delay === undefined ? {} : { retryDelayMs: entry.retry_delay * 1000 }),
    ...(entry.max_concurrent === undefined ? {} : { maxConcurrent: entry.max_concurrent }),
    ...(entry.max_queued === undefined ? {} : { maxQueued: entry.max_queued }),
  };
  return Object.keys(backend).length === 0 ? {} : { backend };
}

/** Where an entry's module is: its plugin_file, or its package resolved from the config file's folder. */
export function modulePathOf(entry: ResolvedPluginEntry, configFile: string | undefined): string {
  if (entry.resolvedPath !== undefined) return entry.resolvedPath;
  const from = createRequire(configFile ?? `${process.cwd()}/`);
  try {
    return from.resolve(entry.package!);
  } catch (error) {
    throw new PlugboardError(
      'PLUGIN_MODULE_LOAD_FAILED',
      `${entry.section}.${entry.name}: cannot find package "${entry.package}" (install it with npm, next to the config file)`,
      { plugin: entry.name, cause: error },
    );
  }
}

/**
 * The plugin-folder rule (`plugin_manager.plugin_directories`) checked again for one entry,
 * now: its `plugin_file`, symlinks resolved, must be inside one of the folders. Loading the
 * file does this check (load-config.ts); a reload of one plugin that takes the entry loaded
 * earlier must redo it, since the file may have become a symlink to elsewhere since. Entries
 * without a `plugin_file` (packages, built-ins, discovered files) are not concerned.
 *
 * @param cwd the folder relative paths start from when no configuration file was read.
 * @returns the `CONFIG_INVALID` error a reload reports for it, or undefined when the file is inside.
 */
export function pluginFolderError(
  entry: ResolvedPluginEntry,
  loaded: LoadedConfig,
  cwd: string = process.cwd(),
): PlugboardError | undefined {
  if (entry.origin !== 'file' || entry.plugin_file === undefined) return undefined;
  const base = loaded.file === undefined ? resolve(cwd) : dirname(loaded.file);
  const directories = loaded.config.plugin_manager.plugin_directories;
  const real = realOrResolved(resolve(base, entry.plugin_file));
  const inside = directories.some((directory) => isInside(real, realOrResolved(resolve(base, directory))));
  if (inside) return undefined;
  const path = [entry.section, entry.name, 'plugin_file'];
  const issue = formatIssue({
    severity: 'error',
    file: loaded.file,
    ...loaded.locate(path),
    path: path.join('.'),
    message: `path ${entry.plugin_file} leaves the allowed plugin folders (${directories.join(', ')}); move the plugin or add its folder to plugin_manager.plugin_directories`,
    plugin: entry.name,
  });
  return new PlugboardError('CONFIG_INVALID', issue, { plugin: entry.name });
}

/**
 * Imports an entry's module and checks that it is the plugin the entry says: the same
 * name as its key, and of the kind its section holds (a `backends` entry must be a backend).
 */
export async function importEntry(
  entry: ResolvedPluginEntry,
  configFile: string | undefined,
  security?: SandboxingConfig,
): Promise<ImportedEntry> {
  const modulePath = modulePathOf(entry, configFile);
  const moduleHash = await hashFile(modulePath);
  const plugin = await loadEntryModule(entry, modulePath, configFile, security);
  try {
    checkEntryPlugin(entry, plugin, modulePath);
  } catch (error) {
    await disposeIfSandboxed(plugin); // a sandboxed one's process must not outlive the refusal
    throw error;
  }
  return { entry, plugin, modulePath, moduleHash };
}

/** Checks that a loaded plugin is the one its entry names, of the kind its section holds. */
function checkEntryPlugin(entry: ResolvedPluginEntry, plugin: unknown, modulePath: string): void {
  const shape = checkPluginStructure(plugin, modulePath);
  if (shape.plugin.metadata.name !== entry.name) {
    throw new PlugboardError(
      'CONFIG_INVALID',
      `${entry.section}.${entry.name}: ${modulePath} holds the plugin "${shape.plugin.metadata.name}"; name the entry "${shape.plugin.metadata.name}"`,
      { plugin: entry.name },
    );
  }
  const kind = SECTION_KIND[entry.section];
  // Plugins of no kind — hooks-only observers, service providers — live under middleware or features.
  const kindless = shape.kinds.size === 0 && (entry.section === 'middleware' || entry.section === 'features');
  if (!shape.kinds.has(kind) && !kindless) {
    const what =
      [...shape.kinds].join(' and ') ||
      ((shape.plugin.metadata.provides ?? []).length > 0 ? 'service provider' : 'hooks-only plugin');
    throw new PlugboardError(
      'CONFIG_INVALID',
      `${entry.section}.${entry.name}: the plugin is a ${what}, not a ${kind}; move it to the right section`,
      { plugin: entry.name },
    );
  }
}

/**
 * Loads an entry's module: in the server's process, or — when the entry (or
 * `security.plugin_sandboxing`) says so — in its own sandboxed process, the runtime getting a
 * proxy of it (see src/sandbox/).
 */
export async function loadEntryModule(
  entry: Pick<ResolvedPluginEntry, 'sandbox' | 'trusted' | 'origin' | 'config'>,
  modulePath: string,
  configFile: string | undefined,
  security: SandboxingConfig | undefined,
): Promise<unknown> {
  const sandbox = sandboxOptionsFor(entry, modulePath, configFile, security);
  if (sandbox === undefined) return loadPluginModule(modulePath);
  return loadSandboxed(sandbox, entry.config as JsonValue);
}

/** Starts a sandboxed plugin (the sandbox's modules load only when a plugin is sandboxed). */
async function loadSandboxed(options: SandboxOptions, config: JsonValue): Promise<unknown> {
  const [{ loadSandboxedPlugin, loadOwnServiceRefs }, { createDefaultLogger }] = await Promise.all([
    import('../sandbox/sandboxed-plugin.ts'),
    import('../core/logger.ts'),
  ]);
  await loadOwnServiceRefs();
  return loadSandboxedPlugin(options, createDefaultLogger(), config);
}

/** SHA-1 of a file's content ('' when unreadable), to tell whether a plugin's code changed. */
export async function hashFile(path: string): Promise<string> {
  try {
    return createHash('sha1')
      .update(await readFile(path))
      .digest('hex');
  } catch {
    return '';
  }
}

/** The outcome of checking an entry's `config` against its plugin's schema. */
export type EntryConfigCheck =
  | { readonly ok: true; readonly config: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly error: PlugboardError };

/**
 * Validates an entry's `config` against the schema its plugin declares (FR-12.4), here rather
 * than in the manager so that each issue can name its line in the file. Values that came whole
 * from `${VAR}` are coerced to the number or boolean the schema wants, as everywhere else;
 * the returned `config` carries those coercions.
 */
export function checkEntryConfig(imported: ImportedEntry, loaded: LoadedConfig): EntryConfigCheck {
  const { section, name } = imported.entry;
  let config: Record<string, unknown> = { ...imported.entry.config };
  const schema = (imported.plugin as AnyPlugin).metadata.configSchema;
  if (schema === undefined) return { ok: true, config };
  const keysOf = (issue: StandardSchemaV1.Issue) =>
    (issue.path ?? []).map((segment) => (typeof segment === 'object' ? segment.key : segment)) as (string | number)[];
  for (let attempt = 0; attempt < 20; attempt++) {
    const outcome = schema['~standard'].validate(config);
    if (outcome instanceof Promise || outcome.issues === undefined) return { ok: true, config };
    let changed = false;
    for (const issue of outcome.issues) {
      const keys = keysOf(issue);
      if (!loaded.coercible.has(pathKey([section, name, 'config', ...keys]))) continue;
      const current = valueAt(config, keys);
      if (typeof current !== 'string') continue;
      const coerced = coerce(current, 'number') ?? coerce(current, 'boolean');
      if (coerced === undefined) continue;
      config = setAt(config, keys, coerced) as Record<string, unknown>;
      changed = true;
    }
    if (changed) continue;
    const issues = outcome.issues.flatMap((issue) => {
      const path = [section, name, 'config', ...keysOf(issue)];
      // An unknown key (zod's unrecognized_keys lists them) is located at the key itself.
      const unknownKeys = (issue as { keys?: unknown }).keys;
      const located: [(string | number)[], boolean][] = Array.isArray(unknownKeys)
        ? unknownKeys.map((key) => [[...path, String(key)], true])
        : [[path, false]];
      return located.map(([where, key]) =>
        formatIssue({
          severity: 'error',
          file: loaded.file,
          ...loaded.locate(where, key),
          path: where.join('.'),
          message: issue.message,
          plugin: name,
        }),
      );
    });
    return {
      ok: false,
      error: new PlugboardError(
        'PLUGIN_CONFIG_INVALID',
        `Plugin "${name}" has invalid config:\n  ${issues.join('\n  ')}`,
        {
          plugin: name,
          details: { issues },
        },
      ),
    };
  }
  return { ok: true, config };
}
