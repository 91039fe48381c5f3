/**
 * Ollama's `/api/chat` replies in the core's form: a whole ChatCompletion, or ChatChunks read
 * from the streamed lines. Ollama sends tool calls whole (not as deltas), with arguments as an
 * object and often without an id: ids are made up where missing.
 */
import { randomBytes } from 'node:crypto';
import type { ChatResponse, ModelResponse } from 'ollama';
import {
  type ChatChunk,
  type ChatCompletion,
  createMessage,
  type FinishReason,
  type ModelInfo,
  type ToolCall,
  type Usage,
} from '../../src/index.ts';
import { RAW_ARGUMENTS_KEY, type WireToolCall } from './request-mapping.ts';

/** A reply line as it arrives: the client's type, with the wire's optional tool-call ids. */
export type WireChatResponse = Omit<ChatResponse, 'message'> & {
  message?: Omit<ChatResponse['message'], 'tool_calls'> & { tool_calls?: WireToolCall[] };
};

/** A new tool-call id, for calls Ollama sent without one. */
export function newToolCallId(): string {
  return `call_${randomBytes(12).toString('hex')}`;
}

/**
 * Tool calls in the core's form: arguments as JSON text (an object `{"_raw_arguments": text}`
 * from another Plugboard becomes that text again), the id kept or made up.
 */
export function toCoreToolCalls(calls: readonly WireToolCall[] | null | undefined): ToolCall[] {
  if (!calls?.length) return [];
  return calls.map((call) => ({
    id: call.id || newToolCallId(),
    name: call.function.name,
    arguments: argumentsText(call.function.arguments),
  }));
}

function argumentsText(args: unknown): string {
  if (typeof args === 'string') return args;
  if (args === null || args === undefined) return '{}';
  const keys = typeof args === 'object' ? Object.keys(args) : [];
  const raw = (args as Record<string, unknown>)[RAW_ARGUMENTS_KEY];
  if (keys.length === 1 && typeof raw === 'string') return raw;
  return JSON.stringify(args);
}

/**
 * Why the model stopped: tool calls win (Ollama says `stop` for them), then `length`;
 * `content_filter` passes through (another Plugboard may send it); anything else is `stop`.
 */
export function finishReasonOf(doneReason: string | null | undefined, calledTools: boolean): FinishReason {
  if (calledTools) return 'tool_calls';
  if (doneReason === 'length' || doneReason === 'content_filter') return doneReason;
  return 'stop';
}

/** Token counts of a final line; undefined when Ollama reported neither. */
export function usageOf(line: Pick<ChatResponse, 'prompt_eval_count' | 'eval_count'>): Usage | undefined {
  const prompt = line.prompt_eval_count;
  const completion = line.eval_count;
  if (typeof prompt !== 'number' && typeof completion !== 'number') return undefined;
  return { promptTokens: prompt ?? 0, completionTokens: completion ?? 0 };
}

/** An unstreamed reply. */
export function toCompletion(response: WireChatResponse): ChatCompletion {
  const message = response.message;
  const toolCalls = toCoreToolCalls(message?.tool_calls);
  const usage = usageOf(response);
  return {
    message: createMessage({
      role: 'assistant',
      content: message?.content ?? '',
      ...(message?.thinking ? { thinking: message.thinking } : {}),
      ...(toolCalls.length > 0 ? { toolCalls } : {}),
    }),
    ...(usage === undefined ? {} : { usage }),
    finishReason: finishReasonOf(response.done_reason, toolCalls.length > 0),
    ...(response.model ? { model: response.model } : {}),
  };
}

/**
 * Reads streamed lines as chunks: content, thinking and tool calls as they arrive, then a last
 * chunk with the finish reason and usage. Lines with nothing to say are skipped.
 */
export async function* toChunks(lines: AsyncIterable<WireChatResponse>): AsyncGenerator<ChatChunk> {
  let calledTools = false;
  for await (const line of lines) {
    const message = line.message;
    const toolCalls = toCoreToolCalls(message?.tool_calls);
    if (toolCalls.length > 0) calledTools = true;
    const chunk: { -readonly [K in keyof ChatChunk]: ChatChunk[K] } = {};
    if (message?.content) chunk.content = message.content;
    if (message?.thinking) chunk.thinking = message.thinking;
    if (toolCalls.length > 0) chunk.toolCalls = toolCalls;
    if (line.done) {
      chunk.finishReason = finishReasonOf(line.done_reason, calledTools);
      const usage = usageOf(line);
      if (usage !== undefined) chunk.usage = usage;
      yield chunk;
      return;
    }
    if (chunk.content !== undefined || chunk.thinking !== undefined || chunk.toolCalls !== undefined) yield chunk;
  }
}

/**
 * A model of `/api/tags` as the core lists it: the name as id, Ollama's facts (size, digest,
 * modification time, format, family, parameter size, quantization) flat in `details`.
 */
export function toModelInfo(model: ModelResponse): ModelInfo {
  const facts = model.details ?? ({} as Partial<ModelResponse['details']>);
  const details: Record<string, unknown> = {
    model: model.model,
    size: model.size,
    digest: model.digest,
    // Typed as a Date by the client, but JSON text on the wire.
    modified_at: model.modified_at == null ? undefined : String(model.modified_at),
    format: facts.format,
    family: facts.family,
    families: facts.families ?? undefined,
    parameter_size: facts.parameter_size,
    quantization_level: facts.quantization_level,
    parent_model: facts.parent_model,
  };
  for (const [key, value] of Object.entries(details)) if (value === undefined || value === null) delete details[key];
  return { id: model.name || model.model, details };
}
