import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { createJiti } from 'jiti';
import { describeCause, PlugboardError } from '../errors/plugboard-error.ts';
import { describe } from './structure-check.ts';

/**
 * Imports a plugin module from a file. TypeScript loads at run time with no build step
 * (jiti transpiles it); jiti's module cache is off so that a changed file can be loaded again.
 */
const jiti = createJiti(import.meta.url, { moduleCache: false, interopDefault: false });

/**
 * Loads the module at `path` and returns the plugin value it exports: the default export,
 * else a named export `plugin`. A class is instantiated; a factory function is called
 * (and awaited). @throws PlugboardError `PLUGIN_MODULE_LOAD_FAILED` or `PLUGIN_INVALID_STRUCTURE`.
 */
export async function loadPluginModule(path: string): Promise<unknown> {
  let module: Record<string, unknown>;
  try {
    module = (await importFresh(path)) as Record<string, unknown>;
  } catch (error) {
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
async function importFresh(given: string): Promise<unknown> {
  const path = resolve(given); // relative to the working directory, not to this module
  const ext = extname(path);
  if (ext !== '.mjs' && ext !== '.js') return jiti.import(path);
  const source = await readFile(path, 'utf8');
  const exports = await jiti.evalModule(source, { id: path, filename: path, ext, async: true, forceTranspile: true });
  // A CommonJS `.js` file evaluates to its `module.exports`: present it as Node's import does, as the default.
  const esm = (exports as { __esModule?: unknown } | null)?.__esModule === true;
  return esm ? exports : { ...(exports as object), default: exports };
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
