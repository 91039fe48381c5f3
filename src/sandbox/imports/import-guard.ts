/*
 * The import guard: enforces a sandboxed plugin's import rules (import-policy.ts) inside its
 * child process. Installed once, after the runtime has loaded and before the plugin file is
 * loaded — `installImportGuard(rules)`, then `loadPluginModule(file, { importGuard })`.
 *
 * Where imports are seen:
 * - jiti (src/core/plugin/module-loader.ts): every module a plugin's code imports goes through
 *   jiti's `import()` / `require`. jiti transpiles TypeScript and ESM itself (a static `import`
 *   becomes `await jitiImport(…)`, a dynamic `import()` becomes `jitiImport(…)`), and hands
 *   built-ins, `data:` URLs, packages and plain JavaScript files to Node's own loader. The
 *   guarded loader calls {@link ImportGuard.beforeNativeLoad} before each such hand-over and
 *   {@link ImportGuard.beforeTranspile} before each file it transpiles. A plugin's own `.mjs`,
 *   `.cjs` and `.js` files are never loaded by Node (whose ESM imports no hook can see on Node 20
 *   under the permission model: `module.register` needs a worker thread): the guard answers
 *   'evaluate' and jiti evaluates them itself, so their imports come back here.
 * - `Module._load` (node:module): every CommonJS `require`, `module.createRequire(…)(…)`
 *   included, and each CommonJS file Node's ESM loader loads.
 * - `process.getBuiltinModule` (Node ≥ 20.16): a built-in by name, without any import.
 * - `process.dlopen`, when native addons are not allowed.
 *
 * Order: the runtime is loaded first — Plugboard's modules, jiti (which compiles with `vm`),
 * their packages — then the guard is installed, then the plugin is loaded. The guard changes no
 * module already loaded (it wraps `Module._load`, `process.getBuiltinModule` and
 * `process.dlopen`, which are looked up at each call), so only imports made after installation
 * are checked, and what the runtime already holds keeps working; later imports by Plugboard's
 * code (a trusted root) or by a package (a `node_modules` folder) pass unchecked.
 *
 * What it is not: a security boundary. It stops a plugin that imports what it was told not to,
 * with a named error, early. A determined plugin can still get around it from inside the
 * process: `module.constructor` (reachable from any CommonJS module) offers `Module._cache`,
 * whose trusted modules' `require` passes unchecked, and `Module.prototype._compile`, which
 * compiles a string under any file name (no `eval` needed) with a native `import()`; jiti's
 * `require.evalModule` runs a string too; and with no `allowed_imports`, any package that loads
 * modules by name for its caller is a way around. The boundary is the operating system's: the
 * child runs under Node's permission model (no child processes, workers, native addons,
 * inspector or writes; reads of listed folders only), in its own network and PID namespaces and
 * cgroup, with code generation from strings off — none of which JavaScript in the process can
 * undo.
 */
import Module, { createRequire, isBuiltin } from 'node:module';
import { dirname, extname, isAbsolute, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PlugboardError } from '../../core/errors/plugboard-error.ts';
import type { PluginImportGuard } from '../../core/plugin/module-loader.ts';
import { callerFile } from './caller-file.ts';
import { packageOfFile } from './import-names.ts';
import {
  checkCapability,
  checkImport,
  type ImportCheck,
  type ImportRules,
  isExemptImporter,
  isTrustedFile,
} from './import-policy.ts';

/** The guard a sandboxed plugin's process runs under; give it to `loadPluginModule`. */
export interface ImportGuard extends PluginImportGuard {
  readonly rules: ImportRules;
}

/** Files that jiti evaluates itself: what Node would run as code. */
const CODE_EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts', '.tsx', '.mtsx', '.ctsx']);

/** `Module._load`, which @types/node does not declare. */
type ModuleLoad = (
  request: string,
  parent: { filename?: string | null } | null | undefined,
  isMain: boolean,
) => unknown;
type ModuleInternals = {
  _load: ModuleLoad;
  _resolveFilename(request: string, parent: unknown, isMain: boolean): string;
};

let installed: ImportGuard | undefined;

/**
 * Installs the import guard for `rules` in this process (once: a second call throws) and
 * returns it, for `loadPluginModule(file, { importGuard })`. A denied import throws
 * PlugboardError `PLUGIN_IMPORT_DENIED`, whose message names the module and the rule.
 */
export function installImportGuard(rules: ImportRules): ImportGuard {
  if (installed !== undefined) throw new Error('the import guard is already installed in this process');
  const notImporter = importerFrames();
  const importerOf = (known: string | undefined) => known ?? callerFile(notImporter());
  /**
   * The importer of each package file handed to Node, for when Node fails to load it and jiti
   * falls back to transpiling it: the transform then runs later, from a promise, where the
   * stack may no longer show who imported it.
   */
  const nativeImporters = new Map<string, string | undefined>();

  const guard: ImportGuard = {
    rules,
    beforeNativeLoad(target, knownImporter) {
      const importer = importerOf(knownImporter);
      const path = target.startsWith('file:') ? fileURLToPath(target) : target;
      if (!isAbsolute(path)) {
        enforce(checkImport(rules, target, importer), target, importer);
        return 'native';
      }
      enforceAddon(rules, path, importer);
      if (isTrustedFile(rules, path)) return 'native';
      const pkg = packageOfFile(path);
      if (pkg !== undefined) {
        nativeImporters.set(path, importer);
        enforce(checkImport(rules, pkg, importer), pkg, importer);
        return 'native';
      }
      const ext = extname(path);
      if (CODE_EXTENSIONS.has(ext)) return 'evaluate';
      if (ext === '.json' || ext === '.node') return 'native';
      throw denial(
        `"${path}" is denied: a sandboxed plugin loads code from JavaScript and TypeScript files only`,
        path,
        importer,
      );
    },
    beforeTranspile(filename) {
      const handedOver = nativeImporters.get(filename);
      nativeImporters.delete(filename);
      if (isTrustedFile(rules, filename)) return;
      const pkg = packageOfFile(filename);
      if (pkg === undefined) return; // the plugin's own file: its imports are what is checked
      const importer = importerOf(undefined) ?? handedOver;
      enforce(checkImport(rules, pkg, importer), pkg, importer);
    },
  };

  patchModuleLoad(rules, notImporter);
  patchGetBuiltinModule(rules, notImporter);
  if (!rules.nativeAddons) patchDlopen(rules);
  installed = guard;
  return guard;
}

/** `require` and everything built on it: `createRequire`, CommonJS files Node's ESM loader loads. */
function patchModuleLoad(rules: ImportRules, notImporter: () => (file: string) => boolean): void {
  const internals = Module as unknown as ModuleInternals;
  const load = internals._load;
  internals._load = function guardedLoad(this: unknown, request, parent, isMain) {
    const parentFile = parent?.filename ?? undefined;
    if (isMain || typeof request !== 'string' || (parentFile && isExemptImporter(rules, parentFile))) {
      return load.call(this, request, parent, isMain);
    }
    if (isFileRequest(request)) {
      let filename: string | undefined;
      try {
        filename = internals._resolveFilename(request, parent, isMain);
      } catch {
        // Not found: Node's own load says so.
      }
      if (filename !== undefined && isAbsolute(filename)) checkRequiredFile(rules, filename, parentFile, notImporter);
    } else {
      const importer = parentFile ?? callerFile(notImporter());
      enforce(checkImport(rules, request, importer), request, importer);
    }
    return load.call(this, request, parent, isMain);
  } satisfies ModuleLoad;
}

/**
 * A file `require`d from a plugin's code, or loaded by Node's ESM loader (no parent): a native
 * addon needs the capability; a package's file is that package; a plugin's own code file is
 * refused, since Node would run it where its `import()` cannot be seen (jiti evaluates them).
 */
function checkRequiredFile(
  rules: ImportRules,
  filename: string,
  parentFile: string | undefined,
  notImporter: () => (file: string) => boolean,
): void {
  const importer = parentFile ?? callerFile(notImporter());
  if (importer !== undefined && isExemptImporter(rules, importer)) return;
  enforceAddon(rules, filename, importer);
  if (isTrustedFile(rules, filename)) return;
  const pkg = packageOfFile(filename);
  if (pkg !== undefined) {
    // Without a parent, Node's ESM loader is loading a package's CommonJS file for another
    // package: what a package imports inside is not checked.
    if (parentFile !== undefined) enforce(checkImport(rules, pkg, importer), pkg, importer);
    return;
  }
  const ext = extname(filename);
  if (ext !== '.json' && ext !== '.node') {
    throw denial(
      `"${filename}" cannot be loaded by Node's own require in a sandboxed plugin: import or require it from the plugin's code, which Plugboard's loader evaluates`,
      filename,
      importer,
    );
  }
}

function patchGetBuiltinModule(rules: ImportRules, notImporter: () => (file: string) => boolean): void {
  const host = process as unknown as { getBuiltinModule?: (id: string) => unknown };
  const get = host.getBuiltinModule;
  if (typeof get !== 'function') return; // Node < 20.16: nothing to guard
  host.getBuiltinModule = function getBuiltinModule(id: string) {
    if (typeof id === 'string' && isBuiltin(id)) {
      const importer = callerFile(notImporter());
      enforce(checkImport(rules, id, importer), id, importer);
    }
    return get.call(process, id);
  };
}

function patchDlopen(rules: ImportRules): void {
  process.dlopen = function dlopen(_module: object, filename: string) {
    throw denial(addonReason(rules, filename), filename, undefined);
  };
}

function enforceAddon(rules: ImportRules, path: string, importer: string | undefined): void {
  if (extname(path) === '.node' && !rules.nativeAddons) throw denial(addonReason(rules, path), path, importer);
}

function addonReason(rules: ImportRules, path: string): string {
  const verdict = checkCapability(rules, 'native-addons');
  return `"${path}" is a native addon: ${verdict.ok ? 'native addons are not allowed' : verdict.reason}`;
}

function enforce(verdict: ImportCheck, specifier: string, importer: string | undefined): void {
  if (!verdict.ok) throw denial(verdict.reason, specifier, importer);
}

function denial(reason: string, specifier: string, importer: string | undefined): PlugboardError {
  const by = importer === undefined ? '' : ` (imported by ${importer})`;
  return new PlugboardError('PLUGIN_IMPORT_DENIED', `${reason}${by}`, {
    details: { specifier, ...(importer === undefined ? {} : { importer }) },
  });
}

function isFileRequest(request: string): boolean {
  return (
    request.startsWith('./') || request.startsWith('../') || request === '.' || request === '..' || isAbsolute(request)
  );
}

/**
 * Which stack frames are not the importer, for {@link callerFile}: at the top, the guard's own
 * and the loader hooks' (src/core/plugin/module-loader, the sources or the build); then jiti's,
 * which make the calls. Only at the top: further down, a file of the same name is a fresh copy
 * of Plugboard's module that a plugin imported (`from 'plugboard'`), a real importer.
 */
function importerFrames(): () => (file: string) => boolean {
  // The precompiled build rewrites import.meta.url to the source file's URL (scripts/build.mjs),
  // while its stack frames name the files under dist/: both places are ours.
  const sourceRoot = fileURLToPath(new URL('../../', import.meta.url));
  const builtRoot = join(sourceRoot, '..', 'dist', 'src') + sep;
  const bothPlaces = (path: string) => [path, builtRoot + path.slice(sourceRoot.length)];
  const heres = bothPlaces(dirname(fileURLToPath(import.meta.url)) + sep);
  const jitiFolder = join(dirname(createRequire(import.meta.url).resolve('jiti')), '..') + sep;
  const loaders = bothPlaces(join(sourceRoot, 'core', 'plugin', 'module-loader'));
  const isLoader = (file: string) => loaders.includes(file.slice(0, file.length - extname(file).length));
  return () => {
    let atTop = true;
    return (file) => {
      if (atTop && (heres.some((here) => file.startsWith(here)) || isLoader(file))) return true;
      atTop = false;
      return file.startsWith(jitiFolder);
    };
  };
}
