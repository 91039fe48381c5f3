import { PlugboardError, toPlugboardError } from '../errors/plugboard-error.ts';
import type { Logger } from '../logger.ts';
import type { PluginCall } from '../plugin/plugin-call.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import { isPluginResult, type PluginResult } from '../result.ts';
import { isBreakerRejection } from './circuit-breaker.ts';
import type { DeadlineScheduler } from './deadline-scheduler.ts';
import type { RequestScope } from './request-scope.ts';

/**
 * Checks a plugin's (unwrapped) return value and turns it into the type the caller needs.
 * Throws a PlugboardError `PLUGIN_INVALID_RESULT` naming what is wrong.
 */
export type ResultValidator<T> = (value: unknown) => T;

/** Per-call options of {@link invokePlugin}. */
export interface InvokeOptions {
  /** The request the call belongs to (cancellation, request id in logs). */
  readonly scope?: RequestScope | undefined;
  /** Overrides the plugin's configured timeout (e.g. short health checks). */
  readonly timeoutMs?: number;
  /** False for calls whose failure must not trip the breaker (health checks, lifecycle). */
  readonly useBreaker?: boolean;
}

/**
 * Fault isolation for one plugin call (FR-5.2, FR-5.3, FR-6, NFR-5): the circuit breaker,
 * a timeout, cancellation, validation of what the plugin returned, metrics and logging.
 * Never throws: every outcome comes back as a PluginResult.
 *
 * @param operation what runs, for metrics and errors (`processMessage`, `hook:requestEnd` …)
 * @param fn calls the plugin with the PluginCall it is given
 */
export async function invokePlugin<T>(
  deadlines: DeadlineScheduler,
  record: PluginRecord,
  operation: string,
  fn: (call: PluginCall) => unknown,
  validate: ResultValidator<T>,
  options: InvokeOptions = {},
): Promise<PluginResult<T>> {
  const start = performance.now();
  const scope = options.scope;
  const timeoutMs = options.timeoutMs ?? record.config.timeoutMs;
  const guarded = () => runGuarded(deadlines, record, operation, fn, validate, scope, timeoutMs);
  record.hold();
  try {
    const value = await (options.useBreaker === false ? guarded() : record.breaker.run(guarded));
    const durationMs = performance.now() - start;
    record.metrics.record(operation, 'success', durationMs);
    return { ok: true, value, durationMs };
  } catch (thrown) {
    const durationMs = performance.now() - start;
    // Whatever a plugin throws once the request is aborted (fetch's AbortError …) is the abort.
    const cause = scope?.abortError !== undefined && !isBreakerRejection(thrown) ? scope.abortError : thrown;
    return { ok: false, error: recordFailure(record, operation, cause, durationMs), durationMs };
  } finally {
    record.release();
  }
}

function recordFailure(record: PluginRecord, operation: string, thrown: unknown, durationMs: number): PlugboardError {
  if (isBreakerRejection(thrown)) {
    record.metrics.record(operation, 'skipped', 0);
    record.logger.warn({ operation, success: false, error: 'PLUGIN_CIRCUIT_OPEN' }, 'circuit open: call skipped');
    return new PlugboardError('PLUGIN_CIRCUIT_OPEN', `Circuit open for plugin "${record.name}": ${operation} skipped`, {
      plugin: record.name,
      hook: operation,
      details: { breaker: record.breaker.status },
    });
  }
  const error = attribute(
    toPlugboardError(thrown, 'PLUGIN_CALL_FAILED', { plugin: record.name, hook: operation }),
    record.name,
    operation,
  );
  if (error.code === 'REQUEST_ABORTED') return error;
  record.metrics.record(operation, error.code === 'PLUGIN_TIMEOUT' ? 'timeout' : 'failure', durationMs);
  record.lastError = error;
  record.logger.error(
    { operation, duration_ms: round(durationMs), success: false, error: error.code, cause: error.message },
    `${operation} failed`,
  );
  return error;
}

async function runGuarded<T>(
  deadlines: DeadlineScheduler,
  record: PluginRecord,
  operation: string,
  fn: (call: PluginCall) => unknown,
  validate: ResultValidator<T>,
  scope: RequestScope | undefined,
  timeoutMs: number,
): Promise<T> {
  if (scope?.abortError) throw scope.abortError;
  const call = new GuardedCall(record, scope);
  let value = fn(call);
  if (isThenable(value)) value = await raceDeadline(deadlines, value, call, record, operation, scope, timeoutMs);
  if (isPluginResult(value)) {
    if (!value.ok) throw value.error;
    value = value.value;
  }
  return validate(value);
}

/** Waits for the plugin, but no longer than its timeout or the request's life. */
function raceDeadline(
  deadlines: DeadlineScheduler,
  pending: PromiseLike<unknown>,
  call: GuardedCall,
  record: PluginRecord,
  operation: string,
  scope: RequestScope | undefined,
  timeoutMs: number,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const deadline = deadlines.schedule(timeoutMs, () => {
      stopWatchingAbort?.();
      const error = new PlugboardError(
        'PLUGIN_TIMEOUT',
        `Plugin "${record.name}" did not finish ${operation} within ${timeoutMs} ms`,
        { plugin: record.name, hook: operation, details: { timeoutMs } },
      );
      call.abort(error);
      reject(error);
    });
    const stopWatchingAbort = scope?.onAbort((error) => {
      deadline.cancel();
      call.abort(error);
      reject(error);
    });
    pending.then(
      (value) => {
        deadline.cancel();
        stopWatchingAbort?.();
        resolve(value);
      },
      (error: unknown) => {
        deadline.cancel();
        stopWatchingAbort?.();
        reject(error);
      },
    );
  });
}

/**
 * The PluginCall handed to plugins. Its AbortSignal and child logger are created only
 * when a plugin reads them: most calls never do, and both cost more than the call itself.
 */
class GuardedCall implements PluginCall {
  #controller: AbortController | undefined;
  #logger: Logger | undefined;
  #abortReason: unknown;

  constructor(
    private readonly record: PluginRecord,
    private readonly scope: RequestScope | undefined,
  ) {}

  get plugin(): string {
    return this.record.name;
  }

  get requestId(): string | undefined {
    return this.scope?.requestId;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      if (this.#abortReason !== undefined) controller.abort(this.#abortReason);
      // The signal outlives the call for streams a backend returns: keep it tied to the request.
      else this.scope?.onAbort((error) => controller.abort(error));
    }
    return this.#controller.signal;
  }

  get logger(): Logger {
    this.#logger ??= this.scope?.requestId
      ? this.record.logger.child({ requestId: this.scope.requestId })
      : this.record.logger;
    return this.#logger;
  }

  abort(reason: unknown): void {
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }
}

/** Makes sure an error names the plugin and operation it came from. */
function attribute(error: PlugboardError, plugin: string, operation: string): PlugboardError {
  if (error.plugin !== undefined && error.hook !== undefined) return error;
  return new PlugboardError(error.code, error.message, {
    plugin: error.plugin ?? plugin,
    hook: error.hook ?? operation,
    cause: error.cause,
    ...(error.details === undefined ? {} : { details: error.details }),
    status: error.status,
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
