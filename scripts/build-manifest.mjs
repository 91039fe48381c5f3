// The precompiled build of src/ (see scripts/build.mjs): where it is, which sources it was made
// from, and whether it still matches them. Shared by the build and by bin/plugboard.mjs, which
// runs the build only when it is current — so an edited source is never shadowed by a stale build.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (package) root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Where the build goes: dist/src/… mirrors src/…, one .js (and .js.map) per .ts. */
export const OUT_DIR = join(ROOT, 'dist');
/** Written last by the build; absent while a build runs. */
export const MANIFEST = join(OUT_DIR, 'build-manifest.json');
/** The module bin/plugboard.mjs imports from the build. */
export const BUILT_MAIN = join(OUT_DIR, 'src', 'cli', 'main.js');

/** Bump when the build's output changes shape, so older builds count as stale. */
const FORMAT = 2;

/** The sources the build compiles: every src/**\/*.ts but tests and declarations, as paths relative to ROOT. */
export function buildSources() {
  return readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.endsWith('.d.ts'))
    .map((file) => join('src', file))
    .sort();
}

/** src/ and every folder under it: a file added, removed or renamed changes its folder's mtime. */
function sourceFolders() {
  const folders = readdirSync(join(ROOT, 'src'), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => relative(ROOT, join(entry.parentPath ?? entry.path, entry.name)));
  return ['src', ...folders].sort();
}

/** Size and modification time of each path: what the manifest records and compares. */
function stampsOf(paths) {
  const stamps = {};
  for (const path of paths) {
    const stats = statSync(join(ROOT, path));
    stamps[path] = [stats.size, stats.mtimeMs];
  }
  return stamps;
}

/**
 * The state of the sources the build is made from: every source file and every folder of src/.
 * Take it before compiling, so that an edit during the build leaves the build stale.
 */
export function sourceStamps(sources = buildSources()) {
  return { files: stampsOf(sources), folders: stampsOf(sourceFolders()) };
}

/** The manifest the build writes. */
export function manifestFor(stamps) {
  // The root too: the build names its sources by absolute URL (import.meta.url), so a moved
  // checkout must build again.
  return { format: FORMAT, root: ROOT, node: process.versions.node, ...stamps };
}

/**
 * Why the build cannot be used (`undefined` when it can): missing, made by an older build
 * script or in another folder, or not made from the sources as they are now. Compares the
 * recorded size and mtime of every source file and of every folder of src/ (a file added or
 * removed changes its folder's mtime) with a `stat` each: ~2 ms, no directory walk.
 */
export function staleReason() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
  } catch {
    return 'no build (npm run build)';
  }
  if (manifest?.format !== FORMAT || typeof manifest.files !== 'object' || typeof manifest.folders !== 'object') {
    return 'built by an older build script';
  }
  if (manifest.root !== ROOT) return `built in another folder (${manifest.root})`;
  for (const [path, [size, mtimeMs]] of [...Object.entries(manifest.folders), ...Object.entries(manifest.files)]) {
    const stats = statSync(join(ROOT, path), { throwIfNoEntry: false });
    if (stats === undefined) return `${path} was removed since the build`;
    // A folder's size is its entries' space: it changes with them, like its mtime.
    if (stats.mtimeMs !== mtimeMs || stats.size !== size) return `${path} changed since the build`;
  }
  return undefined;
}
