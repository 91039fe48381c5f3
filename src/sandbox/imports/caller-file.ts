/*
 * Which file is importing, when the loader does not say. jiti's `import()` path hands Node a
 * module id with no importer; the import was made synchronously by the importing module's code
 * (`await jitiImport('node:fs')`), so that module's frame is on the stack, below jiti's and the
 * guard's. The importer decides only whether an import is Plugboard's own or a package's (not
 * checked) or a plugin's (checked): it is for consistency, not security — a plugin that hands
 * its import function to a package's "call this for me" helper makes the package the importer.
 * Anything unusual (a replaced Error, a locked or accessor `prepareStackTrace`) answers
 * "unknown", which the guard treats as a plugin's import: it fails closed.
 */
import { fileURLToPath } from 'node:url';

/** The Error constructor as it was when the guard was loaded, before any plugin code ran. */
const NativeError = Error;
const captureStackTrace = Error.captureStackTrace;

/** Deep enough for a plugin frame below jiti's (≈6 frames) and the guard's own. */
const STACK_DEPTH = 48;

/**
 * The file of the innermost stack frame that is neither Node's internals nor passed over by
 * `skip` (asked about each other frame in turn, innermost first: the guard's and the loader's
 * own); undefined when there is none or the stack cannot be trusted.
 */
export function callerFile(skip: (file: string) => boolean): string | undefined {
  const sites = captureCallSites();
  if (sites === undefined) return undefined;
  for (const site of sites) {
    const name = site.getFileName();
    if (typeof name !== 'string' || name.length === 0 || name.startsWith('node:')) continue;
    const file = name.startsWith('file:') ? toPath(name) : name;
    if (file === undefined || skip(file)) continue;
    return file;
  }
  return undefined;
}

function captureCallSites(): NodeJS.CallSite[] | undefined {
  // V8 asks Error.prepareStackTrace (through Node, which reads globalThis.Error) to format a
  // stack: both must be the real ones, and ours must be settable and stay put.
  if (globalThis.Error !== NativeError) return undefined;
  const prepare = Object.getOwnPropertyDescriptor(NativeError, 'prepareStackTrace');
  const limit = Object.getOwnPropertyDescriptor(NativeError, 'stackTraceLimit');
  if (!isPlainWritable(prepare) || !isPlainWritable(limit)) return undefined;
  const collect = (_error: Error, sites: NodeJS.CallSite[]) => sites;
  const holder: { stack?: unknown } = {};
  try {
    NativeError.prepareStackTrace = collect;
    NativeError.stackTraceLimit = STACK_DEPTH;
    if (NativeError.prepareStackTrace !== collect) return undefined;
    captureStackTrace(holder, callerFile);
    const sites = holder.stack;
    return Array.isArray(sites) ? (sites as NodeJS.CallSite[]) : undefined;
  } catch {
    return undefined;
  } finally {
    restore('prepareStackTrace', prepare);
    restore('stackTraceLimit', limit);
  }
}

/** Absent, or an ordinary writable, configurable value (not an accessor a plugin put there). */
function isPlainWritable(descriptor: PropertyDescriptor | undefined): boolean {
  return (
    descriptor === undefined ||
    ('value' in descriptor && descriptor.writable === true && descriptor.configurable === true)
  );
}

function restore(key: 'prepareStackTrace' | 'stackTraceLimit', descriptor: PropertyDescriptor | undefined): void {
  if (descriptor === undefined) Reflect.deleteProperty(NativeError, key);
  else Object.defineProperty(NativeError, key, descriptor);
}

function toPath(url: string): string | undefined {
  try {
    return fileURLToPath(url);
  } catch {
    return undefined;
  }
}
