import { isDeepStrictEqual } from 'node:util';
import type { PluginChange } from '../core/manager/plugin-change.ts';
import type { PluginSettings } from '../core/plugin/metadata.ts';
import { disposeIfSandboxed } from '../sandbox/dispose.ts';
import type { LoadedConfig } from './load-config.ts';
import {
  checkEntryConfig,
  hashFile,
  type ImportedEntry,
  importEntry,
  modulePathOf,
  settingsOf,
} from './plugin-entries.ts';
import type { ResolvedPluginEntry } from './schema.ts';

/** An imported entry with the manager settings its config checked into. */
export type CheckedEntry = ImportedEntry & { readonly settings: PluginSettings };

/**
 * Imports an entry's module fresh (or takes the import discovery already made) and checks
 * its config against the plugin's schema.
 * @throws PlugboardError when the module cannot be imported or its config is invalid.
 */
export async function importCheckedEntry(
  entry: ResolvedPluginEntry,
  loaded: LoadedConfig,
  preimported?: ImportedEntry,
): Promise<CheckedEntry> {
  const imported = preimported ?? (await importEntry(entry, loaded.file, loaded.config.security));
  const checked = checkEntryConfig(imported, loaded);
  if (!checked.ok) {
    if (preimported === undefined) await disposeIfSandboxed(imported.plugin);
    throw checked.error;
  }
  return { ...imported, settings: { ...settingsOf(entry), config: checked.config } };
}

/** What brings one plugin from what runs to what the file says now. */
export interface EntryChange {
  readonly change: PluginChange;
  /** The module imported for it (for add and replace). */
  readonly imported?: CheckedEntry;
}

/**
 * The change that brings a plugin from its applied state (`current`) to `entry`, if any:
 * - not running yet: add it (or replace the instance kept in ERROR since start, `registered`);
 * - new code (module path or content) or new plugin config or other service providers: a
 *   fresh instance replaces it;
 * - only priority, timeout, failure policy, enabled or backend settings: an update of the
 *   running instance.
 * Values are compared deeply, so reordered keys are no change.
 */
export async function changeFor(
  entry: ResolvedPluginEntry,
  current: ImportedEntry | undefined,
  next: LoadedConfig,
  registered: boolean,
  preimported?: ImportedEntry,
): Promise<EntryChange | undefined> {
  if (current === undefined) {
    const imported = await importCheckedEntry(entry, next, preimported);
    return {
      change: registered
        ? {
            type: 'replace',
            name: entry.name,
            plugin: imported.plugin,
            settings: imported.settings,
            source: imported.modulePath,
          }
        : { type: 'add', plugin: imported.plugin, settings: imported.settings, source: imported.modulePath },
      imported,
    };
  }
  const modulePath = preimported?.modulePath ?? modulePathOf(entry, next.file);
  const moduleHash = preimported?.moduleHash ?? (await hashFile(modulePath));
  const codeChanged = modulePath !== current.modulePath || moduleHash !== current.moduleHash;
  const configChanged = !isDeepStrictEqual(entry.config, current.entry.config);
  const providersChanged = !isDeepStrictEqual(entry.services ?? {}, current.entry.services ?? {});
  if (codeChanged || configChanged || providersChanged) {
    const imported = await importCheckedEntry(entry, next, codeChanged ? preimported : undefined);
    return {
      change: {
        type: 'replace',
        name: entry.name,
        plugin: imported.plugin,
        settings: imported.settings,
        source: imported.modulePath,
      },
      imported,
    };
  }
  if (!isDeepStrictEqual(settingsOf(entry), settingsOf(current.entry))) {
    return { change: { type: 'update', name: entry.name, settings: settingsOf(entry) } };
  }
  return undefined;
}
