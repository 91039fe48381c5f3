import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Plugboard's installation folder (the one holding src/, dist/ and node_modules/). */
export const INSTALL_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The child's entry in the precompiled build, and the bootstrap that runs it from the sources. */
const BUILT_ENTRY = join(INSTALL_ROOT, 'dist', 'src', 'sandbox', 'child', 'child-main.js');
const SOURCE_ENTRY = join(INSTALL_ROOT, 'src', 'sandbox', 'child', 'source-entry.mjs');

/** How the child runs Plugboard's code: the build (fast start) or the sources through jiti (~3–5 s start). */
export interface ChildEntry {
  readonly path: string;
  readonly fromBuild: boolean;
  /** Why the build is not used, when it is not. */
  readonly reason?: string;
}

/**
 * The child's entry: the precompiled build when it matches the sources (npm's `prepare` makes it;
 * `npm run build` remakes it), else the TypeScript sources through jiti. tsx cannot run in the
 * child: its loader needs a worker thread, which the permission model forbids.
 */
export async function childEntry(): Promise<ChildEntry> {
  const manifest = join(INSTALL_ROOT, 'scripts', 'build-manifest.mjs');
  if (existsSync(BUILT_ENTRY) && existsSync(manifest)) {
    const { staleReason } = (await import(
      pathToFileURL(manifest).href
    )) as typeof import('../../scripts/build-manifest.mjs');
    const reason = staleReason();
    if (reason === undefined) return { path: BUILT_ENTRY, fromBuild: true };
    return { path: SOURCE_ENTRY, fromBuild: false, reason };
  }
  return { path: SOURCE_ENTRY, fromBuild: false, reason: 'no build (npm run build)' };
}

/** What the command line is made of. */
export interface LaunchSpec {
  readonly entry: ChildEntry;
  /** The permission flag this Node takes (`--experimental-permission` on 20, `--permission` on ≥ 22.13). */
  readonly permissionFlag: string;
  /** Wrapper argv before `node` (namespaces), or empty. */
  readonly wrapper: readonly string[];
  /** `cgroup.procs` files the process must join before it starts (written by a shell, then exec). */
  readonly cgroupProcs: readonly string[];
  /** Files and folders the plugin may read (its own folder, or only its file). */
  readonly pluginReadable: readonly string[];
  /** V8 old-space limit in MB. */
  readonly heapMb: number;
}

/**
 * The argv of a sandboxed plugin's process: `[sh -c 'join cgroups; exec …']` `[unshare …]` `node`
 * with the permission model on (reads of Plugboard's own code and the plugin's folder only; no
 * writes, child processes, workers, addons, WASI or inspector: Node denies what is not granted),
 * code generation from strings off (eval, new Function), a heap limit, and the child's entry.
 */
export function launchArgv(spec: LaunchSpec): string[] {
  const readable = [
    join(INSTALL_ROOT, 'node_modules') + sep,
    join(INSTALL_ROOT, 'package.json'),
    spec.entry.fromBuild ? join(INSTALL_ROOT, 'dist', 'src') + sep : join(INSTALL_ROOT, 'src') + sep,
    // Plugin files import Plugboard's sources (`../../src/index.ts`); the build shares its own
    // modules for them, but resolving the specifier still looks at the file.
    join(INSTALL_ROOT, 'src') + sep,
    ...spec.pluginReadable,
  ];
  const node = [
    process.execPath,
    spec.permissionFlag,
    ...[...new Set(readable)].map((path) => `--allow-fs-read=${path}`),
    '--disallow-code-generation-from-strings',
    // The permission model's "experimental" warning, printed at every start, is not news.
    '--disable-warning=ExperimentalWarning',
    `--max-old-space-size=${Math.max(16, Math.floor(spec.heapMb))}`,
    // Stack traces with the plugin's own lines (TypeScript through jiti, and the build's maps).
    '--enable-source-maps',
    spec.entry.path,
  ];
  const command = [...spec.wrapper, ...node];
  if (spec.cgroupProcs.length === 0) return command;
  // The shell joins the groups, then becomes the command: the plugin never runs outside them.
  const script = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 71; shift; n=$((n-1)); done; exec "$@"';
  return [
    '/bin/sh',
    '-c',
    script,
    'plugboard-sandbox',
    String(spec.cgroupProcs.length),
    ...spec.cgroupProcs,
    ...command,
  ];
}

/** The environment of a sandboxed plugin: none of the server's variables (its secrets among them). */
export function sandboxEnv(): Record<string, string> {
  return {
    PATH: '/usr/bin:/bin',
    NODE_ENV: process.env.NODE_ENV === 'production' ? 'production' : 'development',
    ...(process.env.TZ === undefined ? {} : { TZ: process.env.TZ }),
    LANG: 'C.UTF-8',
  };
}

/**
 * What the plugin may read: its own folder — unless that folder also holds the server's
 * configuration file (a plugin next to `config.yaml`), then only its own file.
 */
export function pluginReadable(modulePath: string, configFile: string | undefined): string[] {
  const folder = dirname(modulePath);
  // Also when the config sits deeper inside the plugin's folder: a folder grant covers everything below it.
  return configFile?.startsWith(folder + sep) ? [modulePath] : [folder + sep];
}
