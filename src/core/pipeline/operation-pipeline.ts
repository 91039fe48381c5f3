// The global `performance` is an accessor (~7 ns a read); the module's export is the same object.
import { performance } from 'node:perf_hooks';
import { closedPluginDown } from '../errors/core-errors.ts';
import { toPlugboardError } from '../errors/plugboard-error.ts';
import { RequestScope } from '../execution/request-scope.ts';
import type { RequestOutcome } from '../hooks/hook-map.ts';
import type { ChatContext } from '../model/context.ts';
import type { Usage } from '../model/reply.ts';
import type { ChatOptions } from './chat-pipeline.ts';
import { closedGapFor } from './closed-gaps.ts';
import { enterMiddleware } from './middleware-stage.ts';
import { type PipelineEnv, RequestRun } from './request-run.ts';
import { contextValidator } from './validators.ts';

/** What an operation's work gets: the context as middleware left it, and its cancellation. */
export interface OperationCall {
  /** Pass to anything it calls (`backend.embed(request, call.options)`): aborts with the request. */
  readonly options: ChatOptions;
}

/** What an operation reports back besides its value, for the `requestEnd` hook. */
export interface OperationOutcome<T> {
  readonly value: T;
  readonly usage?: Usage;
}

/**
 * Runs a client operation that is not a chat (embeddings, the model list, one model's facts)
 * through the same gate as a chat: middleware `processRequest` (which may reject it; an
 * answer with `respond()` is a plugin error, since only a chat can be answered with a
 * message), the `requestStart` hook, then `perform`, then the `requestEnd` hook — and the
 * `error` hook on failure. There is no response message, so `processResponse` does not run.
 *
 * @example
 * ```ts
 * const models = await runOperation(env, createChatContext({ operation: 'models.list', messages: [] }),
 *   async () => ({ value: await router.list() }));
 * ```
 */
export async function runOperation<T>(
  env: PipelineEnv,
  initial: ChatContext,
  perform: (context: ChatContext, call: OperationCall) => Promise<OperationOutcome<T>>,
  options: ChatOptions = {},
): Promise<T> {
  const lease = env.acquireSnapshot();
  const scope = new RequestScope(initial.requestId, options.signal, options.cancellation, options.responseHeaders);
  const run = new RequestRun(env, lease.snapshot, scope);
  const startedAt = performance.now();
  let context = initial;
  let outcome: RequestOutcome = 'failed';
  try {
    if (lease.snapshot.closedGaps.length > 0) {
      const gap = closedGapFor(lease.snapshot, context);
      if (gap !== undefined) throw closedPluginDown(gap.name);
    }
    const admission = await enterMiddleware(run, lease.snapshot.middleware, context, false);
    context = admission.context;
    if (admission.rejection !== undefined) {
      outcome = 'rejected';
      throw admission.rejection;
    }
    context = (await run.waterfall('requestStart', { context }, contextValidator(context))).context;
    await run.flushBypassed(context);
    const done = await perform(context, {
      options: {
        cancellation: (abort) => scope.onAbort(abort),
        ...(scope.responseHeaders === undefined ? {} : { responseHeaders: scope.responseHeaders }),
      },
    });
    if (scope.abortError) throw scope.abortError;
    outcome = 'completed';
    await run.dispatch('requestEnd', {
      context,
      outcome,
      ...(done.usage === undefined ? {} : { usage: done.usage }),
      durationMs: performance.now() - startedAt,
    });
    return done.value;
  } catch (thrown) {
    const error = scope.abortError ?? toPlugboardError(thrown, 'INTERNAL_ERROR', {});
    if (error.code === 'REQUEST_ABORTED') outcome = 'aborted';
    else await run.dispatch('error', { error, stage: error.hook ?? context.operation, context });
    await run.dispatch('requestEnd', { context, outcome, error, durationMs: performance.now() - startedAt });
    scope.abort(error);
    throw error;
  } finally {
    scope.dispose();
    lease.release();
  }
}
