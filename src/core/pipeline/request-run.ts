import { failedClosed } from '../errors/core-errors.ts';
import { isRefusal, type PlugboardError } from '../errors/plugboard-error.ts';
import type { DeadlineScheduler } from '../execution/deadline-scheduler.ts';
import { type InvokeOptions, invokeGuarded } from '../execution/invoke.ts';
import type { RequestScope } from '../execution/request-scope.ts';
import {
  type DispatchOptions,
  type HandlerOutcome,
  type HookDispatch,
  type HookManager,
  type HookTable,
  stepOf,
} from '../hooks/hook-manager.ts';
import type { HookName, HookPayload } from '../hooks/hook-map.ts';
import type { Logger } from '../logger.ts';
import type { ChatContext } from '../model/context.ts';
import type { ChatChunk, PluginStep } from '../model/reply.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import type { PluginResult } from '../result.ts';
import type { ModelRouter } from '../routing/model-router.ts';
import type { OutputChainEnv } from './output-chain.ts';
import type { PipelineSnapshot, SnapshotLease } from './snapshot.ts';

/** What the pipeline needs from the manager that runs it. */
export interface PipelineEnv {
  readonly deadlines: DeadlineScheduler;
  readonly hooks: HookManager;
  readonly logger: Logger;
  /** Resolves model names to backends (after middleware: a refused caller learns nothing of them). */
  readonly router: ModelRouter;
  /** Most model calls one request may make (tool loops). */
  readonly maxTurns: number;
  /** Returns the current snapshot's lease, already acquired for this request. */
  readonly acquireSnapshot: () => SnapshotLease;
}

/**
 * The state of one request while it runs — its steps, the text emitted so far, the failures
 * of fail-open plugins waiting to be reported to the `error` hook — and the guarded ways to
 * call its plugins. Every stage of the pipeline calls plugins through it.
 */
export class RequestRun {
  readonly steps: PluginStep[];
  emittedText = '';
  #chunkIndex = 0;
  #bypassed: PlugboardError[] = [];
  readonly chainEnv: OutputChainEnv;
  /** Built once per request, not per call. */
  readonly #invokeOptions: InvokeOptions;
  readonly #dispatchOptions: DispatchOptions;
  /** For hooks that run after an abort too: no request scope, only the request id. */
  readonly #afterwardsOptions: DispatchOptions;

  constructor(
    readonly env: PipelineEnv,
    readonly snapshot: PipelineSnapshot,
    readonly scope: RequestScope,
    /** Where steps are recorded; a stream's caller may watch it (see ChatStream.steps). */
    steps: PluginStep[] = [],
  ) {
    this.steps = steps;
    this.chainEnv = {
      deadlines: env.deadlines,
      scope,
      steps: this.steps,
      onBypass: (error: PlugboardError) => this.#bypassed.push(error),
    };
    this.#invokeOptions = { scope };
    this.#dispatchOptions = { scope, table: snapshot.hooks as HookTable, steps: this.steps };
    // The same shape for every request: no spread (option objects of varying shapes make the
    // guard's property reads polymorphic; measured ~7 µs per message with 10 plugins).
    this.#afterwardsOptions = { requestId: scope.requestId, table: snapshot.hooks as HookTable, steps: this.steps };
  }

  /**
   * Calls a plugin method under fault isolation; a failure is bypassed or, if fail-closed,
   * thrown. Synchronous when the plugin answered synchronously (callers `await` it either way).
   */
  call<T>(
    record: PluginRecord,
    operation: string,
    fn: Parameters<typeof invokeGuarded<T>>[3],
    validate: (value: unknown) => T,
    bypassable = true,
  ): PluginResult<T> | Promise<PluginResult<T>> {
    const result = invokeGuarded(this.env.deadlines, record, operation, fn, validate, this.#invokeOptions);
    if (result instanceof Promise)
      return result.then((settled) => this.#afterCall(record, operation, settled, bypassable));
    return this.#afterCall(record, operation, result, bypassable);
  }

  /**
   * Records a failure the pipeline found in what a plugin did (not a failed call): a step, then
   * bypass or, for a fail-closed plugin, rejection — as for a failed call.
   */
  fail(record: PluginRecord, operation: string, error: PlugboardError): void {
    record.lastError = error;
    record.logger.error(
      { operation, request_id: this.scope.requestId, success: false, error: error.code, cause: error.message },
      `${operation} failed`,
    );
    this.#afterCall(record, operation, { ok: false, error, durationMs: 0 }, true);
  }

  #afterCall<T>(
    record: PluginRecord,
    operation: string,
    result: PluginResult<T>,
    bypassable: boolean,
  ): PluginResult<T> {
    this.steps.push(stepOf(record.name, operation, result));
    if (!result.ok && bypassable) {
      if (this.scope.abortError) throw this.scope.abortError;
      // A plugin's deliberate 4xx ends the request as it is (named by the guard), whatever its failure policy.
      if (isRefusal(result.error)) throw result.error;
      if (record.config.failurePolicy === 'closed') throw failedClosed(record.name, result.error);
      this.#bypassed.push(result.error);
    }
    return result;
  }

  /**
   * Runs a waterfall hook; a fail-closed handler's failure rejects the request. Like
   * {@link call}, synchronous when every handler answered synchronously.
   */
  waterfall<H extends HookName>(
    hook: H,
    payload: HookPayload<H>,
    validate: (value: unknown) => unknown,
  ): HookPayload<H> | Promise<HookPayload<H>> {
    if (!this.env.hooks.has(hook, this.snapshot.hooks)) return payload;
    // The payload is ours: freezing it spares the hook manager a frozen copy.
    // Spelt out, not `{ ...this.#dispatchOptions, validateSubject }`: V8 builds a spread of an
    // unfrozen object plus a new key on a slow path, ~0.5 µs each time.
    const options = this.#dispatchOptions;
    const dispatch = this.env.hooks.dispatch(hook, Object.freeze(payload) as HookPayload<H>, {
      scope: options.scope,
      table: options.table,
      steps: options.steps,
      validateSubject: validate,
    });
    if (dispatch instanceof Promise) return dispatch.then((done) => this.#afterWaterfall(done));
    return this.#afterWaterfall(dispatch);
  }

  #afterWaterfall<H extends HookName>(dispatch: HookDispatch<H>): HookPayload<H> {
    this.#afterDispatch(dispatch.results, dispatch.rejection);
    return dispatch.payload;
  }

  /** Runs a non-waterfall hook; synchronous when every handler answered synchronously. */
  dispatch<H extends HookName>(hook: H, payload: HookPayload<H>): void | Promise<void> {
    if (!this.env.hooks.has(hook, this.snapshot.hooks)) return;
    // requestEnd and error hooks run after an abort too, so they get no request scope.
    const afterwards = hook === 'requestEnd' || hook === 'error';
    const dispatch = this.env.hooks.dispatch(
      hook,
      Object.freeze(payload) as HookPayload<H>,
      afterwards ? this.#afterwardsOptions : this.#dispatchOptions,
    );
    if (afterwards) return dispatch instanceof Promise ? dispatch.then(ignore) : undefined;
    if (dispatch instanceof Promise) return dispatch.then((done) => this.#afterDispatch(done.results, done.rejection));
    this.#afterDispatch(dispatch.results, dispatch.rejection);
  }

  /**
   * Emits one chunk: the `streamChunk` hook sees it, then the caller gets it (`yield` it:
   * an async generator's `yield` awaits a promise). A plain function, not a generator
   * delegated to with `yield*`: that cost a generator and several microtasks per chunk.
   */
  emit(chunk: ChatChunk, context: ChatContext): ChatChunk | Promise<ChatChunk> {
    const index = this.#chunkIndex++;
    if (!this.env.hooks.has('streamChunk', this.snapshot.hooks)) return chunk;
    // As `dispatch` does, inlined: one promise less per chunk when a handler is asynchronous.
    const payload = Object.freeze({ chunk, index, context });
    const dispatch = this.env.hooks.dispatch('streamChunk', payload, this.#dispatchOptions);
    if (dispatch instanceof Promise) {
      return dispatch.then((done) => {
        this.#afterDispatch(done.results, done.rejection);
        return chunk;
      });
    }
    this.#afterDispatch(dispatch.results, dispatch.rejection);
    return chunk;
  }

  /** Reports bypassed plugin failures to the `error` hook. */
  async flushBypassed(context: ChatContext): Promise<void> {
    if (this.#bypassed.length === 0) return;
    const errors = this.#bypassed;
    this.#bypassed = [];
    for (const error of errors) await this.dispatch('error', { error, stage: error.hook ?? 'plugin', context });
  }

  #afterDispatch(results: readonly HandlerOutcome[], rejection: PlugboardError | undefined): void {
    if (this.scope.abortError) throw this.scope.abortError;
    if (rejection !== undefined) throw failedClosed(rejection.plugin ?? 'unknown', rejection);
    for (const { result } of results) if (!result.ok) this.#bypassed.push(result.error);
  }
}

function ignore(): void {}
