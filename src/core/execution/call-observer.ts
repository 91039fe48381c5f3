/** How an observed plugin call ended: the metrics' outcomes, plus `aborted` (the request was cancelled). */
export type ObservedOutcome = 'success' | 'failure' | 'timeout' | 'skipped' | 'aborted';

/** One plugin call being watched; ended exactly once. */
export interface ObservedCall {
  /** `errorCode` is the PlugboardError code when the call did not succeed. */
  end(outcome: ObservedOutcome, errorCode?: string): void;
}

/**
 * Watches every guarded plugin call (processors, middleware, extensions, backends and their
 * streams, hooks, lifecycle, health checks): the seam tracing hooks into. The core knows
 * no tracing library; the server implements this with OpenTelemetry.
 *
 * Off by default. When no observer is set, a call pays one check of an undefined field.
 * `start` runs synchronously as the call begins, before the plugin runs; it must be cheap
 * and must not throw (a throwing observer is ignored for that call). Returning `undefined`
 * skips the call (e.g. not sampled).
 *
 * @example
 * ```ts
 * manager.setCallObserver({
 *   start(plugin, operation, requestId) {
 *     const began = performance.now();
 *     return { end: (outcome) => console.log(plugin, operation, requestId, outcome, performance.now() - began) };
 *   },
 * });
 * ```
 */
export interface CallObserver {
  /**
   * @param operation what runs: `processMessage`, `processRequest`, `extend`, `chat`,
   *   `chat:stream` (a backend's streamed reply, from first to last chunk), `hook:<name>`,
   *   `initialize`, `healthCheck` …
   * @param requestId the request the call belongs to, when it belongs to one
   */
  start(plugin: string, operation: string, requestId: string | undefined): ObservedCall | undefined;
}

/** Starts observing a call; an observer that throws is ignored for this call. */
export function observeCall(
  observer: CallObserver,
  plugin: string,
  operation: string,
  requestId: string | undefined,
): ObservedCall | undefined {
  try {
    return observer.start(plugin, operation, requestId);
  } catch {
    return undefined;
  }
}

/** Ends an observed call; an observer that throws is ignored. */
export function endObserved(observed: ObservedCall, outcome: ObservedOutcome, errorCode?: string): void {
  try {
    observed.end(outcome, errorCode);
  } catch {
    // Observability must never break a request.
  }
}
