import type { ChatContext } from '../model/context.ts';
import type { Message } from '../model/message.ts';
import type { ChatChunk, FinishReason, Usage } from '../model/reply.ts';
import type { RespondDecision } from '../plugin/kinds.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import { deepFreeze } from '../util/deep-freeze.ts';
import { OutputChain } from './output-chain.ts';
import type { RequestRun } from './request-run.ts';
import { answerValidator } from './validators.ts';

/** The reply of a request, before it becomes the ChatResponse middleware sees on the way out. */
export interface Reply {
  readonly message: Message;
  readonly usage: Usage | undefined;
  readonly finishReason: FinishReason | undefined;
  /** The backend that produced it (absent when a middleware answered). */
  readonly backend?: string;
  readonly model?: string | undefined;
  readonly turns: number;
  readonly metadata: Record<string, unknown>;
}

/**
 * The routed context naming its backend also when routing left it implicit (a model-less
 * request to the default backend): a cache keys on it, in `answerRequest` and later in
 * `processResponse`, so the rest of the request runs on this one.
 */
export function namingBackend(context: ChatContext, backend: string): ChatContext {
  return context.backend === backend ? context : deepFreeze({ ...context, backend });
}

/** A middleware's answer to a request, and the middleware that gave it. */
export interface Answer {
  readonly decision: RespondDecision;
  readonly by: PluginRecord;
}

/**
 * Asks each middleware the request entered, in priority order, whether it answers the
 * prepared request itself (`answerRequest`, e.g. a cache hit); the first answer wins. A
 * failing one is handled by its failure policy like any call (fail-open: the model answers).
 */
export async function askForAnswer(
  run: RequestRun,
  entered: readonly PluginRecord[],
  context: ChatContext,
): Promise<Answer | undefined> {
  for (const record of entered) {
    const answerRequest = record.plugin.answerRequest;
    if (answerRequest === undefined) continue;
    const calling = run.call(
      record,
      'answerRequest',
      (call) => answerRequest.call(record.plugin, context, call),
      answerValidator,
    );
    const result = calling instanceof Promise ? await calling : calling;
    if (result.ok && result.value !== undefined) return { decision: result.value, by: record };
  }
  return undefined;
}

/**
 * A middleware's answer as the reply of the request: its text passes the output processors as
 * a model's reply would (a cached answer is redacted like a fresh one), streamed as chunks when
 * the request streams, so a client cannot tell the two apart by their form.
 */
export async function* answeredReply(
  run: RequestRun,
  answer: Answer,
  context: ChatContext,
  streaming: boolean,
): AsyncGenerator<ChatChunk, Reply, undefined> {
  const { decision, by } = answer;
  const { content, toolCalls, thinking } = decision.message;
  const chain = new OutputChain(run.snapshot.outputProcessors, streaming, run.chainEnv);
  if (streaming && thinking) yield run.emit({ thinking }, context);
  const pushed = content === '' ? '' : chain.push(content, context);
  const settled = typeof pushed === 'string' ? pushed : await pushed;
  if (settled !== '') {
    run.emittedText += settled;
    if (streaming) yield run.emit({ content: settled }, context);
  }
  const finished = await chain.finish(
    deepFreeze({
      role: 'assistant' as const,
      content: '',
      ...(toolCalls?.length ? { toolCalls } : {}),
      ...(thinking ? { thinking } : {}),
    }),
    context,
  );
  if (finished.text !== '') {
    run.emittedText += finished.text;
    if (streaming) yield run.emit({ content: finished.text }, context);
  }
  const message = deepFreeze({ ...finished.message, content: run.emittedText });
  const finishReason: FinishReason = decision.finishReason ?? (toolCalls?.length ? 'tool_calls' : 'stop');
  if (streaming) {
    yield run.emit(
      {
        ...(toolCalls?.length ? { toolCalls } : {}),
        finishReason,
        ...(decision.usage ? { usage: decision.usage } : {}),
      },
      context,
    );
  }
  await run.flushBypassed(context);
  return {
    message,
    usage: decision.usage,
    finishReason,
    turns: 0,
    metadata: { ...decision.metadata, answeredBy: by.name },
  };
}
