/**
 * One round of the tool loop, run after a model turn: when the model called server tools, run
 * them (in parallel, bounded), append the assistant message and one `tool` message per call, and
 * hand back the context for the next model call. Client tools pass through to the client.
 */
import {
  type ChatContext,
  createMessage,
  type JsonValue,
  type Message,
  type ModelTurn,
  type PluginCall,
  type ToolCall,
  type ToolChoice,
  type ToolRegistry,
  updateContext,
} from '../../src/index.ts';
import type { ToolMetrics } from './tool-metrics.ts';
import { type ToolCallResult, type ToolRunner, truncate } from './tool-runner.ts';
import { offeredTools } from './tool-selection.ts';

/** The `context.metadata` key holding the results of the request's earlier tool rounds. */
export const RESULTS_KEY = 'toolResults';
/** The key of the reply's `plugboard` object that lists the tools run. */
export const RESPONSE_DATA_KEY = 'tools';

/** What a round needs besides the turn. */
export interface ToolLoopDeps {
  readonly registry: ToolRegistry;
  readonly runner: ToolRunner;
  /** Tool rounds after which the model is called once more with `toolChoice: 'none'`. */
  readonly maxTurns: number;
  readonly maxParallel: number;
  /** Longest output listed in the response's tool results. */
  readonly responseOutputChars: number;
  readonly metrics?: ToolMetrics;
}

/** A tool call as the response lists it (`plugboard.tools`). */
export interface ToolResultRecord {
  readonly [key: string]: JsonValue;
  readonly round: number;
  readonly id: string;
  readonly name: string;
  readonly arguments: JsonValue;
  readonly ok: boolean;
  readonly outcome: string;
  readonly duration_ms: number;
  readonly output: string;
}

/**
 * The context for the next model call, or undefined when this turn is the reply: no tool
 * calls, or only calls of tools the server did not offer (the client's, which it runs).
 *
 * Mixed turns (server tools and other tools at once) run the server tools; each other call
 * gets a result telling the model to call it again on its own, so that a reply handed to the
 * client only ever holds calls of the client's own tools.
 *
 * @example
 * ```ts
 * continueConversation: (turn, context, call) => runToolRound(turn, context, call, deps),
 * ```
 */
export async function runToolRound(
  turn: ModelTurn,
  context: ChatContext,
  call: PluginCall,
  deps: ToolLoopDeps,
): Promise<ChatContext | undefined> {
  const calls = turn.message.toolCalls ?? [];
  if (calls.length === 0) return undefined;
  const offered = offeredTools(context);
  if (!calls.some((toolCall) => offered.has(toolCall.name))) return undefined;
  if (turn.turn > deps.maxTurns) {
    // The model was told `toolChoice: 'none'` and called tools anyway: its reply stands as it is.
    call.logger.warn({ turn: turn.turn, maxTurns: deps.maxTurns }, 'the model called tools after max_turns');
    return undefined;
  }
  const clientTools = new Set((context.options.tools ?? []).map((tool) => tool.name).filter((n) => !offered.has(n)));

  const results = await mapBounded(calls, deps.maxParallel, (toolCall) => {
    if (!offered.has(toolCall.name)) return Promise.resolve(notRun(toolCall, clientTools.has(toolCall.name)));
    const tool = deps.registry.get(toolCall.name);
    if (tool === undefined) return Promise.resolve(gone(toolCall));
    return deps.runner.run(tool, toolCall, {
      requestId: context.requestId,
      ...(context.principal === undefined ? {} : { principal: context.principal }),
      signal: call.signal,
      logger: call.logger,
    });
  });

  const round = turn.turn;
  const last = round >= deps.maxTurns;
  deps.metrics?.rounds.inc({ next: last ? 'none' : 'auto' });
  const records = [...earlierResults(context), ...results.map((result) => recordOf(result, round, deps))];
  call.setResponseData(RESPONSE_DATA_KEY, records);
  call.logger.debug(
    { round, tools: results.map((result) => ({ name: result.call.name, outcome: result.outcome })) },
    'tool round',
  );

  const messages: Message[] = [
    createMessage({ role: 'assistant', content: turn.message.content, toolCalls: [...calls] }),
    ...results.map((result) =>
      createMessage({ role: 'tool', toolCallId: result.call.id, name: result.call.name, content: result.content }),
    ),
  ];
  return updateContext(context, {
    messages: [...context.messages, ...messages],
    options: withToolChoice(context, nextToolChoice(context.options.toolChoice, last)),
    metadata: { ...context.metadata, [RESULTS_KEY]: records },
  });
}

/**
 * After the last allowed round the model must answer (`none`); before it, a choice that forced
 * a tool call (`required`, a named tool) has been honoured and becomes `auto`, or the model
 * would be forced to call tools until max_turns.
 */
function nextToolChoice(choice: ToolChoice | undefined, last: boolean): ToolChoice | undefined {
  if (last) return 'none';
  return choice === 'required' || typeof choice === 'object' ? 'auto' : choice;
}

function withToolChoice(context: ChatContext, toolChoice: ToolChoice | undefined): ChatContext['options'] {
  const { toolChoice: _previous, ...options } = context.options;
  return toolChoice === undefined ? options : { ...options, toolChoice };
}

function notRun(call: ToolCall, isClientTool: boolean): ToolCallResult {
  const content = isClientTool
    ? `Error: "${call.name}" was not run: it cannot be called in the same turn as the server's tools. Call it again on its own.`
    : `Error: there is no tool named "${call.name}".`;
  return { call, outcome: 'not_run', content, arguments: call.arguments, durationMs: 0 };
}

function gone(call: ToolCall): ToolCallResult {
  return {
    call,
    outcome: 'unavailable',
    content: `Error: tool "${call.name}" is no longer available; do without it.`,
    arguments: call.arguments,
    durationMs: 0,
  };
}

function recordOf(result: ToolCallResult, round: number, deps: ToolLoopDeps): ToolResultRecord {
  return {
    round,
    id: result.call.id,
    name: result.call.name,
    arguments: toJson(result.arguments),
    ok: result.outcome === 'ok',
    outcome: result.outcome,
    duration_ms: Math.round(result.durationMs * 10) / 10,
    output: deps.responseOutputChars === 0 ? '' : truncate(result.content, deps.responseOutputChars),
  };
}

function earlierResults(context: ChatContext): ToolResultRecord[] {
  const value = context.metadata[RESULTS_KEY];
  return Array.isArray(value) ? (value as ToolResultRecord[]) : [];
}

function toJson(value: unknown): JsonValue {
  try {
    return JSON.parse(JSON.stringify(value ?? null)) as JsonValue;
  } catch {
    return String(value);
  }
}

/** `fn` over `items`, at most `limit` at once, results in order. `fn` must not reject. */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
