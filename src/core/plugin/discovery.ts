import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** File names that mark a plugin module (FR-2.1): `*.plugin.ts`, `*.middleware.mjs` … */
export const PLUGIN_FILE_PATTERN = /\.(plugin|middleware)\.(ts|mts|js|mjs)$/;

/** A problem met while scanning, reported with the path (FR-2.4). */
export interface DiscoveryProblem {
  readonly path: string;
  readonly reason: string;
}

/** What a scan found. */
export interface DiscoveryResult {
  /** Absolute paths of plugin files, sorted for a stable load order. */
  readonly files: readonly string[];
  readonly problems: readonly DiscoveryProblem[];
}

const SKIPPED_DIRECTORIES = new Set(['node_modules', '.git']);

/**
 * Scans `directory` recursively (FR-2.2) for plugin files. Unreadable folders are reported,
 * not fatal; `node_modules` and hidden folders are skipped.
 */
export async function discoverPluginFiles(directory: string): Promise<DiscoveryResult> {
  const files: string[] = [];
  const problems: DiscoveryProblem[] = [];
  async function walk(folder: string): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      problems.push({ path: folder, reason: (error as NodeJS.ErrnoException).code ?? String(error) });
      return;
    }
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.') && !SKIPPED_DIRECTORIES.has(entry.name)) await walk(path);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && PLUGIN_FILE_PATTERN.test(entry.name)) {
        files.push(path);
      }
    }
  }
  await walk(resolve(directory));
  return { files: files.sort(), problems };
}
