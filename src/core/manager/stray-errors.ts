import { basename, dirname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeCause, toPlugboardError } from '../errors/plugboard-error.ts';
import { STRAY_OPERATION } from '../execution/plugin-breakers.ts';
import type { Logger } from '../logger.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';

/**
 * How an error escaped every call: a promise rejected with nobody waiting for it, or an
 * exception thrown from a callback (a timer, an event handler) with nobody to catch it.
 */
export type StrayErrorKind = 'unhandledRejection' | 'uncaughtException';

/** What became of one stray error (see `PluginManager.reportStrayError`). */
export interface StrayErrorReport {
  readonly kind: StrayErrorKind;
  /** The plugin whose code the error came from, when its stack shows one. */
  readonly plugin?: string;
  /** True when the innermost frame of the stack is Plugboard's own code (not a plugin's, nor a library's). */
  readonly inPlugboard: boolean;
}

/**
 * The plugin a stray error came from, read from its stack: the innermost frame that lies
 * in a plugin's module file, or in the folder of a plugin that has a folder to itself —
 * a folder named as the plugin (`plugins/openai/` for `openai`), where its helper modules
 * live too. Async stack frames
 * (`at async …`) count: V8 keeps them across `await`, which is how a rejection from an
 * async function the plugin left floating still names it.
 *
 * Why the stack and not the async context of the plugin call (AsyncLocalStorage): Node
 * hands `unhandledRejection` handlers no async context of the promise, and keeping one per
 * promise costs a hook on every promise of the process. The stack costs nothing until an
 * error strays. What it cannot name: errors created outside the plugin's files, such as an
 * `'error'` event of a socket the plugin opened and never listened to (Node builds those).
 */
export function attributeByStack(error: unknown, records: Iterable<PluginRecord>): PluginRecord | undefined {
  const stack = (error as { stack?: unknown } | null)?.stack;
  if (typeof stack !== 'string') return undefined;
  const files = new Map<string, PluginRecord>();
  const folders: [string, PluginRecord][] = [];
  for (const record of records) {
    if (record.source === undefined) continue;
    files.set(record.source, record);
    const folder = dirname(record.source);
    // The one-folder-per-plugin layout (`plugins/openai/openai.plugin.ts`): the folder is the
    // plugin's. A folder of several single-file plugins names none of them beyond their files.
    if (basename(folder) === record.name) folders.push([folder + sep, record]);
  }
  if (files.size === 0) return undefined;
  for (const file of framesOf(stack)) {
    const exact = files.get(file);
    if (exact !== undefined) return exact;
    if (file.includes(NODE_MODULES)) continue;
    for (const [folder, record] of folders) if (file.startsWith(folder)) return record;
  }
  return undefined;
}

const NODE_MODULES = `${sep}node_modules${sep}`;

/** True when the innermost file frame of the stack is in `folder` (Plugboard's own source). */
export function innermostFrameIn(error: unknown, folder: string): boolean {
  const stack = (error as { stack?: unknown } | null)?.stack;
  if (typeof stack !== 'string') return false;
  for (const file of framesOf(stack)) return file.startsWith(folder) && !file.includes(NODE_MODULES);
  return false;
}

/** The file of each `at …` frame of a V8 stack, innermost first (node: internals left out). */
function* framesOf(stack: string): Generator<string> {
  for (const line of stack.split('\n')) {
    const match = FRAME.exec(line);
    if (match === null) continue;
    const location = match[1] ?? match[2];
    if (location === undefined || location.startsWith('node:')) continue;
    yield location.startsWith('file://') ? safeFilePath(location) : location;
  }
}

/** `at fn (file:line:col)` or `at file:line:col`; the file, without line and column. */
const FRAME = /^\s+at (?:.*? \((.+?):\d+:\d+\)|(?:async )?(.+?):\d+:\d+)$/;

function safeFilePath(url: string): string {
  try {
    return fileURLToPath(url);
  } catch {
    return url;
  }
}

/** Plugboard's own source folder (`src/`): an exception thrown from here leaves our own state unknown. */
export const PLUGBOARD_SOURCE = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Attributes one stray error, counts it and logs it (the body of
 * `PluginManager.reportStrayError`). Attributed: a failure of the plugin's `background`
 * operation (metrics, `lastError`, its `background` circuit), logged by the plugin's logger
 * with the stack once per distinct failure. Not attributed: logged with its stack.
 */
export function reportStray(
  error: unknown,
  kind: StrayErrorKind,
  records: Iterable<PluginRecord>,
  logger: Logger,
): StrayErrorReport {
  const inPlugboard = innermostFrameIn(error, PLUGBOARD_SOURCE);
  const record = attributeByStack(error, records);
  if (record === undefined) {
    logger.error(
      { operation: 'stray-error', kind, in_plugboard: inPlugboard, err: error },
      `${kind} from no plugin's code: ${describeCause(error)}`,
    );
    return { kind, inPlugboard };
  }
  const failure = toPlugboardError(error, 'PLUGIN_CALL_FAILED', { plugin: record.name, hook: STRAY_OPERATION });
  record.metrics.record(STRAY_OPERATION, 'failure', 0);
  record.lastError = failure.plugin === undefined ? failure.withOrigin({ plugin: record.name }) : failure;
  void record.breakers.reportStray(failure);
  record.logger.error(
    {
      operation: STRAY_OPERATION,
      kind,
      success: false,
      error: failure.code,
      cause: failure.message,
      ...(record.isNewFailure(STRAY_OPERATION, failure.message) ? { err: error } : {}),
    },
    `${kind}: the plugin let an error escape every call (a promise nobody awaited, or a throw from its callback)`,
  );
  return { kind, plugin: record.name, inPlugboard: false };
}
