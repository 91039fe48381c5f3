import type { Logger } from '../core/logger.ts';
import type { PluginManager } from '../core/manager/plugin-manager.ts';
import type { StrayErrorKind, StrayErrorReport } from '../core/manager/stray-errors.ts';

/**
 * Keeps the server alive through errors that escape every call. Without a handler, Node
 * ends the process on a rejected promise nobody awaited or an exception thrown from a
 * callback: one plugin's `setTimeout(() => { throw … })` or forgotten `fetch(…)` would take
 * down every request in flight, 50–100 ms after the request that caused it was answered.
 *
 * The rule, decided per error:
 * - **From a plugin's code** (its files show in the stack, see `attributeByStack`): the
 *   plugin's failure — counted, logged with the plugin's name, its `background` circuit
 *   opens after repeated ones — and the server keeps serving. Whatever state the error
 *   left behind is the plugin's own.
 * - **A rejection from anywhere else**: logged with its stack; the server keeps serving. A
 *   rejection that nobody awaited cut no synchronous code short.
 * - **An exception from anywhere else but Plugboard's own code** (a library's or Node's
 *   callback, such as an `'error'` event nobody listened to): logged with its stack; the
 *   server keeps serving.
 * - **An exception thrown by Plugboard's own code** (the innermost frame is in `src/`): the
 *   process state is unknown — a callback of ours stopped half-way through, and whatever it
 *   was updating may be inconsistent. `onUnknownState` is called: `plugboard serve` logs it
 *   as fatal, stops gracefully (in-flight requests finish) and exits with code 4, for the
 *   supervisor to restart it.
 *
 * @returns a function that removes the handlers again
 * @example
 * ```ts
 * const remove = installProcessGuards(manager, logger, () => void running.stop('unknown state'));
 * ```
 */
export function installProcessGuards(
  manager: PluginManager,
  logger: Logger,
  onUnknownState: (error: unknown, report: StrayErrorReport) => void,
): () => void {
  const handle = (error: unknown, kind: StrayErrorKind): void => {
    let report: StrayErrorReport;
    try {
      report = manager.reportStrayError(error, kind);
    } catch (failure) {
      // Reporting must never be what ends the process.
      logger.error({ operation: 'stray-error', kind, err: error, cause: String(failure) }, `${kind} (not attributed)`);
      return;
    }
    if (kind === 'uncaughtException' && report.plugin === undefined && report.inPlugboard) {
      logger.error(
        { operation: 'stray-error', kind, fatal: true, err: error },
        'an exception escaped Plugboard’s own code: the process state is unknown, stopping',
      );
      onUnknownState(error, report);
    }
  };
  const onRejection = (reason: unknown): void => handle(reason, 'unhandledRejection');
  const onException = (error: Error): void => handle(error, 'uncaughtException');
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
