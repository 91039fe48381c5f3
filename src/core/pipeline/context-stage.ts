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
  // One async function for the four steps: each async call costs a promise per request.
  const { snapshot, env } = run;
  // 2. The requestStart hook.
  let context = (await run.waterfall('requestStart', { context: initial }, contextValidator(initial))).context;
  // 3. Input processors on the last user message.
  let index = lastIndexOfRole(context.messages, 'user');
  if (index >= 0 && snapshot.inputProcessors.length > 0) {
    const original = context.messages[index]!;
    const processed = runInputProcessors(run, snapshot.inputProcessors, original, context);
    const message = processed instanceof Promise ? await processed : processed;
    await run.flushBypassed(context);
    if (message !== original) context = replaceMessage(context, index, message);
  }
  // 4. The messageReceived hook, on that message.
  index = lastIndexOfRole(context.messages, 'user');
  if (index >= 0 && env.hooks.has('messageReceived', snapshot.hooks)) {
    const received = context.messages[index]!;
    const { message } = await run.waterfall(
      'messageReceived',
      { message: received, context },
      messageValidator(received),
    );
    if (message !== received) context = replaceMessage(context, index, message);
  }
  // 5. Feature extensions, in priority order.
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
  return context;
}

/** False when no plugin of the snapshot takes part in stages 2–5 (their promise is then spared). */
export function needsPreparation(run: RequestRun): boolean {
  const { snapshot, env } = run;
  return (
    snapshot.inputProcessors.length > 0 ||
    snapshot.extensions.length > 0 ||
    env.hooks.has('requestStart', snapshot.hooks) ||
    env.hooks.has('messageReceived', snapshot.hooks)
  );
}

/**
 * The input processors on one message, in priority order, each seeing what the previous one
 * returned. Also what `PluginManager.executeMessageProcessors` runs.
 */
export function runInputProcessors(
  run: RequestRun,
  processors: readonly PluginRecord[],
  original: Message,
  context: ChatContext,
  from = 0,
): Message | Promise<Message> {
  // Synchronous until a processor answers with a promise: no promise of its own per request.
  let message = original;
  for (let index = from; index < processors.length; index++) {
    const record = processors[index]!;
    const current = message;
    const result = run.call(
      record,
      PROCESS_INPUT,
      (call) => record.plugin.processMessage!(current, context, call),
      messageValidator(current),
    );
    if (result instanceof Promise) {
      return result.then((settled) =>
        runInputProcessors(run, processors, settled.ok ? settled.value : current, context, index + 1),
      );
    }
    if (result.ok) message = result.value;
  }
  return message;
}

function lastIndexOfRole(messages: readonly Message[], role: Message['role']): number {
  for (let index = messages.length - 1; index >= 0; index--) if (messages[index]!.role === role) return index;
  return -1;
}

function replaceMessage(context: ChatContext, index: number, message: Message): ChatContext {
  const messages = context.messages.slice();
  messages[index] = message;
  return deepFreeze({ ...context, messages });
}
