import { readdirSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';

/*
 * The plugin-folder rule's paths (`plugin_manager.plugin_directories`): where a file really
 * is, symlinks resolved, and whether that is inside a folder. Loading the config checks every
 * `plugin_file`; a reload of one plugin checks its entry again (plugin-entries.ts).
 */

/**
 * realOrResolved for many files in few folders: each folder is resolved and listed once (to
 * know which of its entries are symbolic links, resolved in full); other files cost nothing more.
 */
export function realPathResolver(): (path: string) => string {
  const folders = new Map<string, { real: string; links: ReadonlySet<string> | undefined }>();
  return (path) => {
    const folder = dirname(path);
    let known = folders.get(folder);
    if (known === undefined) {
      let links: Set<string> | undefined;
      try {
        links = new Set(
          readdirSync(folder, { withFileTypes: true })
            .filter((entry) => entry.isSymbolicLink())
            .map((entry) => entry.name),
        );
      } catch {
        links = undefined; // not listable: resolve each file in full
      }
      known = { real: realOrResolved(folder), links };
      folders.set(folder, known);
    }
    const name = basename(path);
    if (known.links === undefined || known.links.has(name)) return realOrResolved(path);
    return join(known.real, name);
  };
}

/** The real path, symlinks resolved; for a path that does not exist yet, its nearest existing ancestor's. */
export function realOrResolved(path: string): string {
  try {
    // One realpath(3) call; fs.realpathSync would lstat every component of the path.
    return realpathSync.native(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(realOrResolved(parent), basename(path));
  }
}

/** True when `path` is `root` or inside it. */
export function isInside(path: string, root: string): boolean {
  const relation = relative(root, path);
  return relation === '' || (!relation.startsWith('..') && !isAbsolute(relation));
}
