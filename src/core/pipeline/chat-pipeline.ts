// The global `performance` is an accessor (~7 ns a read); the module's export is the same object.
import { performance } from 'node:perf_hooks';
import { closedPluginDown, tooManyTurns } from '../errors/core-errors.ts';
import { toPlugboardError } from '../errors/plugboard-error.ts';
import { RequestScope, type ResponseHeaderSink } from '../execution/request-scope.ts';
import type { RequestOutcome } from '../hooks/hook-map.ts';
import type { ChatContext } from '../model/context.ts';
import type { Message, ToolCall } from '../model/message.ts';
import type { ChatChunk, ChatResponse, FinishReason, PluginStep, Usage } from '../model/reply.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import { deepFreeze } from '../util/deep-freeze.ts';
import { type Answer, answeredReply, askForAnswer, namingBackend, type Reply } from './answer-stage.ts';
import { type BackendAttempt, callBackend, handOverAfterFailure } from './backend-call.ts';
import { readBackendReply } from './backend-stream.ts';
import { closedGapFor } from './closed-gaps.ts';
import { needsPreparation, prepareContext } from './context-stage.ts';
import { enterMiddleware, leaveMiddleware } from './middleware-stage.ts';
import { OutputChain } from './output-chain.ts';
import { type PipelineEnv, RequestRun } from './request-run.ts';
import { routeRequest } from './route.ts';
import { contextValidator } from './validators.ts';

export type { PipelineEnv } from './request-run.ts';

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
  /**
   * Receives the response headers plugins set with `call.setResponseHeader` (the HTTP server
   * puts them on its reply while its head is not sent); returns false for one it did not take.
   * Without it, such headers go nowhere.
   *
   * @example
   * ```ts
   * const headers = new Map<string, string>();
   * await manager.chat(context, { responseHeaders: (name, value) => (headers.set(name, value), true) });
   * ```
   */
  readonly responseHeaders?: ResponseHeaderSink;
}

/**
 * Runs one chat request through every plugin. Streaming and non-streaming requests take this
 * same path; the only difference is whether chunks are yielded as they are produced
 * (`context.stream`) and whether output processors work in windows or on the whole reply.
 * Each stage is a function a reader can follow; only the model turns, which yield chunks,
 * live in this generator:
 *
 *  1. middleware `processRequest`, in priority order — may answer or reject the request;
 *  2–5. the `requestStart` hook, input processors, the `messageReceived` hook, extensions;
 *  routing: the backend and model (after middleware, so a refused caller learns nothing);
 *  6. model turns: `beforeModelCall` → backend `chat` (retries, fallback) → output processors
 *     on the text as it arrives → `afterModelCall` → `continueConversation` (tool loops);
 *  7. output processors finish (buffering ones run on the whole reply);
 *  8. the `messageSent` hook;
 *  9. middleware `processResponse`, in reverse order;
 * 10. the `requestEnd` hook — always, also after an error, a rejection or an abort.
 * Any error fires the `error` hook. Failing fail-open plugins are bypassed (recorded in
 * `steps`); failing fail-closed plugins reject the request.
 *
 * Yields chunks only when `initial.stream` is true; returns the final ChatResponse.
 *
 * @param steps where the request's plugin steps are recorded (a stream's caller may read it)
 */
export async function* runChatPipeline(
  env: PipelineEnv,
  initial: ChatContext,
  options: ChatOptions = {},
  steps: PluginStep[] = [],
): AsyncGenerator<ChatChunk, ChatResponse, undefined> {
  const lease = env.acquireSnapshot();
  const snapshot = lease.snapshot;
  const streaming = initial.stream;
  const scope = new RequestScope(initial.requestId, options.signal, options.cancellation, options.responseHeaders);
  const run = new RequestRun(env, snapshot, scope, steps);
  const startedAt = performance.now();
  let context = initial;
  let outcome: RequestOutcome = 'failed';
  let ended = false;
  try {
    if (snapshot.closedGaps.length > 0) {
      const gap = closedGapFor(snapshot, context);
      if (gap !== undefined) throw closedPluginDown(gap.name);
    }
    // 1. Middleware on the way in.
    const admission =
      snapshot.middleware.length === 0
        ? { context, entered: NONE }
        : await enterMiddleware(run, snapshot.middleware, context);
    context = admission.context;
    if (admission.rejection !== undefined) {
      outcome = 'rejected';
      throw admission.rejection;
    }

    let reply: Reply;
    // A middleware may answer the request itself (a cache hit): on the way in, or once it is
    // prepared and routed. Its answer passes the output processors; no backend is called.
    let answer: Answer | undefined = admission.answer;
    let route: Awaited<ReturnType<typeof routeRequest>> | undefined;
    if (answer === undefined) {
      // 2–5. The request before the model sees it.
      if (needsPreparation(run)) context = await prepareContext(run, context);
      const routing = routeRequest(env.router, snapshot, context);
      route = routing instanceof Promise ? await routing : routing;
      context = route.context;
      if (snapshot.answering) {
        context = namingBackend(context, route.backend.name);
        answer = await askForAnswer(run, admission.entered, context);
      }
    }
    if (answer !== undefined) {
      reply = yield* answeredReply(run, answer, context, streaming);
    } else {
      let backend: PluginRecord = route!.backend;
      let model = context.model;

      // 6. Model turns.
      let chain = new OutputChain(snapshot.outputProcessors, streaming, run.chainEnv);
      /** True once part of the reply reached the client: from then on no other backend may take over. */
      let delivered = false;
      const attempts: BackendAttempt[] = [];
      const tried = new Set<string>();
      let usage: Usage | undefined;
      let thinking = '';
      let toolCalls: readonly ToolCall[] = [];
      let finishReason: FinishReason | undefined;
      let turns = 0;
      for (let turn = 1; ; turn++) {
        if (turn > env.maxTurns) throw tooManyTurns(env.maxTurns);
        turns = turn;
        context = (
          await run.waterfall('beforeModelCall', { context, backend: backend.name, turn }, contextValidator(context))
        ).context;
        const callStart = performance.now();
        const calling = callBackend(run, backend, context, attempts, tried);
        const answered = calling instanceof Promise ? await calling : calling;
        if (answered.backend !== backend) {
          backend = answered.backend;
          context = answered.context;
          model = undefined;
        }
        if (!(Symbol.asyncIterator in answered.reply) && answered.reply.model !== undefined) {
          model = answered.reply.model;
        }

        let turnText = '';
        let turnThinking = '';
        let turnToolCalls: ToolCall[] = [];
        let turnUsage: Usage | undefined;
        let turnFinish: FinishReason | undefined;
        try {
          for await (const chunk of readBackendReply(answered.reply, backend, env.deadlines, scope)) {
            // Reasoning comes before the answer it leads to, also when a chunk carries both.
            if (chunk.thinking) {
              turnThinking += chunk.thinking;
              if (streaming) {
                delivered = true;
                yield run.emit({ thinking: chunk.thinking }, context);
              }
            }
            if (chunk.content) {
              turnText += chunk.content;
              const pushed = chain.push(chunk.content, context);
              // Awaited only when a stage works in another process (a sandboxed processor).
              const settled = typeof pushed === 'string' ? pushed : await pushed;
              if (settled !== '') {
                run.emittedText += settled;
                if (streaming) {
                  delivered = true;
                  yield run.emit({ content: settled }, context);
                }
              }
            }
            if (chunk.toolCalls) turnToolCalls = [...turnToolCalls, ...chunk.toolCalls];
            if (chunk.usage) turnUsage = chunk.usage;
            if (chunk.finishReason) turnFinish = chunk.finishReason;
          }
        } catch (thrown) {
          // The backend's reply failed before any of it reached the client (a non-streamed
          // request, or a stream cut before its first chunk got out): its fallback can still
          // answer the whole request, from a fresh output chain.
          const handover =
            delivered || turn > 1 ? undefined : handOverAfterFailure(run, backend, context, thrown, attempts, tried);
          if (handover === undefined) throw thrown;
          backend = handover.backend;
          context = handover.context;
          model = undefined;
          chain = new OutputChain(snapshot.outputProcessors, streaming, run.chainEnv);
          run.emittedText = '';
          turn--;
          continue;
        } finally {
          answered.release?.();
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
        const turnFacts = {
          turn,
          message: turnMessage,
          ...(turnUsage ? { usage: turnUsage } : {}),
          ...(turnFinish ? { finishReason: turnFinish } : {}),
        };
        await run.dispatch('afterModelCall', {
          ...turnFacts,
          context,
          backend: backend.name,
          durationMs: performance.now() - callStart,
        });
        const next = await continueConversation(run, turnFacts, context);
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
      const message = deepFreeze({ ...finished.message, content: run.emittedText });
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
      reply = {
        message,
        usage,
        finishReason,
        backend: backend.name,
        model,
        turns,
        metadata: attempts.length > 0 ? { backendAttempts: attempts } : {},
      };
    }

    // 8. Message sent.
    await run.dispatch('messageSent', { message: reply.message, context });

    // 9. Middleware on the way out, in reverse order.
    let response = responseOf(reply, context, run);
    if (admission.entered.length > 0) response = await leaveMiddleware(run, admission.entered, response, context);
    // The response was built before processResponse ran: record those steps too (a bypassed one included).
    if (run.steps.length !== response.steps.length) response = deepFreeze({ ...response, steps: run.steps.slice() });
    if (scope.responseData !== undefined)
      response = deepFreeze({ ...response, data: Object.fromEntries(scope.responseData) });
    await run.flushBypassed(context);

    // 10. Request end.
    outcome = 'completed';
    ended = true;
    await run.dispatch('requestEnd', {
      context,
      outcome,
      response,
      ...(response.usage ? { usage: response.usage } : {}),
      durationMs: performance.now() - startedAt,
    });
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

const NONE: readonly PluginRecord[] = Object.freeze([]);

function responseOf(reply: Reply, context: ChatContext, run: RequestRun): ChatResponse {
  return deepFreeze({
    requestId: context.requestId,
    message: reply.message,
    ...(reply.backend === undefined ? {} : { backend: reply.backend }),
    ...(reply.model === undefined ? {} : { model: reply.model }),
    ...(reply.usage === undefined ? {} : { usage: reply.usage }),
    ...(reply.finishReason === undefined ? {} : { finishReason: reply.finishReason }),
    turns: reply.turns,
    snapshotVersion: run.snapshot.version,
    steps: run.steps.slice(),
    metadata: reply.metadata,
  });
}

/** After a model turn, asks each extension whether to call the model again; the first that answers wins. */
async function continueConversation(
  run: RequestRun,
  turn: Parameters<NonNullable<PluginRecord['plugin']['continueConversation']>>[0],
  context: ChatContext,
): Promise<ChatContext | undefined> {
  for (const record of run.snapshot.extensions) {
    if (record.plugin.continueConversation === undefined) continue;
    const result = await run.call(
      record,
      'continueConversation',
      (call) => record.plugin.continueConversation!(turn, context, call),
      (value) => (value === undefined ? undefined : contextValidator(context)(value)),
    );
    if (result.ok && result.value !== undefined) return result.value;
  }
  return undefined;
}

function addUsage(total: Usage | undefined, turn: Usage | undefined): Usage | undefined {
  if (turn === undefined) return total;
  if (total === undefined) return turn;
  return {
    promptTokens: total.promptTokens + turn.promptTokens,
    completionTokens: total.completionTokens + turn.completionTokens,
  };
}
