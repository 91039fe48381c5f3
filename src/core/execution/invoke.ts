// The global `performance` is an accessor (~7 ns a read); the module's export is the same object.
import { performance } from 'node:perf_hooks';
import { circuitOpen, pluginTimeout } from '../errors/core-errors.ts';
import { isRefusal, type PlugboardError, toPlugboardError } from '../errors/plugboard-error.ts';
import type { Logger } from '../logger.ts';
import type { PluginCall } from '../plugin/plugin-call.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import { isPluginResult, type PluginResult } from '../result.ts';
import type { ServiceAccess } from '../services/service-ref.ts';
import type { JsonValue } from '../stores/json.ts';
import { endObserved, type ObservedCall, type ObservedOutcome, observeCall } from './call-observer.ts';
import { type DirectTicket, isBreakerRejection, type PluginCircuitBreaker } from './circuit-breaker.ts';
import type { Deadline, DeadlineScheduler } from './deadline-scheduler.ts';
import { CLEAN_TICKET, STRAY_OPERATION } from './plugin-breakers.ts';
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
  /**
   * The request id when there is no scope: calls made for a request that must not be
   * cancelled with it (`requestEnd` and `error` hooks), for logs and traces.
   */
  readonly requestId?: string | undefined;
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
export function invokePlugin<T>(
  deadlines: DeadlineScheduler,
  record: PluginRecord,
  operation: string,
  fn: (call: PluginCall) => unknown,
  validate: ResultValidator<T>,
  options: InvokeOptions = NO_OPTIONS,
): Promise<PluginResult<T>> {
  const result = invokeGuarded(deadlines, record, operation, fn, validate, options);
  return result instanceof Promise ? result : Promise.resolve(result);
}

/**
 * {@link invokePlugin} for the hot path: the same guard, but when the plugin method answers
 * synchronously and the breaker is on its fast path (closed, nothing pending), the result
 * comes back synchronously, without a single promise. Most no-op and cheap plugins
 * (filters, header checks, observers) answer synchronously, and every promise and
 * microtask of a call is paid once per plugin per message.
 */
export function invokeGuarded<T>(
  deadlines: DeadlineScheduler,
  record: PluginRecord,
  operation: string,
  fn: (call: PluginCall) => unknown,
  validate: ResultValidator<T>,
  options: InvokeOptions = NO_OPTIONS,
): PluginResult<T> | Promise<PluginResult<T>> {
  const call = new GuardedCall<T>(deadlines, record, operation, validate, options);
  record.hold();
  if (options.useBreaker === false) return call.runDirect(fn, undefined);
  const breakers = record.breakers;
  // A healthy plugin: no breaker to consult (see PluginBreakers.clean).
  if (breakers.clean) return call.runDirect(fn, CLEAN_TICKET);
  if (breakers.strayCircuitOpen()) return call.skip(STRAY_OPERATION);
  // Each operation has its own breaker (see PluginBreakers).
  const breaker = breakers.for(operation);
  const ticket = breaker.directTicket();
  return ticket === undefined ? call.runThroughBreaker(fn, breaker) : call.runDirect(fn, ticket);
}

const NO_OPTIONS: InvokeOptions = Object.freeze({});

function recordFailure(
  record: PluginRecord,
  operation: string,
  thrown: unknown,
  durationMs: number,
  requestId: string | undefined,
): PlugboardError {
  if (isBreakerRejection(thrown)) {
    record.metrics.record(operation, 'skipped', 0);
    record.logger.warn(
      { operation, ...requestField(requestId), success: false, error: 'PLUGIN_CIRCUIT_OPEN' },
      'circuit open: call skipped',
    );
    return circuitOpen(record.name, operation, record.breakers.for(operation).status);
  }
  const error = attribute(
    toPlugboardError(thrown, 'PLUGIN_CALL_FAILED', { plugin: record.name, hook: operation }),
    record.name,
    operation,
  );
  if (error.code === 'REQUEST_ABORTED') return error;
  if (isRefusal(error)) {
    // The plugin did its job: it refused this request on purpose (content blocked, over budget).
    record.metrics.record(operation, 'success', durationMs);
    record.logger.info(
      { operation, ...requestField(requestId), duration_ms: round(durationMs), refused: error.code },
      `${operation} refused the request`,
    );
    return error;
  }
  record.metrics.record(operation, error.code === 'PLUGIN_TIMEOUT' ? 'timeout' : 'failure', durationMs);
  record.lastError = error;
  record.logger.error(
    {
      operation,
      ...requestField(requestId),
      duration_ms: round(durationMs),
      success: false,
      error: error.code,
      cause: error.message,
      // The stack once per distinct failure, not on every request that meets the same bug.
      ...(record.isNewFailure(operation, error.message) ? { err: error.cause ?? error } : {}),
    },
    `${operation} failed`,
  );
  return error;
}

/** The request id of a log line, under the name every request log line uses. */
function requestField(requestId: string | undefined): { request_id?: string } {
  return requestId === undefined ? {} : { request_id: requestId };
}

/** How a failed call ended, for a call observer. */
function observedOutcome(error: PlugboardError): ObservedOutcome {
  switch (error.code) {
    case 'PLUGIN_CIRCUIT_OPEN':
      return 'skipped';
    case 'PLUGIN_TIMEOUT':
      return 'timeout';
    case 'REQUEST_ABORTED':
      return 'aborted';
    default:
      return 'failure';
  }
}

/**
 * One guarded plugin call: the PluginCall handed to the plugin, and the state of the guard.
 * Its AbortSignal and child logger are created only when a plugin reads them: most calls
 * never do, and both cost more than the call itself.
 */
class GuardedCall<T> implements PluginCall {
  readonly #start = performance.now();
  readonly #deadlines: DeadlineScheduler;
  readonly #record: PluginRecord;
  readonly #operation: string;
  readonly #validate: ResultValidator<T>;
  readonly #scope: RequestScope | undefined;
  readonly #requestId: string | undefined;
  readonly #timeoutMs: number;
  #controller: AbortController | undefined;
  #logger: Logger | undefined;
  /** Set only while a call observer (tracing) watches this call. */
  #observed: ObservedCall | undefined;
  #abortReason: unknown;
  // While waiting for the plugin's promise (see #settleDirect):
  #resolveWait: ((result: PluginResult<T> | Promise<PluginResult<T>>) => void) | undefined;
  #ticket: DirectTicket | undefined;
  #deadline: Deadline | undefined;
  #list: WaitingCalls | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: a list links calls of every result type
  #previous: GuardedCall<any> | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: a list links calls of every result type
  #next: GuardedCall<any> | undefined;

  constructor(
    deadlines: DeadlineScheduler,
    record: PluginRecord,
    operation: string,
    validate: ResultValidator<T>,
    options: InvokeOptions,
  ) {
    this.#deadlines = deadlines;
    this.#record = record;
    this.#operation = operation;
    this.#validate = validate;
    this.#scope = options.scope;
    this.#requestId = options.scope?.requestId ?? options.requestId;
    this.#timeoutMs =
      options.timeoutMs ?? (operation.startsWith('hook:') ? record.config.hookTimeoutMs : record.config.timeoutMs);
    // Tracing off (the usual case): one check of an undefined field, nothing else.
    const observer = record.observer;
    if (observer !== undefined) this.#observed = observeCall(observer, record.name, operation, this.#requestId);
  }

  get plugin(): string {
    return this.#record.name;
  }

  get requestId(): string | undefined {
    return this.#requestId;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      if (this.#abortReason !== undefined) controller.abort(this.#abortReason);
      // The signal outlives the call for streams a backend returns: keep it tied to the request.
      else this.#scope?.onAbort((error) => controller.abort(error));
    }
    return this.#controller.signal;
  }

  get logger(): Logger {
    this.#logger ??= this.#requestId ? this.#record.logger.child({ request_id: this.#requestId }) : this.#record.logger;
    return this.#logger;
  }

  get services(): ServiceAccess {
    return this.#record.services;
  }

  setResponseHeader(name: string, value: string): boolean {
    const sink = this.#scope?.responseHeaders;
    if (sink === undefined || typeof name !== 'string' || typeof value !== 'string') return false;
    return sink(name.toLowerCase(), value);
  }

  setResponseData(key: string, value: JsonValue): boolean {
    return this.#scope?.requestId !== undefined && this.#scope.setResponseData(key, value);
  }

  /**
   * The breaker's fast path (or no breaker): the plugin runs here and now; only a failure is
   * reported to the breaker, before the result is returned (as `breaker.run` does).
   */
  runDirect(
    fn: (call: PluginCall) => unknown,
    ticket: DirectTicket | undefined,
  ): PluginResult<T> | Promise<PluginResult<T>> {
    let value: unknown;
    try {
      const abortError = this.#scope?.abortError;
      if (abortError) throw abortError;
      value = fn(this);
      if (!isThenable(value)) {
        const durationMs = this.#checkOverrun();
        return this.#succeed(this.#unwrap(value), durationMs);
      }
    } catch (thrown) {
      return this.#failDirect(ticket, thrown);
    }
    return this.#settleDirect(value, ticket);
  }

  /** Skips the call: the circuit of `operation` (not the call's own) is open. */
  skip(operation: string): PluginResult<T> {
    const record = this.#record;
    const error = circuitOpen(record.name, operation, record.breakers.for(operation).status);
    record.metrics.record(this.#operation, 'skipped', 0);
    record.release();
    if (this.#observed !== undefined) endObserved(this.#observed, 'skipped', error.code);
    return { ok: false, error, durationMs: 0 };
  }

  /** Through cockatiel's breaker: after a failure, while half-open, and to be rejected while open. */
  async runThroughBreaker(fn: (call: PluginCall) => unknown, breaker: PluginCircuitBreaker): Promise<PluginResult<T>> {
    try {
      return this.#succeed(await breaker.run(() => this.#runToPromise(fn)));
    } catch (thrown) {
      return this.#fail(thrown);
    }
  }

  async #runToPromise(fn: (call: PluginCall) => unknown): Promise<T> {
    const abortError = this.#scope?.abortError;
    if (abortError) throw abortError;
    let value = fn(this);
    if (isThenable(value)) value = await this.#race(value);
    this.#checkOverrun();
    return this.#unwrap(value);
  }

  /**
   * Waits for the plugin, but no longer than its timeout or the request's life, and settles
   * the call. The promise resolves with the PluginResult itself: one promise per call, not
   * a race followed by an async function awaiting it. The first of the three to happen
   * settles the call; the others are ignored.
   *
   * The request's abort reaches the call through the request's list of waiting calls (see
   * {@link WaitingCalls}), not a listener registered with the scope per call: a closure in
   * the scope's Set and the closure that removes it cost ~0.3 µs per call.
   */
  #settleDirect(pending: PromiseLike<unknown>, ticket: DirectTicket | undefined): Promise<PluginResult<T>> {
    return new Promise((resolve) => {
      this.#resolveWait = resolve;
      this.#ticket = ticket;
      const scope = this.#scope;
      if (scope !== undefined) {
        const aborted = scope.abortError;
        if (aborted !== undefined) {
          this.#interrupt(aborted);
          return;
        }
        this.#link(scope);
      }
      // The plugin's time began when it was called.
      this.#deadline = this.#deadlines.schedule(this.#timeoutMs, () => this.#expire(), this.#start);
      pending.then(
        (value) => this.#arrive(value),
        (error: unknown) => this.#arriveFailed(error),
      );
    });
  }

  /**
   * Ends the wait; returns the function that settles the call, to the first caller only.
   * The call lets go of everything the wait held: a backend's stream keeps its PluginCall
   * (for `signal`) for as long as it runs, and the settling function leads to the whole
   * request (its promises, generators, steps). Kept, it let each request's objects survive
   * minor GCs (measured: ~0.3 MB promoted per scavenge, millisecond pauses).
   */
  #endWait(): ((result: PluginResult<T> | Promise<PluginResult<T>>) => void) | undefined {
    const resolve = this.#resolveWait;
    if (resolve === undefined) return undefined;
    this.#resolveWait = undefined;
    this.#deadline?.cancel();
    this.#deadline = undefined;
    this.#unlink();
    return resolve;
  }

  #arrive(value: unknown): void {
    this.#endWait()?.(this.#settleValue(value, this.#ticket));
  }

  #arriveFailed(error: unknown): void {
    this.#endWait()?.(this.#failDirect(this.#ticket, error));
  }

  #expire(): void {
    const resolve = this.#endWait();
    if (resolve === undefined) return;
    const error = this.#timeoutError();
    this.#abort(error);
    resolve(this.#failDirect(this.#ticket, error));
  }

  /** The request was aborted while the plugin worked. */
  #interrupt(error: PlugboardError): void {
    const resolve = this.#endWait();
    if (resolve === undefined) return;
    this.#abort(error);
    resolve(this.#failDirect(this.#ticket, error));
  }

  #link(scope: RequestScope): void {
    let list = waitingCalls.get(scope);
    if (list === undefined) {
      const calls = new WaitingCalls();
      waitingCalls.set(scope, calls);
      // One listener per request for all its calls (see WaitingCalls).
      scope.onAbort((error) => {
        for (let call = calls.head; call !== undefined; call = calls.head) call.#interrupt(error);
      });
      list = calls;
    }
    this.#list = list;
    const head = list.head;
    this.#next = head;
    if (head !== undefined) head.#previous = this;
    list.head = this;
  }

  #unlink(): void {
    const list = this.#list;
    if (list === undefined) return;
    const previous = this.#previous;
    const next = this.#next;
    if (previous !== undefined) previous.#next = next;
    else list.head = next;
    if (next !== undefined) next.#previous = previous;
    this.#list = undefined;
    this.#previous = undefined;
    this.#next = undefined;
  }

  #settleValue(value: unknown, ticket: DirectTicket | undefined): PluginResult<T> | Promise<PluginResult<T>> {
    let unwrapped: T;
    let durationMs: number;
    try {
      durationMs = this.#checkOverrun();
      unwrapped = this.#unwrap(value);
    } catch (thrown) {
      return this.#failDirect(ticket, thrown);
    }
    return this.#succeed(unwrapped, durationMs);
  }

  async #failDirect(ticket: DirectTicket | undefined, thrown: unknown): Promise<PluginResult<T>> {
    if (ticket === CLEAN_TICKET) await this.#record.breakers.reportCleanFailure(this.#operation, thrown);
    else if (ticket !== undefined) await this.#record.breakers.for(this.#operation).reportDirectFailure(ticket, thrown);
    return this.#fail(thrown);
  }

  /** A PluginResult the plugin returned is unwrapped; the value is validated. Throws if either fails. */
  #unwrap(value: unknown): T {
    if (isPluginResult(value)) {
      if (!value.ok) throw value.error;
      return this.#validate(value.value);
    }
    return this.#validate(value);
  }

  /** @param durationMs the call's duration when the caller measured it already (one clock read per call) */
  #succeed(value: T, durationMs = performance.now() - this.#start): PluginResult<T> {
    const record = this.#record;
    record.metrics.record(this.#operation, 'success', durationMs);
    record.release();
    if (this.#observed !== undefined) endObserved(this.#observed, 'success');
    return { ok: true, value, durationMs };
  }

  #fail(thrown: unknown): PluginResult<T> {
    const durationMs = performance.now() - this.#start;
    const scope = this.#scope;
    // Whatever a plugin throws once the request is aborted (fetch's AbortError …) is the abort.
    const cause = scope?.abortError !== undefined && !isBreakerRejection(thrown) ? scope.abortError : thrown;
    try {
      const error = recordFailure(this.#record, this.#operation, cause, durationMs, this.#requestId);
      if (this.#observed !== undefined) endObserved(this.#observed, observedOutcome(error), error.code);
      return { ok: false, error, durationMs };
    } finally {
      this.#record.release();
    }
  }

  /** Waits for the plugin, but no longer than its timeout or the request's life. */
  #race(pending: PromiseLike<unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const deadline = this.#deadlines.schedule(this.#timeoutMs, () => {
        stopWatchingAbort?.();
        const error = this.#timeoutError();
        this.#abort(error);
        reject(error);
      });
      const stopWatchingAbort = this.#scope?.onAbort((error) => {
        deadline.cancel();
        this.#abort(error);
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
   * A plugin that blocks the event loop past its deadline (a busy loop, a huge synchronous
   * parse) returns before the deadline's timer can fire: the call still overran, and counts
   * as a timeout, not a success. Its late result is dropped, as an asynchronous call's is.
   * (Only a separate process can cut the loop itself: see the sandbox.) Returns the call's
   * duration so far, for the success that follows: one clock read, not two.
   */
  #checkOverrun(): number {
    const durationMs = performance.now() - this.#start;
    if (durationMs > this.#timeoutMs) throw this.#timeoutError();
    return durationMs;
  }

  #timeoutError(): PlugboardError {
    return pluginTimeout(this.#record.name, this.#operation, this.#timeoutMs);
  }

  #abort(reason: unknown): void {
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }
}

/**
 * The calls of one request that are waiting for a plugin's promise, linked through the
 * calls themselves. The request's abort settles each of them at once, through a single
 * listener per request.
 */
class WaitingCalls {
  // biome-ignore lint/suspicious/noExplicitAny: a list links calls of every result type
  head: GuardedCall<any> | undefined;
}

const waitingCalls = new WeakMap<RequestScope, WaitingCalls>();

/** Makes sure an error names the plugin and operation it came from. */
/** The error named after the plugin and operation it came from, unless it names them already. */
export function attribute(error: PlugboardError, plugin: string, operation: string): PlugboardError {
  if (error.plugin !== undefined && error.hook !== undefined) return error;
  return error.withOrigin({ plugin: error.plugin ?? plugin, hook: error.hook ?? operation });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
