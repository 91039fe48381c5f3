/*
 * The import policy of a sandboxed plugin: `allowed_imports` / `denied_imports` resolved into
 * rules (which Node modules and npm packages, which capabilities), and the check of one import
 * against them. Pure: no Node hooks here (import-guard.ts applies the rules inside the child).
 */
import { isAbsolute, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  builtinName,
  builtinRuleKeys,
  type ImportCapability,
  packageOfFile,
  packageRuleKeys,
  translateImportName,
} from './import-names.ts';

/**
 * What a sandboxed plugin is denied when nothing is configured. The permission model the child
 * runs under (no child processes, workers, addons, inspector, WASI; reads of listed folders
 * only) already blocks most of what these modules do — at the call, with ERR_ACCESS_DENIED. The
 * import denial says it earlier and by name (`"node:child_process" is denied by …`), and covers
 * what the permission model does not: `vm` (code from strings: `--disallow-code-generation-
 * from-strings` stops eval and new Function, not vm), `v8` (heap snapshots, flags at run time),
 * `repl`, `trace_events`.
 *
 * Not denied: `module`. It gives `createRequire`, whose require goes through the guard like any
 * other; its `register` (loader hooks) needs a worker thread, which the permission model denies;
 * and the Module class is reachable from every CommonJS module as `module.constructor` anyway,
 * so denying the import would take nothing away.
 *
 * `jiti` is denied: it is the loader the guard wraps, and a fresh instance of it imports modules
 * natively, around the guard. (Any package that loads modules by name on its caller's behalf
 * can do the same; only `allowed_imports` closes that — see import-guard.ts.)
 */
export const DEFAULT_SANDBOX_DENIED: readonly string[] = [
  'child_process',
  'cluster',
  'worker_threads',
  'vm',
  'inspector',
  'repl',
  'wasi',
  'v8',
  'trace_events',
  'jiti',
];

/** The bare specifier of Plugboard's own package (`import … from 'plugboard'`), always allowed. */
const PLUGBOARD_PACKAGE = 'plugboard';
/** jiti's virtual modules for Plugboard's shared entry points (see module-loader.ts). */
const PLUGBOARD_VIRTUAL = 'plugboard:';

/** How rules are resolved and named. */
export interface ImportRulesOptions {
  /**
   * Folders of Plugboard's own code (`<install>/src`, `<install>/dist`): a file in them may be
   * imported, and what it imports itself is not checked. Never a folder holding plugins, nor a
   * `node_modules` (packages are recognised by their folder; see {@link checkImport}).
   */
  readonly trustedRoots?: readonly string[];
  /** How messages name the allowed list (default `allowed_imports`). */
  readonly allowedLabel?: string;
  /** How messages name the denied list (default `denied_imports`; e.g. "the sandbox's default denied imports"). */
  readonly deniedLabel?: string;
}

/**
 * Resolved import rules. Keys are `node:<module>` for Node built-ins (`node:fs/promises`), the
 * bare name for npm packages (`zod`, `@scope/pkg`), and `capability:<name>` for capabilities.
 */
export interface ImportRules {
  /** What may be imported; undefined: anything not denied. */
  readonly allowed: ReadonlySet<string> | undefined;
  /** What may not be imported; wins over `allowed`. */
  readonly denied: ReadonlySet<string>;
  /**
   * Whether code may be made from strings (false when `eval`, `exec` or `compile` is denied, or
   * not allowed by an allowed list). The launcher passes `--disallow-code-generation-from-strings`
   * anyway; this says whether the configuration asked for it.
   */
  readonly codeGeneration: boolean;
  /** Whether the configuration lets the plugin use the network (false when e.g. `requests` or `socket` is denied). */
  readonly network: boolean;
  /** Whether native addons may be loaded (false when `ctypes` / `cffi` is denied or not allowed). */
  readonly nativeAddons: boolean;
  /** For each key, the configured name(s) that made its rule: `denied_imports ("subprocess")`. */
  readonly sources: ReadonlyMap<string, string>;
  /** Configured names that are no name of the table yet look like Python (`os.environ`) or no npm name: warn about them. */
  readonly unknown: readonly string[];
  /** {@link ImportRulesOptions.trustedRoots}, absolute, each ending in a path separator. */
  readonly trustedRoots: readonly string[];
  /** The allowed list as configured, for messages; undefined with no allowed list. */
  readonly allowedNames: readonly string[] | undefined;
  /** How messages name the allowed list ({@link ImportRulesOptions.allowedLabel}). */
  readonly allowedLabel: string;
}

/** The answer to one import. */
export type ImportCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const CAPABILITY_PREFIX = 'capability:';
const ALLOWED: ImportCheck = { ok: true };

/**
 * Resolves `allowed_imports` and `denied_imports` (spec names, Node names or npm package names;
 * see import-names.ts) into rules. An empty `allowed` list means no allowed list (the
 * configuration's default is `[]`): anything not denied may be imported.
 *
 * @example
 * ```ts
 * const rules = resolveImportRules(['asyncio', 'logging'], ['subprocess', 'eval'], { trustedRoots: ['/opt/plugboard/src'] });
 * rules.allowed; // Set { 'node:events', 'node:timers', 'node:timers/promises', 'node:console' }
 * rules.denied; // Set { 'node:child_process', 'node:vm', 'capability:code-generation' }
 * checkImport(rules, 'node:fs'); // { ok: false, reason: '"node:fs" is not allowed: allowed_imports lists only asyncio, logging' }
 * ```
 */
export function resolveImportRules(
  allowed: readonly string[],
  denied: readonly string[],
  options: ImportRulesOptions = {},
): ImportRules {
  const allowedLabel = options.allowedLabel ?? 'allowed_imports';
  const deniedLabel = options.deniedLabel ?? 'denied_imports';
  const unknown = new Set<string>();
  const collect = (names: readonly string[]): Map<string, string[]> => {
    const origins = new Map<string, string[]>();
    for (const configured of names) {
      const translated = translateImportName(configured);
      if (translated.kind === 'unknown') unknown.add(configured);
      const keys = [...translated.keys, ...translated.capabilities.map((capability) => CAPABILITY_PREFIX + capability)];
      for (const key of keys) origins.set(key, [...(origins.get(key) ?? []), configured]);
    }
    return origins;
  };
  const allowedOrigins = allowed.length === 0 ? undefined : collect(allowed);
  const deniedOrigins = collect(denied);

  const sources = new Map<string, string>();
  const describe = (label: string, names: string[]) =>
    `${label} (${names.map((name) => JSON.stringify(name)).join(', ')})`;
  for (const [key, names] of allowedOrigins ?? []) sources.set(key, describe(allowedLabel, names));
  // Denied wins, in the sources too: the message names the rule that decided.
  for (const [key, names] of deniedOrigins) sources.set(key, describe(deniedLabel, names));

  const allowedKeys = allowedOrigins === undefined ? undefined : new Set(allowedOrigins.keys());
  const deniedKeys = new Set(deniedOrigins.keys());
  const capable = (capability: ImportCapability): boolean =>
    !deniedKeys.has(CAPABILITY_PREFIX + capability) &&
    (allowedKeys === undefined || allowedKeys.has(CAPABILITY_PREFIX + capability));
  return {
    allowed: allowedKeys,
    denied: deniedKeys,
    codeGeneration: capable('code-generation'),
    network: capable('network'),
    nativeAddons: capable('native-addons'),
    sources,
    unknown: [...unknown],
    trustedRoots: (options.trustedRoots ?? []).map((root) => withSeparator(resolve(root))),
    allowedNames: allowedOrigins === undefined ? undefined : [...allowed],
    allowedLabel,
  };
}

/**
 * Whether a plugin may import `specifier` (as written, or as a loader hands it on: `node:fs`,
 * `fs`, `zod`, `@scope/pkg/sub`, `./helper.ts`, an absolute path, a `file:` or `data:` URL).
 *
 * Always allowed: files (relative, absolute, `file:` URLs; the permission model decides what
 * can be read), Plugboard's own entry points (`plugboard`, `plugboard/testing`, and jiti's
 * `plugboard:shared/…`), and anything imported by Plugboard's own code (`importer` under a
 * trusted root) or by a package (`importer` in a `node_modules` folder: a package the plugin was
 * allowed is checked once, by name, and not what it imports inside). Never allowed: `data:` and
 * other URLs (a `data:` module is code from a string, run by Node outside the import guard).
 * Otherwise denied wins over allowed, and with an allowed list only what it lists passes. A rule
 * on a module covers its subpaths (`fs` covers `fs/promises`; `lodash` covers `lodash/fp`).
 */
export function checkImport(rules: ImportRules, specifier: string, importer?: string): ImportCheck {
  if (importer !== undefined && isExemptImporter(rules, importer)) return ALLOWED;
  if (specifier.startsWith('data:')) {
    return {
      ok: false,
      reason: `"${abbreviate(specifier)}" is denied: a data: URL module is code from a string, which Node runs outside the import guard`,
    };
  }
  if (isFileSpecifier(specifier) || specifier.startsWith(PLUGBOARD_VIRTUAL)) return ALLOWED;
  const builtin = builtinName(specifier);
  if (builtin === undefined && /^[a-z][a-z0-9+.-]*:/i.test(specifier)) {
    return {
      ok: false,
      reason: `"${abbreviate(specifier)}" is denied: a sandboxed plugin imports files, Node modules and packages only`,
    };
  }
  if (builtin === undefined && (specifier === PLUGBOARD_PACKAGE || specifier.startsWith(`${PLUGBOARD_PACKAGE}/`)))
    return ALLOWED;
  const keys = builtin === undefined ? packageRuleKeys(specifier) : builtinRuleKeys(builtin);
  return checkKeys(rules, keys);
}

/** {@link checkImport} for a capability (`native-addons`, `code-generation`, `network`). */
export function checkCapability(rules: ImportRules, capability: ImportCapability): ImportCheck {
  return checkKeys(rules, [CAPABILITY_PREFIX + capability]);
}

function checkKeys(rules: ImportRules, keys: readonly string[]): ImportCheck {
  const shown = keys[0]!;
  const denying = keys.find((key) => rules.denied.has(key));
  if (denying !== undefined) {
    const by = rules.sources.get(denying) ?? 'the import policy';
    const via = denying === shown ? '' : ` (through "${denying}")`;
    return { ok: false, reason: `"${shown}" is denied by ${by}${via}` };
  }
  if (rules.allowed !== undefined && !keys.some((key) => rules.allowed!.has(key))) {
    const names = rules.allowedNames ?? [];
    return { ok: false, reason: `"${shown}" is not allowed: ${rules.allowedLabel} lists only ${names.join(', ')}` };
  }
  return ALLOWED;
}

/** Whether an importing file is Plugboard's own code or a package's (whose imports are not checked). */
export function isExemptImporter(rules: ImportRules, importer: string): boolean {
  const path = importer.startsWith('file:') ? safeFilePath(importer) : importer;
  if (path === undefined || !isAbsolute(path)) return false;
  return isTrustedFile(rules, path) || packageOfFile(path) !== undefined;
}

/** Whether an absolute path lies under one of the trusted roots (Plugboard's own code). */
export function isTrustedFile(rules: ImportRules, path: string): boolean {
  return rules.trustedRoots.some((root) => path.startsWith(root));
}

function isFileSpecifier(specifier: string): boolean {
  return (
    specifier.startsWith('./') ||
    specifier.startsWith('../') ||
    specifier === '.' ||
    specifier === '..' ||
    specifier.startsWith('file:') ||
    isAbsolute(specifier)
  );
}

function safeFilePath(url: string): string | undefined {
  try {
    return fileURLToPath(url);
  } catch {
    return undefined;
  }
}

function withSeparator(path: string): string {
  return path.endsWith(sep) ? path : path + sep;
}

/** A specifier short enough for a message (a data: URL can hold a whole program). */
function abbreviate(specifier: string): string {
  return specifier.length > 60 ? `${specifier.slice(0, 57)}…` : specifier;
}
