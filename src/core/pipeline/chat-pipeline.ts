// The global `performance` is an accessor (~7 ns a read); the module's export is the same object.
import { performance } from 'node:perf_hooks';
import { PlugboardError, toPlugboardError } from '../errors/plugboard-error.ts';
import { bulkheadFor, type Release } from '../execution/bulkhead.ts';
import type { DeadlineScheduler } from '../execution/deadline-scheduler.ts';
import { type InvokeOptions, invokeGuarded } from '../execution/invoke.ts';
import { RequestScope } from '../execution/request-scope.ts';
import {
  type DispatchOptions,
  type HandlerOutcome,
  type HookDispatch,
  type HookManager,
  type HookTable,
  stepOf,
} from '../hooks/hook-manager.ts';
import type { HookName, HookPayload, RequestOutcome } from '../hooks/hook-map.ts';
import type { Logger } from '../logger.ts';
import type { ChatContext } from '../model/context.ts';
import type { Message, ToolCall } from '../model/message.ts';
import type { BackendReply, ChatChunk, ChatResponse, FinishReason, PluginStep, Usage } from '../model/reply.ts';
import type { RespondDecision } from '../plugin/kinds.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import { fail, ok, type PluginResult } from '../result.ts';
import { deepFreeze } from '../util/deep-freeze.ts';
import { backoffMs, decideAfterFailure, pause } from './backend-retry.ts';
import { readBackendReply } from './backend-stream.ts';
import { failedClosed, OutputChain } from './output-chain.ts';
import type { PipelineSnapshot, SnapshotLease } from './snapshot.ts';
import {
  contextValidator,
  messageValidator,
  requestValidator,
  responseValidator,
  validateBackendReply,
} from './validators.ts';

/** What the pipeline needs from the manager that runs it. */
export interface PipelineEnv {
  readonly deadlines: DeadlineScheduler;
  readonly hooks: HookManager;
  readonly logger: Logger;
  /** Most model calls one request may make (tool loops). */
  readonly maxTurns: number;
  /** Returns the current snapshot's lease, already acquired for this request. */
  readonly acquireSnapshot: () => SnapshotLease;
}

/** Options of one chat request. */
export interface ChatOptions {
  /** Aborting it stops the request: the backend stream, any running plugin call. */
  readonly signal?: AbortSignal;
  /**
   * Another way to cancel, for callers that track many requests themselves (the HTTP
   * server): called once, as the request starts, with a function that aborts it. It spares
   * an AbortController and an EventTarget listener per request, which on a server's hot
   * path cost more than several plugin calls.
   *
   * @example
   * ```ts
   * let abort: ((reason?: unknown) => void) | undefined;
   * const reply = manager.chat(context, { cancellation: (cancel) => (abort = cancel) });
   * abort?.(new Error('client went away'));
   * ```
   */
  readonly cancellation?: (abort: (reason?: unknown) => void) => void;
}

/**
 * Runs one chat request through every plugin. Streaming and non-streaming requests take
 * this same path; the only difference is whether chunks are yielded as they are produced
 * (`context.stream`) and whether output processors work in windows or on the whole reply.
 *
 * The order, top to bottom:
 *  1. middleware `processRequest`, in priority order (may answer or reject the request);
 *  2. `requestStart` hook;
 *  3. message processors on the incoming user message (a failure keeps the previous message);
 *  4. `messageReceived` hook;
 *  5. feature extensions `extend` the context;
 *  6. for each model turn: `beforeModelCall` → backend `chat` (streamed or not) → output
 *     processors on the text as it arrives → `afterModelCall` → extensions'
 *     `continueConversation` may ask for another turn (tool loops);
 *  7. output processors finish (buffering ones run on the whole reply);
 *  8. `messageSent` hook;
 *  9. middleware `processResponse`, in reverse order;
 * 10. `requestEnd` hook — always, also after an error, a rejection or an abort.
 * Any error fires the `error` hook. Failing fail-open plugins are bypassed (recorded in
 * `steps`); failing fail-closed plugins reject the request.
 *
 * Yields chunks only when `initial.stream` is true; returns the final ChatResponse.
 */
export async function* runChatPipeline(
  env: PipelineEnv,
  initial: ChatContext,
  options: ChatOptions = {},
): AsyncGenerator<ChatChunk, ChatResponse, undefined> {
  const lease = env.acquireSnapshot();
  const snapshot = lease.snapshot;
  const streaming = initial.stream;
  const scope = new RequestScope(initial.requestId, options.signal, options.cancellation);
  const run = new RequestRun(env, snapshot, scope);
  const startedAt = performance.now();
  let context = initial;
  let outcome: RequestOutcome = 'failed';
  let ended = false;
  try {
    // 1. Middleware on the way in.
    const entered: PluginRecord[] = [];
    let answer: { decision: RespondDecision; by: PluginRecord } | undefined;
    for (const record of snapshot.middleware) {
      if (record.plugin.processRequest === undefined) {
        entered.push(record);
        continue;
      }
      const current = context;
      const result = await run.call(
        record,
        'processRequest',
        (call) => record.plugin.processRequest!(current, call),
        requestValidator(current),
      );
      if (!result.ok) {
        entered.push(record);
        continue;
      }
      const value = result.value;
      if ('decision' in value) {
        if (value.decision === 'reject') {
          outcome = 'rejected';
          throw attribute(value.error, record);
        }
        answer = { decision: value, by: record };
        break;
      }
      context = value;
      entered.push(record);
    }

    let message: Message;
    let usage: Usage | undefined;
    let finishReason: FinishReason | undefined;
    let backendName: string | undefined;
    let model = context.model;
    let turns = 0;
    const metadata: Record<string, unknown> = {};
    /** Failed backend calls of this request and what followed (retry or fallback), for `metadata`. */
    const backendAttempts: { backend: string; code: string; message: string; next: string }[] = [];
    const triedBackends = new Set<string>();

    if (answer !== undefined) {
      // A middleware answered (e.g. a cache hit): no backend, no processors.
      message = answer.decision.message;
      usage = answer.decision.usage;
      finishReason = 'stop';
      Object.assign(metadata, answer.decision.metadata, { answeredBy: answer.by.name });
      if (streaming)
        yield run.emit(
          { content: message.content, ...(message.toolCalls ? { toolCalls: message.toolCalls } : {}) },
          context,
        );
      if (streaming) yield run.emit({ finishReason, ...(usage ? { usage } : {}) }, context);
    } else {
      // 2. Request start.
      context = (await run.waterfall('requestStart', { context }, contextValidator(context))).context;

      // 3. Message processors on the incoming user message.
      context = await run.processIncoming(context);

      // 4. Message received.
      const userIndex = lastIndexOfRole(context.messages, 'user');
      if (userIndex >= 0 && env.hooks.has('messageReceived', snapshot.hooks)) {
        const received = context.messages[userIndex]!;
        const { message: after } = await run.waterfall(
          'messageReceived',
          { message: received, context },
          messageValidator(received),
        );
        if (after !== received) context = replaceMessage(context, userIndex, after);
      }

      // 5. Feature extensions enhance the context before the backend.
      for (const record of snapshot.extensions) {
        const current = context;
        const result = await run.call(
          record,
          'extend',
          (call) => record.plugin.extend!(current, call),
          contextValidator(current),
        );
        if (result.ok) context = result.value;
      }

      // 6. Model turns.
      let backend = selectBackend(snapshot, context);
      backendName = backend.name;
      triedBackends.add(backend.name);
      context = routeTo(backend.name, context);
      const chain = new OutputChain(snapshot.outputProcessors, streaming, run.chainEnv);
      let toolCalls: readonly ToolCall[] = [];
      let thinking = '';
      for (let turn = 1; ; turn++) {
        if (turn > env.maxTurns) {
          throw new PlugboardError('TOO_MANY_TURNS', `Request needed more than ${env.maxTurns} model turns`, {
            details: { maxTurns: env.maxTurns },
          });
        }
        turns = turn;
        context = (
          await run.waterfall('beforeModelCall', { context, backend: backend.name, turn }, contextValidator(context))
        ).context;
        const callStart = performance.now();
        // The call, with the backend's retries and then its fallback (see BackendSettings).
        let reply: BackendReply | undefined;
        /** The backend's bulkhead slot, held until its reply is read to the end. */
        let release: Release | undefined;
        for (let attempt = 0; reply === undefined; attempt++) {
          const caller = backend;
          const turnContext = context;
          const slot = await takeSlot(caller, scope);
          const result = slot.ok
            ? await run.call(
                caller,
                'chat',
                (call) => caller.plugin.chat!(turnContext, call),
                validateBackendReply,
                false,
              )
            : slot;
          if (result.ok) {
            reply = result.value;
            release = slot.ok ? slot.value : undefined;
            break;
          }
          if (slot.ok) slot.value?.();
          const decision = decideAfterFailure(result.error);
          const failure = backendFailed(caller, result.error);
          const { retries, retryDelayMs, fallback } = caller.config.backend;
          if (decision === 'retry' && attempt < retries) {
            backendAttempts.push({ backend: caller.name, code: failure.code, message: failure.message, next: 'retry' });
            await pause(backoffMs(attempt, retryDelayMs, result.error), scope);
            continue;
          }
          const next = decision === 'fail' || fallback === undefined ? undefined : snapshot.backends.get(fallback);
          if (next === undefined || triedBackends.has(next.name)) throw failure;
          backendAttempts.push({ backend: caller.name, code: failure.code, message: failure.message, next: next.name });
          triedBackends.add(next.name);
          backend = next;
          backendName = next.name;
          // The fallback answers with its own default model: the one asked for belongs to the failed backend.
          context = handOver(context, next.name);
          model = undefined;
          attempt = -1;
        }
        if (!(Symbol.asyncIterator in reply) && reply.model !== undefined) model = reply.model;

        let turnText = '';
        let turnThinking = '';
        let turnToolCalls: ToolCall[] = [];
        let turnUsage: Usage | undefined;
        let turnFinish: FinishReason | undefined;
        try {
          for await (const chunk of readBackendReply(reply, backend, env.deadlines, scope)) {
            // Reasoning comes before the answer it leads to, also when a chunk carries both.
            if (chunk.thinking) {
              turnThinking += chunk.thinking;
              if (streaming) yield run.emit({ thinking: chunk.thinking }, context);
            }
            if (chunk.content) {
              turnText += chunk.content;
              const settled = chain.push(chunk.content, context);
              if (settled !== '') {
                run.emittedText += settled;
                if (streaming) yield run.emit({ content: settled }, context);
              }
            }
            if (chunk.toolCalls) turnToolCalls = [...turnToolCalls, ...chunk.toolCalls];
            if (chunk.usage) turnUsage = chunk.usage;
            if (chunk.finishReason) turnFinish = chunk.finishReason;
          }
        } finally {
          release?.();
        }
        await run.flushBypassed(context);
        thinking += turnThinking;
        usage = addUsage(usage, turnUsage);
        const turnMessage: Message = deepFreeze({
          role: 'assistant' as const,
          content: turnText,
          ...(turnToolCalls.length ? { toolCalls: turnToolCalls } : {}),
          ...(turnThinking ? { thinking: turnThinking } : {}),
        });
        await run.dispatch('afterModelCall', {
          context,
          backend: backend.name,
          turn,
          message: turnMessage,
          ...(turnUsage ? { usage: turnUsage } : {}),
          ...(turnFinish ? { finishReason: turnFinish } : {}),
          durationMs: performance.now() - callStart,
        });
        const next = await run.continueConversation(
          {
            message: turnMessage,
            turn,
            ...(turnUsage ? { usage: turnUsage } : {}),
            ...(turnFinish ? { finishReason: turnFinish } : {}),
          },
          context,
        );
        if (next === undefined) {
          toolCalls = turnToolCalls;
          finishReason = turnFinish ?? (turnToolCalls.length ? 'tool_calls' : 'stop');
          break;
        }
        context = next;
      }

      // 7. Output processors finish; buffering ones see the whole reply.
      const finished = await chain.finish(
        deepFreeze({
          role: 'assistant',
          content: '',
          ...(toolCalls.length ? { toolCalls } : {}),
          ...(thinking ? { thinking } : {}),
        }),
        context,
      );
      if (finished.text !== '') {
        run.emittedText += finished.text;
        if (streaming) yield run.emit({ content: finished.text }, context);
      }
      message = deepFreeze({ ...finished.message, content: run.emittedText });
      if (streaming) {
        yield run.emit(
          {
            ...(message.toolCalls?.length ? { toolCalls: message.toolCalls } : {}),
            finishReason,
            ...(usage ? { usage } : {}),
          },
          context,
        );
      }
      await run.flushBypassed(context);
    }

    if (backendAttempts.length > 0) metadata.backendAttempts = backendAttempts;

    // 8. Message sent.
    await run.dispatch('messageSent', { message, context });

    // 9. Middleware on the way out, in reverse order.
    let response: ChatResponse = deepFreeze({
      requestId: context.requestId,
      message,
      ...(backendName === undefined ? {} : { backend: backendName }),
      ...(model === undefined ? {} : { model }),
      ...(usage === undefined ? {} : { usage }),
      ...(finishReason === undefined ? {} : { finishReason }),
      turns,
      snapshotVersion: snapshot.version,
      steps: run.steps.slice(),
      metadata,
    });
    for (let index = entered.length - 1; index >= 0; index--) {
      const record = entered[index]!;
      if (record.plugin.processResponse === undefined) continue;
      const current = response;
      const finalContext = context;
      const result = await run.call(
        record,
        'processResponse',
        (call) => record.plugin.processResponse!(current, finalContext, call),
        responseValidator(current),
      );
      if (result.ok) response = result.value;
    }
    // The response was built before processResponse ran: record those steps too (a bypassed one included).
    if (run.steps.length !== response.steps.length) response = deepFreeze({ ...response, steps: run.steps.slice() });
    await run.flushBypassed(context);

    // 10. Request end.
    outcome = 'completed';
    ended = true;
    await run.dispatch('requestEnd', { context, outcome, response, durationMs: performance.now() - startedAt });
    return response;
  } catch (thrown) {
    const error = scope.abortError ?? toPlugboardError(thrown, 'INTERNAL_ERROR', {});
    if (error.code === 'REQUEST_ABORTED') outcome = 'aborted';
    else await run.dispatch('error', { error, stage: error.hook ?? 'pipeline', context });
    ended = true;
    await run.dispatch('requestEnd', { context, outcome, error, durationMs: performance.now() - startedAt });
    // Whatever still runs for this request is cancelled: a backend stream that timed out may
    // still hold a connection open, waiting on its service (its call's signal aborts now).
    scope.abort(error);
    throw error;
  } finally {
    if (!ended) {
      // The consumer stopped reading (e.g. the client went away): that is an abort.
      scope.abort();
      await run.dispatch('requestEnd', {
        context,
        outcome: 'aborted',
        error: scope.abortError!,
        durationMs: performance.now() - startedAt,
      });
    }
    scope.dispose();
    lease.release();
  }
}

/**
 * The state of one request while it runs: its steps, the text emitted so far, the
 * failures of fail-open plugins waiting to be reported to the `error` hook.
 */
class RequestRun {
  readonly steps: PluginStep[] = [];
  emittedText = '';
  #chunkIndex = 0;
  #bypassed: PlugboardError[] = [];
  readonly chainEnv;
  /** Built once per request, not per call. */
  readonly #invokeOptions: InvokeOptions;
  readonly #dispatchOptions: DispatchOptions;
  /** For hooks that run after an abort too: no request scope, only the request id. */
  readonly #afterwardsOptions: DispatchOptions;

  constructor(
    private readonly env: PipelineEnv,
    private readonly snapshot: PipelineSnapshot,
    private readonly scope: RequestScope,
  ) {
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

  #afterCall<T>(
    record: PluginRecord,
    operation: string,
    result: PluginResult<T>,
    bypassable: boolean,
  ): PluginResult<T> {
    this.steps.push(stepOf(record.name, operation, result));
    if (!result.ok && bypassable) {
      if (this.scope.abortError) throw this.scope.abortError;
      if (record.config.failurePolicy === 'closed') throw failedClosed(record, result.error);
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

  /** Input processors, in priority order, on the last user message. */
  async processIncoming(context: ChatContext): Promise<ChatContext> {
    const index = lastIndexOfRole(context.messages, 'user');
    if (index < 0 || this.snapshot.inputProcessors.length === 0) return context;
    const original = context.messages[index]!;
    let message = original;
    for (const record of this.snapshot.inputProcessors) {
      const current = message;
      const result = await this.call(
        record,
        'processMessage',
        (call) => record.plugin.processMessage!(current, context, call),
        messageValidator(current),
      );
      if (result.ok) message = result.value;
    }
    await this.flushBypassed(context);
    return message === original ? context : replaceMessage(context, index, message);
  }

  /** Asks each extension whether to call the model again; the first that answers wins. */
  async continueConversation(
    turn: Parameters<NonNullable<PluginRecord['plugin']['continueConversation']>>[0],
    context: ChatContext,
  ) {
    for (const record of this.snapshot.extensions) {
      if (record.plugin.continueConversation === undefined) continue;
      const result = await this.call(
        record,
        'continueConversation',
        (call) => record.plugin.continueConversation!(turn, context, call),
        (value) => (value === undefined ? undefined : contextValidator(context)(value)),
      );
      if (result.ok && result.value !== undefined) return result.value;
    }
    return undefined;
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
    if (rejection !== undefined) {
      throw new PlugboardError(
        'PLUGIN_FAILED_CLOSED',
        `Request rejected: plugin "${rejection.plugin}" failed in ${rejection.hook} and is fail-closed (${rejection.code}: ${rejection.message})`,
        {
          ...(rejection.plugin ? { plugin: rejection.plugin } : {}),
          ...(rejection.hook ? { hook: rejection.hook } : {}),
          cause: rejection,
        },
      );
    }
    for (const { result } of results) if (!result.ok) this.#bypassed.push(result.error);
  }
}

/** Picks the backend: the context's `backend`, a `backend/model` prefix, or the default. */
/**
 * The context as the chosen backend should see it: a `backend/` prefix that chose it is
 * removed from the model (`ollama/llama3.2` → `llama3.2`) and recorded as `backend` instead.
 * Other slashes are part of the model name (`library/llama3`) and stay.
 */
function routeTo(backend: string, context: ChatContext): ChatContext {
  const prefix = `${backend}/`;
  if (context.model === undefined || !context.model.startsWith(prefix)) return context;
  return deepFreeze({ ...context, backend, model: context.model.slice(prefix.length) });
}

/** A bulkhead slot of `record` (none needed without a limit), or the refusal as a failed result. */
async function takeSlot(record: PluginRecord, scope: RequestScope): Promise<PluginResult<Release | undefined>> {
  const bulkhead = bulkheadFor(record);
  if (bulkhead === undefined) return ok(undefined);
  try {
    return ok(await bulkhead.acquire(scope));
  } catch (error) {
    if (error instanceof PlugboardError) return fail(error);
    throw error;
  }
}

/** The context for a fallback backend: routed to it, without the failed backend's model. */
function handOver(context: ChatContext, backend: string): ChatContext {
  const routed: { -readonly [K in keyof ChatContext]?: ChatContext[K] } = { ...context, backend };
  delete routed.model;
  return deepFreeze(routed as ChatContext);
}

export function selectBackend(snapshot: PipelineSnapshot, context: ChatContext): PluginRecord {
  const byPrefix = context.model?.includes('/') ? context.model.slice(0, context.model.indexOf('/')) : undefined;
  const name =
    context.backend ?? (byPrefix !== undefined && snapshot.backends.has(byPrefix) ? byPrefix : snapshot.defaultBackend);
  const record = name === undefined ? undefined : snapshot.backends.get(name);
  if (record !== undefined) return record;
  const available = [...snapshot.backends.keys()];
  throw new PlugboardError(
    'BACKEND_NOT_FOUND',
    available.length === 0
      ? 'No backend provider is active: enable a backend plugin'
      : `No active backend named "${name}"; active backends: ${available.join(', ')}`,
    { details: { requested: name, available } },
  );
}

/** Errors a backend raises about its service, kept as they are: their code and status say it best. */
const BACKEND_ERRORS: ReadonlySet<string> = new Set([
  'BACKEND_UNAVAILABLE',
  'BACKEND_FAILED',
  'MODEL_NOT_FOUND',
  // The backend refused what the caller asked for (e.g. an image URL it will not fetch): a 400.
  'REQUEST_INVALID',
]);

function backendFailed(record: PluginRecord, error: PlugboardError): PlugboardError {
  if (error.code === 'REQUEST_ABORTED' || BACKEND_ERRORS.has(error.code)) return error;
  // A backend that never answered is a gateway timeout; one skipped by its open breaker is unavailable.
  const status = error.code === 'PLUGIN_TIMEOUT' ? 504 : error.code === 'PLUGIN_CIRCUIT_OPEN' ? 503 : undefined;
  return new PlugboardError('BACKEND_FAILED', `Backend "${record.name}" failed: ${error.message}`, {
    plugin: record.name,
    hook: 'chat',
    cause: error,
    ...(status === undefined ? {} : { status }),
  });
}

function attribute(error: PlugboardError, record: PluginRecord): PlugboardError {
  if (error.plugin !== undefined) return error;
  return new PlugboardError(error.code, error.message, {
    plugin: record.name,
    hook: 'processRequest',
    status: error.status,
    ...(error.details ? { details: error.details } : {}),
    ...(error.cause !== undefined ? { cause: error.cause } : {}),
  });
}

function ignore(): void {}

function lastIndexOfRole(messages: readonly Message[], role: Message['role']): number {
  for (let index = messages.length - 1; index >= 0; index--) if (messages[index]!.role === role) return index;
  return -1;
}

function replaceMessage(context: ChatContext, index: number, message: Message): ChatContext {
  const messages = context.messages.slice();
  messages[index] = message;
  return deepFreeze({ ...context, messages });
}

function addUsage(total: Usage | undefined, turn: Usage | undefined): Usage | undefined {
  if (turn === undefined) return total;
  if (total === undefined) return turn;
  return {
    promptTokens: total.promptTokens + turn.promptTokens,
    completionTokens: total.completionTokens + turn.completionTokens,
  };
}
