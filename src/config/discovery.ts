import { dirname, resolve } from 'node:path';
import { unreadableFolder } from '../core/errors/core-errors.ts';
import { type PlugboardError, toPlugboardError } from '../core/errors/plugboard-error.ts';
import { discoverPluginFiles } from '../core/plugin/discovery.ts';
import type { PluginKind } from '../core/plugin/metadata.ts';
import { checkPluginStructure } from '../core/plugin/structure-check.ts';
import { disposeIfSandboxed } from '../sandbox/dispose.ts';
import { isBuiltinModule } from './builtin-plugins.ts';
import type { LoadedConfig } from './load-config.ts';
import { hashFile, type ImportedEntry, loadEntryModule } from './plugin-entries.ts';
import type { PluginSection, ResolvedPluginEntry } from './schema.ts';

/** A file discovery could not use, and why (shown in GET /plugins as a load problem). */
export interface DiscoveryProblem {
  readonly path: string;
  readonly error: PlugboardError;
}

/** What a discovery pass found. */
export interface Discovered {
  /** Plugins to load with default settings, imported. */
  readonly plugins: readonly ImportedEntry[];
  readonly problems: readonly DiscoveryProblem[];
  /** The folders scanned (for the watcher and the start-up log). */
  readonly folders: readonly string[];
}

/**
 * Finds the plugins of FR-2 discovery (`plugin_manager.discover`): every `*.plugin.*` and
 * `*.middleware.*` file in `plugin_directories` that no entry names, each to be loaded with
 * default settings in the section its kind calls for. An entry — valid or not — always
 * owns its plugin: a file whose plugin has an entry is left to it, so an entry rejected for
 * its config is never loaded behind its back with defaults. First-party plugin files are
 * loaded only by an entry that names them.
 *
 * Files are imported to learn their plugin's name; `previous` (the last pass) spares the
 * import of a file whose content has not changed.
 */
export async function discoverPlugins(loaded: LoadedConfig, previous?: Discovered): Promise<Discovered> {
  const manager = loaded.config.plugin_manager;
  const base = loaded.file === undefined ? process.cwd() : dirname(loaded.file);
  const folders = manager.plugin_directories.map((folder) => resolve(base, folder));
  if (!manager.discover) return { plugins: [], problems: [], folders: [] };
  const named = new Set([
    ...loaded.config.plugins.map((entry) => entry.name),
    ...loaded.rejectedPlugins.map((entry) => entry.name),
  ]);
  const claimed = new Set(loaded.config.plugins.flatMap((entry) => entry.resolvedPath ?? []));
  const known = new Map((previous?.plugins ?? []).map((plugin) => [plugin.modulePath, plugin]));
  const plugins: ImportedEntry[] = [];
  const problems: DiscoveryProblem[] = [];
  const seen = new Set<string>();
  for (const folder of folders) {
    const scan = await discoverPluginFiles(folder);
    for (const problem of scan.problems) {
      problems.push({ path: problem.path, error: unreadableFolder(problem.path, problem.reason) });
    }
    for (const file of scan.files) {
      if (seen.has(file) || claimed.has(file) || isBuiltinModule(file)) continue;
      seen.add(file);
      try {
        const imported = await importDiscovered(file, known.get(file), loaded);
        if (named.has(imported.entry.name)) {
          // An entry names this plugin: the entry's import wins, and a sandboxed process of this one ends.
          if (imported !== known.get(file)) await disposeIfSandboxed(imported.plugin);
          continue;
        }
        plugins.push(imported);
      } catch (error) {
        problems.push({
          path: file,
          error: toPlugboardError(error, 'PLUGIN_MODULE_LOAD_FAILED', { details: { file } }),
        });
      }
    }
  }
  return { plugins, problems, folders };
}

async function importDiscovered(
  file: string,
  before: ImportedEntry | undefined,
  loaded: LoadedConfig,
): Promise<ImportedEntry> {
  const moduleHash = await hashFile(file);
  if (before !== undefined && before.moduleHash === moduleHash) return before;
  // A discovered file has no entry: it is sandboxed when security.plugin_sandboxing.enabled says so.
  const plugin = await loadEntryModule({ origin: 'discovered', config: {} }, file, loaded.file, loaded.config.security);
  const shape = checkPluginStructure(plugin, file);
  const entry: ResolvedPluginEntry = {
    name: shape.plugin.metadata.name,
    section: sectionFor(shape.kinds),
    enabled: true,
    config: {},
    resolvedPath: file,
    origin: 'discovered',
  };
  return { entry, plugin, modulePath: file, moduleHash };
}

/** The section a plugin of these kinds belongs in (a hooks-only or services-only plugin: middleware). */
function sectionFor(kinds: ReadonlySet<PluginKind>): PluginSection {
  if (kinds.has('backend-provider')) return 'backends';
  if (kinds.has('message-processor')) return 'message_processors';
  if (kinds.has('feature-extension')) return 'features';
  return 'middleware';
}
