/*
 * What the names in `security.allowed_imports` / `security.denied_imports` stand for. The spec
 * (PRD §9.2) writes them as Python module names (`subprocess`, `os.system`, `eval`); a plugin is
 * JavaScript, so each is mapped here to the Node built-in modules that give the same power, and
 * to a capability when no module import is involved (`eval` is a global; a native addon is loaded
 * through `process.dlopen`). Node's own names stand for themselves; any other name is an npm
 * package. The table is the single source of the mapping: README.md in this folder prints it.
 */
import { builtinModules, isBuiltin } from 'node:module';

/** Powers that are not (only) a module import. */
export type ImportCapability = 'code-generation' | 'network' | 'native-addons';

/** What one spec (Python-style) name maps to. */
export interface ImportNameMapping {
  /** Node built-in modules, without the `node:` prefix (`child_process`, `fs/promises`). */
  readonly modules: readonly string[];
  readonly capabilities?: readonly ImportCapability[];
  /** Why, in a few words: printed in the README's table. */
  readonly note: string;
}

const CHILD_PROCESS = ['child_process'];
const CODE_GENERATION: ImportNameMapping = {
  modules: ['vm'],
  capabilities: ['code-generation'],
  note: 'code from strings: eval / new Function (the process flag), vm',
};
const HTTP_CLIENT: ImportNameMapping = {
  modules: ['http', 'https', 'http2'],
  capabilities: ['network'],
  note: 'HTTP clients',
};
const FILES: ImportNameMapping = { modules: ['fs', 'fs/promises'], note: 'files' };
/** A Python module whose JavaScript counterpart is built into the language: nothing to allow or deny. */
const NO_MODULE = (what: string): ImportNameMapping => ({ modules: [], note: `${what}: nothing to import` });

/**
 * Spec names (Python modules and built-in functions) and the Node modules / capabilities they
 * stand for. The lines the spec names come first; a few more common Python names follow, so
 * that a configuration written with Python in mind does not turn them into npm package names.
 * A name Node also has (`os`, `zlib`) means the same module here; Python's `sys` is left out,
 * as Node's `sys` is an old alias of `util`.
 */
export const IMPORT_NAME_TABLE: Readonly<Record<string, ImportNameMapping>> = {
  subprocess: { modules: CHILD_PROCESS, note: 'running programs' },
  'os.system': { modules: CHILD_PROCESS, note: 'running a shell command' },
  'os.popen': { modules: CHILD_PROCESS, note: 'running a shell command' },
  'os.exec': { modules: CHILD_PROCESS, note: 'replacing the process with a program' },
  'os.spawn': { modules: CHILD_PROCESS, note: 'running programs' },
  'os.fork': { modules: ['child_process', 'cluster'], note: 'forking the process' },
  multiprocessing: { modules: ['child_process', 'cluster', 'worker_threads'], note: 'other processes and threads' },
  'concurrent.futures': { modules: ['child_process', 'worker_threads'], note: 'process and thread pools' },
  threading: { modules: ['worker_threads'], note: 'threads' },
  eval: CODE_GENERATION,
  exec: CODE_GENERATION,
  compile: CODE_GENERATION,
  code: { ...CODE_GENERATION, modules: ['vm', 'repl'], note: 'an interactive interpreter' },
  socket: { modules: ['net', 'dgram', 'tls', 'http2'], capabilities: ['network'], note: 'sockets' },
  ssl: { modules: ['tls'], capabilities: ['network'], note: 'TLS sockets' },
  'http.client': HTTP_CLIENT,
  'http.server': { modules: ['http', 'https', 'http2', 'net'], capabilities: ['network'], note: 'HTTP servers' },
  urllib: HTTP_CLIENT,
  'urllib.request': HTTP_CLIENT,
  requests: HTTP_CLIENT,
  httpx: HTTP_CLIENT,
  aiohttp: HTTP_CLIENT,
  ctypes: { modules: [], capabilities: ['native-addons'], note: 'native code (process.dlopen, .node files)' },
  cffi: { modules: [], capabilities: ['native-addons'], note: 'native code (process.dlopen, .node files)' },
  importlib: { modules: ['module'], note: 'loading modules by hand (createRequire)' },
  pickle: { modules: ['v8'], note: 'serialising objects (v8.serialize)' },
  marshal: { modules: ['v8'], note: 'serialising objects (v8.serialize)' },
  asyncio: { modules: ['events', 'timers', 'timers/promises'], note: 'events and timers' },
  logging: { modules: ['console'], note: 'logging' },
  datetime: { modules: ['perf_hooks', 'timers'], note: 'clocks and timers' },
  time: { modules: ['perf_hooks', 'timers'], note: 'clocks and timers' },
  os: { modules: ['os'], note: 'operating-system facts (os.system & co. are listed separately)' },
  'os.path': { modules: ['path'], note: 'path names' },
  pathlib: { modules: ['path'], note: 'path names' },
  shutil: FILES,
  io: FILES,
  open: FILES,
  tempfile: FILES,
  glob: FILES,
  hashlib: { modules: ['crypto'], note: 'hashes' },
  hmac: { modules: ['crypto'], note: 'MACs' },
  secrets: { modules: ['crypto'], note: 'random secrets' },
  uuid: { modules: ['crypto'], note: 'crypto.randomUUID' },
  base64: { modules: ['buffer'], note: 'Buffer' },
  struct: { modules: ['buffer'], note: 'binary data (Buffer)' },
  inspect: { modules: ['inspector'], note: 'introspection / the debugger' },
  pdb: { modules: ['inspector'], note: 'the debugger' },
  'urllib.parse': { modules: ['url', 'querystring'], note: 'URLs' },
  zlib: { modules: ['zlib'], note: 'compression' },
  gzip: { modules: ['zlib'], note: 'compression' },
  signal: NO_MODULE('process.on, on the process global'),
  json: NO_MODULE('the JSON global'),
  re: NO_MODULE('RegExp, a global'),
  math: NO_MODULE('Math, a global'),
  random: NO_MODULE('Math.random'),
  typing: NO_MODULE('TypeScript types'),
  collections: NO_MODULE('Map and Set, globals'),
  itertools: NO_MODULE('iterators, built in'),
  functools: NO_MODULE('functions, built in'),
  enum: NO_MODULE('plain objects'),
  dataclasses: NO_MODULE('plain objects'),
  copy: NO_MODULE('structuredClone, a global'),
};

/** Node modules that are only reachable with the `node:` prefix (not in `builtinModules`). */
const PREFIX_ONLY_BUILTINS = new Set(['test', 'test/reporters', 'sea', 'sqlite']);

/**
 * Old public aliases of Node's internals (`_http_client`, `_tls_wrap`, `sys`): a rule on the
 * module they belong to covers them too, or denying `http` would leave `_http_client` open.
 */
const BUILTIN_ALIASES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^_http_/, 'http'],
  [/^_tls_/, 'tls'],
  [/^_stream_/, 'stream'],
  [/^sys$/, 'util'],
];

/**
 * The built-in module a specifier names, without `node:` (`fs/promises`), or undefined when it
 * names none. `node:` is optional for most built-ins, required for a few (`node:test`).
 */
export function builtinName(specifier: string): string | undefined {
  if (specifier.startsWith('node:')) {
    const name = specifier.slice('node:'.length);
    return isBuiltin(specifier) || PREFIX_ONLY_BUILTINS.has(name) ? name : undefined;
  }
  return builtinModules.includes(specifier) ? specifier : undefined;
}

/**
 * The rule keys a built-in module is governed by, most specific first: `node:fs/promises` then
 * `node:fs`; `node:_http_client` then `node:http`.
 */
export function builtinRuleKeys(name: string): string[] {
  const keys = [`node:${name}`];
  for (let slash = name.lastIndexOf('/'); slash > 0; slash = name.lastIndexOf('/', slash - 1)) {
    keys.push(`node:${name.slice(0, slash)}`);
  }
  for (const [pattern, owner] of BUILTIN_ALIASES) {
    if (pattern.test(name)) keys.push(`node:${owner}`);
  }
  return keys;
}

/**
 * The rule keys a package specifier is governed by, most specific first: `lodash/fp/map` then
 * `lodash/fp` then `lodash` (a rule on a package covers its subpaths).
 */
export function packageRuleKeys(specifier: string): string[] {
  const keys: string[] = [];
  for (let key = specifier; key.length > 0; ) {
    keys.push(key);
    const slash = key.lastIndexOf('/');
    if (slash <= 0) break;
    key = key.slice(0, slash);
  }
  return keys;
}

/** What one configured name means. */
export interface TranslatedImportName {
  /**
   * `spec`: a name of the table; `node`: a Node built-in; `package`: an npm package;
   * `unknown`: not in the table, yet it looks like a Python name (`os.environ`) or is no valid
   * npm name — taken as a package name all the same, and worth a warning.
   */
  readonly kind: 'spec' | 'node' | 'package' | 'unknown';
  /** Rule keys: `node:<module>` for built-ins, the bare name for packages. */
  readonly keys: readonly string[];
  readonly capabilities: readonly ImportCapability[];
}

/** An npm package name (with an optional subpath): lower case, optionally scoped. */
const NPM_NAME = /^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*(?:\/[^/\s]+)*$/;
/** A Python dotted module path (`os.environ`, `asyncio.subprocess`). */
const PYTHON_DOTTED = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/;

/**
 * Translates one name of `allowed_imports` / `denied_imports`: a spec name through
 * {@link IMPORT_NAME_TABLE}, a Node built-in (`fs`, `node:fs`, `fs/promises`) as itself, any
 * other name as an npm package (bare or scoped, optionally with a subpath).
 */
export function translateImportName(configured: string): TranslatedImportName {
  const name = configured.trim();
  const mapping = Object.hasOwn(IMPORT_NAME_TABLE, name) ? IMPORT_NAME_TABLE[name] : undefined;
  if (mapping !== undefined) {
    return {
      kind: 'spec',
      keys: mapping.modules.map((module) => `node:${module}`),
      capabilities: mapping.capabilities ?? [],
    };
  }
  const builtin = builtinName(name);
  if (builtin !== undefined) return { kind: 'node', keys: [`node:${builtin}`], capabilities: [] };
  const unknown = !NPM_NAME.test(name) || (PYTHON_DOTTED.test(name) && !name.includes('/'));
  return { kind: unknown ? 'unknown' : 'package', keys: name.length > 0 ? [name] : [], capabilities: [] };
}

/**
 * The npm package a file belongs to, from the last `node_modules` folder in its path
 * (`…/node_modules/@scope/pkg/dist/x.js` → `@scope/pkg`), or undefined outside any.
 */
export function packageOfFile(path: string): string | undefined {
  const parts = path.split(/[\\/]/);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length) return undefined;
  const first = parts[at + 1]!;
  if (!first.startsWith('@')) return first || undefined;
  const second = parts[at + 2];
  return second ? `${first}/${second}` : undefined;
}
