import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJiti, type Jiti, type JitiOptions } from 'jiti';
import { describeCause, PlugboardError } from '../errors/plugboard-error.ts';
import { describe } from './structure-check.ts';

/** Plugboard's `src/` folder, as plugin files name it (`../../src/index.ts`). */
const SOURCE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The public entry points of Plugboard that a plugin file imports, each as the running server's
 * own module. Plugin files are evaluated by jiti, which would otherwise evaluate a fresh copy of
 * every Plugboard module they import, for every plugin and every reload: ~70 modules, 60–400 ms
 * and several MB per plugin. Shared, a plugin gets the very modules the server runs (one
 * PlugboardError class, one set of registries), whether the server runs from the TypeScript
 * sources or from the precompiled build (`npm run build`). A plugin file itself is still
 * evaluated afresh at every load, so a changed plugin reloads.
 */
const SHARED_ENTRIES: Readonly<Record<string, () => Promise<unknown>>> = {
  index: () => import('../../index.ts'),
  'testing/index': () => import('../../testing/index.ts'),
  'server/index': () => import('../../server/index.ts'),
};
const SHARED_PREFIX = 'plugboard:shared/';

/**
 * jiti's `virtualModules`: a module id found here is answered with its value, unresolved and
 * unevaluated. The ids are the ones {@link shareCore} writes into transpiled plugin code, where
 * they are only ever imported (`await jitiImport(id)`), so the value can be the promise of the
 * module: the import awaits it.
 */
const sharedModules: Record<string, unknown> = {};
for (const [entry, load] of Object.entries(SHARED_ENTRIES)) {
  Object.defineProperty(sharedModules, `${SHARED_PREFIX}${entry}`, { enumerable: true, get: load });
}

/** The absolute path (without extension) of each shared entry, to recognise imports of it. */
const SHARED_PATHS = new Map(Object.keys(SHARED_ENTRIES).map((entry) => [join(SOURCE_ROOT, entry), entry]));

/** Specifiers that name a file (relative, absolute, a `file:` URL), or Plugboard's own package; other packages are left to jiti. */
const IMPORT_CALL = /\bjitiImport\((["'])((?:\.{1,2}\/|\/|file:)[^"'\n]*|plugboard(?:\/server|\/testing)?)\1\)/g;

/**
 * Plugboard's package entry points (`import … from 'plugboard'`, as docs/PLUGINS.md writes them):
 * the running server's own modules, not a copy compiled afresh (~6 s and tens of MB in a sandbox).
 */
const PACKAGE_ENTRIES: Readonly<Record<string, string>> = {
  plugboard: 'index',
  'plugboard/server': 'server/index',
  'plugboard/testing': 'testing/index',
};

/**
 * Rewrites, in a plugin module transpiled by jiti, the imports of Plugboard's public entry points
 * (`import … from '../../src/index.ts'`, or a `file:` URL of it) to the shared modules. Only
 * imports: a CommonJS `require()` of Plugboard keeps a copy of its own, as before.
 */
function shareCore(code: string, filename: string | undefined): string {
  if (filename === undefined || !code.includes('jitiImport(')) return code;
  const folder = dirname(filename);
  return code.replace(IMPORT_CALL, (call, _quote: string, specifier: string) => {
    const packageEntry = PACKAGE_ENTRIES[specifier];
    if (packageEntry !== undefined) return `jitiImport(${JSON.stringify(SHARED_PREFIX + packageEntry)})`;
    let target: string;
    try {
      target = specifier.startsWith('file:') ? fileURLToPath(specifier) : resolve(folder, specifier);
    } catch {
      return call;
    }
    const entry = SHARED_PATHS.get(target.replace(/\.[cm]?[jt]s$/, ''));
    return entry === undefined ? call : `jitiImport(${JSON.stringify(SHARED_PREFIX + entry)})`;
  });
}

/** jiti's own defaults, as resolved for this process: its (lazily loaded) Babel transform and cache folder. */
const jitiDefaults = createJiti(import.meta.url).options;
const babelTransform = jitiDefaults.transform!;

/**
 * Imports a plugin module from a file. TypeScript loads at run time with no build step
 * (jiti transpiles it); jiti's module cache is off so that a changed file can be loaded again.
 * Transpiled files are cached on disk (jiti's cache, in a folder of this Plugboard's own, since
 * the output names this installation's entry points), so an unchanged plugin is not transpiled
 * again at the next start.
 */
const jitiOptions: JitiOptions = {
  moduleCache: false,
  interopDefault: false,
  fsCache:
    typeof jitiDefaults.fsCache === 'string'
      ? join(jitiDefaults.fsCache, `plugboard-${createHash('sha256').update(SOURCE_ROOT).digest('hex').slice(0, 12)}`)
      : false,
  virtualModules: sharedModules,
  transform: (options) => {
    const result = babelTransform(options);
    return result.error === undefined ? { ...result, code: shareCore(result.code, options.filename) } : result;
  },
};
const jiti = createJiti(import.meta.url, jitiOptions);

/**
 * A check of what a sandboxed plugin's code loads (src/sandbox/imports/import-guard.ts makes
 * one). jiti transpiles TypeScript and ESM itself, and hands built-ins, `data:` URLs, packages
 * and plain JavaScript files to Node's own `import()` / `require`, where no hook sees what they
 * import in turn: the guard is asked before each of both.
 */
export interface PluginImportGuard {
  /**
   * Before jiti hands `target` to Node: a built-in (`node:fs`, `fs`), a `data:` URL, or an
   * absolute path or `file:` URL. `importer` is the requiring file when jiti says (its
   * `require`). Throws to refuse; 'evaluate' has jiti evaluate the file itself instead, so that
   * its own imports are asked about too; 'native' lets Node load it.
   */
  beforeNativeLoad(target: string, importer: string | undefined): 'native' | 'evaluate';
  /** Before jiti transpiles and runs a file (a plugin's, a package's or Plugboard's); throws to refuse it. */
  beforeTranspile(filename: string): void;
}

/** How {@link loadPluginModule} loads. */
export interface LoadPluginModuleOptions {
  /** Load through jiti hooked to this guard (a sandboxed plugin's process); without it, as ever. */
  readonly importGuard?: PluginImportGuard;
}

/**
 * Loads the module at `path` and returns the plugin value it exports: the default export,
 * else a named export `plugin`. A class is instantiated; a factory function is called
 * (and awaited). @throws PlugboardError `PLUGIN_MODULE_LOAD_FAILED` or `PLUGIN_INVALID_STRUCTURE`
 * (or `PLUGIN_IMPORT_DENIED`, with an import guard).
 */
export async function loadPluginModule(path: string, options: LoadPluginModuleOptions = {}): Promise<unknown> {
  let module: Record<string, unknown>;
  try {
    const loader = options.importGuard === undefined ? jiti : guardedLoader(options.importGuard);
    module = (await importFresh(path, loader)) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof PlugboardError && error.code === 'PLUGIN_IMPORT_DENIED') {
      // The refusal is the news, with its own code and hint; the file says where.
      throw new PlugboardError('PLUGIN_IMPORT_DENIED', `${path}: ${error.message}`, {
        cause: error,
        details: { ...error.details, file: path },
      });
    }
    throw new PlugboardError(
      'PLUGIN_MODULE_LOAD_FAILED',
      `${path}: could not import the module: ${oneLine(describeCause(error))}`,
      {
        cause: error,
        details: { file: path },
      },
    );
  }
  const exported = module.default ?? module.plugin;
  if (exported === undefined) {
    const names = Object.keys(module);
    throw new PlugboardError(
      'PLUGIN_INVALID_STRUCTURE',
      `${path}: no plugin exported — export it as default (or as "plugin"); the module exports ${names.length ? names.join(', ') : 'nothing'}`,
      { details: { file: path, exports: names } },
    );
  }
  return instantiate(exported, path);
}

/**
 * jiti hands JavaScript ESM (`.mjs`, or `.js` in a `"type": "module"` package) to Node's own
 * import, whose cache cannot be cleared: a changed file would load stale. Those files are read
 * and evaluated through jiti instead, like TypeScript files.
 */
async function importFresh(given: string, loader: Jiti): Promise<unknown> {
  const path = resolve(given); // relative to the working directory, not to this module
  const ext = extname(path);
  if (ext !== '.mjs' && ext !== '.js') return loader.import(path);
  const source = await readFile(path, 'utf8');
  const exports = await loader.evalModule(source, { id: path, filename: path, ext, async: true, forceTranspile: true });
  return asNamespace(exports);
}

/** A CommonJS file evaluates to its `module.exports`: present it as Node's import does, as the default. */
function asNamespace(exports: unknown): unknown {
  const esm = (exports as { __esModule?: unknown } | null)?.__esModule === true;
  return esm ? exports : { ...(exports as object), default: exports };
}

/** jiti's factory under its public `createJiti`, which also takes the functions it loads natively with. */
type JitiFactory = (
  id: string,
  options: JitiOptions,
  natives: {
    onError: (error: unknown) => never;
    nativeImport: (id: string) => Promise<unknown>;
    createRequire: (filename: string) => NodeJS.Require;
  },
) => Jiti;

/** A guarded jiti, and the plugin files it evaluated in place of Node's import during one load. */
interface GuardedLoader {
  readonly jiti: Jiti;
  modules: EvaluatedModules;
}
type EvaluatedModules = NonNullable<NonNullable<Parameters<Jiti['evalModule']>[1]>['cache']>;

/**
 * Taken now, with the rest of the runtime: once an import guard is installed, a `require` made
 * by this module is one more import to check.
 */
const jitiFactory: unknown = (() => {
  const require = createRequire(import.meta.url);
  return require(join(dirname(require.resolve('jiti')), '..', 'dist', 'jiti.cjs'));
})();

const guardedLoaders = new WeakMap<PluginImportGuard, GuardedLoader>();

/** The guarded jiti for `guard`, with a fresh set of evaluated files (a changed file loads anew). */
function guardedLoader(guard: PluginImportGuard): Jiti {
  const loader = guardedLoaders.get(guard) ?? createGuardedLoader(guard);
  guardedLoaders.set(guard, loader);
  loader.modules = {};
  return loader.jiti;
}

/**
 * A jiti whose every hand-over to Node goes through `guard`. jiti takes the functions it loads
 * natively with only below its public entry (lib/jiti.mjs passes `(id) => import(id)` and
 * `module.createRequire` to dist/jiti.cjs, and so does this); its nested instances, one per
 * evaluated file, inherit them. A file the guard wants evaluated by jiti is: on `import`, here,
 * the way {@link importFresh} does it (as Node's import would present it); on `require`, by
 * throwing — jiti then falls back to transpiling it, with CommonJS's `module.exports` as the
 * answer. No disk cache: a cached file skips the transform, where the guard sees packages that
 * jiti evaluates.
 */
function createGuardedLoader(guard: PluginImportGuard): GuardedLoader {
  if (typeof jitiFactory !== 'function') {
    throw new Error('jiti changed: its dist/jiti.cjs no longer exports its factory');
  }
  const options: JitiOptions = {
    ...jitiOptions,
    fsCache: false,
    transform: (transformOptions) => {
      if (transformOptions.filename !== undefined) guard.beforeTranspile(transformOptions.filename);
      return jitiOptions.transform!(transformOptions);
    },
  };
  const evaluate = async (target: string): Promise<unknown> => {
    const path = target.startsWith('file:') ? fileURLToPath(target) : target;
    // Seen in this load already (an import cycle, or a second importer): jiti's own cache does the same.
    const known = loader.modules[path];
    if (known !== undefined) return asNamespace(known.exports);
    const source = await readFile(path, 'utf8');
    const evalOptions = { id: path, filename: path, ext: extname(path), async: true, forceTranspile: true };
    return asNamespace(await loader.jiti.evalModule(source, { ...evalOptions, cache: loader.modules }));
  };
  const guardedJiti = (jitiFactory as JitiFactory)(import.meta.url, options, {
    onError: (error) => {
      throw error;
    },
    nativeImport: async (id) => {
      const target = String(id);
      return guard.beforeNativeLoad(target, undefined) === 'evaluate' ? evaluate(target) : import(target);
    },
    createRequire: (filename) => {
      const nativeRequire = createRequire(filename);
      const guarded = (id: string) => {
        if (guard.beforeNativeLoad(id, filename) === 'evaluate') {
          throw new Error(`${id}: left to jiti, so that what it imports is checked`);
        }
        return nativeRequire(id) as unknown;
      };
      return Object.assign(guarded, {
        resolve: nativeRequire.resolve,
        cache: nativeRequire.cache,
        extensions: nativeRequire.extensions,
        main: nativeRequire.main,
      });
    },
  });
  const loader: GuardedLoader = { jiti: guardedJiti, modules: {} };
  return loader;
}

/** The class or factory each instance came from, to build another one (see {@link freshInstance}). */
const origins = new WeakMap<object, unknown>();

/** Turns an exported value into a plugin instance: objects as they are, classes with `new`, factories called. */
export async function instantiate(exported: unknown, path?: string): Promise<unknown> {
  if (typeof exported !== 'function') return exported;
  try {
    const instance = isClass(exported) ? new (exported as new () => unknown)() : await (exported as () => unknown)();
    if (typeof instance === 'object' && instance !== null) origins.set(instance, exported);
    return instance;
  } catch (error) {
    throw new PlugboardError(
      'PLUGIN_MODULE_LOAD_FAILED',
      `${path ? `${path}: ` : ''}constructing the plugin (${describe(exported)}) failed: ${describeCause(error)}`,
      { cause: error, ...(path === undefined ? {} : { details: { file: path } }) },
    );
  }
}

/**
 * Another instance of the plugin `instance` is, for a restart next to the running one (a
 * consumer whose service provider was replaced): from the class or factory it came from; a
 * class instance through its constructor; a plain object as a shallow copy (its methods and
 * fields, not the state its functions close over — give a factory when that matters).
 */
export async function freshInstance(instance: unknown, path?: string): Promise<unknown> {
  if (typeof instance !== 'object' || instance === null) return instance;
  const origin = origins.get(instance);
  if (origin !== undefined) return instantiate(origin, path);
  const prototype = Object.getPrototypeOf(instance) as { constructor?: unknown } | null;
  if (prototype !== null && prototype !== Object.prototype && isClass(prototype.constructor)) {
    return instantiate(prototype.constructor, path);
  }
  return Object.create(prototype, Object.getOwnPropertyDescriptors(instance));
}

function isClass(value: unknown): boolean {
  return typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value));
}

/** An import error on one line: the position kept, Node's "Require stack" dropped. */
function oneLine(message: string): string {
  return message
    .split(/\nRequire stack:/)[0]!
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ');
}
