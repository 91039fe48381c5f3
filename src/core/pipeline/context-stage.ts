import type { ChatContext } from '../model/context.ts';
import type { Message } from '../model/message.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import { deepFreeze } from '../util/deep-freeze.ts';
import type { RequestRun } from './request-run.ts';
import { contextValidator, messageValidator } from './validators.ts';

/** The operation name of input processors, in metrics, steps and breakers. */
export const PROCESS_INPUT = 'processMessage.input';

/**
 * Stages 2–5, the request before the model sees it:
 *  2. the `requestStart` hook (may replace the context);
 *  3. input message processors on the last user message (a failing fail-open one keeps the previous message);
 *  4. the `messageReceived` hook (may replace that message);
 *  5. feature extensions `extend` the context, in priority order (memory, RAG, tools).
 */
export async function prepareContext(run: RequestRun, initial: ChatContext): Promise<ChatContext> {
  let context = (await run.waterfall('requestStart', { context: initial }, contextValidator(initial))).context;
  context = await processLastUserMessage(run, context);
  context = await receiveMessage(run, context);
  return extendContext(run, context);
}

/** Stage 3: the input processors on the last user message, as one waterfall. */
async function processLastUserMessage(run: RequestRun, context: ChatContext): Promise<ChatContext> {
  const processors = run.snapshot.inputProcessors;
  const index = lastIndexOfRole(context.messages, 'user');
  if (index < 0 || processors.length === 0) return context;
  const original = context.messages[index]!;
  const message = await runInputProcessors(run, processors, original, context);
  await run.flushBypassed(context);
  return message === original ? context : replaceMessage(context, index, message);
}

/**
 * The input processors on one message, in priority order, each seeing what the previous one
 * returned. Also what `PluginManager.executeMessageProcessors` runs.
 */
export async function runInputProcessors(
  run: RequestRun,
  processors: readonly PluginRecord[],
  original: Message,
  context: ChatContext,
): Promise<Message> {
  let message = original;
  for (const record of processors) {
    const current = message;
    const result = await run.call(
      record,
      PROCESS_INPUT,
      (call) => record.plugin.processMessage!(current, context, call),
      messageValidator(current),
    );
    if (result.ok) message = result.value;
  }
  return message;
}

/** Stage 4: the `messageReceived` hook on the last user message. */
async function receiveMessage(run: RequestRun, context: ChatContext): Promise<ChatContext> {
  const index = lastIndexOfRole(context.messages, 'user');
  if (index < 0 || !run.env.hooks.has('messageReceived', run.snapshot.hooks)) return context;
  const received = context.messages[index]!;
  const { message } = await run.waterfall(
    'messageReceived',
    { message: received, context },
    messageValidator(received),
  );
  return message === received ? context : replaceMessage(context, index, message);
}

/** Stage 5: every feature extension enhances the context before the backend is called. */
async function extendContext(run: RequestRun, initial: ChatContext): Promise<ChatContext> {
  let context = initial;
  for (const record of run.snapshot.extensions) {
    const current = context;
    const result = await run.call(
      record,
      'extend',
      (call) => record.plugin.extend!(current, call),
      contextValidator(current),
    );
    if (result.ok) context = result.value;
  }
  return context;
}

export function lastIndexOfRole(messages: readonly Message[], role: Message['role']): number {
  for (let index = messages.length - 1; index >= 0; index--) if (messages[index]!.role === role) return index;
  return -1;
}

function replaceMessage(context: ChatContext, index: number, message: Message): ChatContext {
  const messages = context.messages.slice();
  messages[index] = message;
  return deepFreeze({ ...context, messages });
}
