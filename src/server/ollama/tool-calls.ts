/**
 * Tool calls between Ollama's wire format and the core's. Ollama carries `arguments` as a
 * JSON object and identifies calls by position (newer versions add an optional `id`); the
 * core keeps the model's JSON text and needs an id to pair each result with its call, as
 * OpenAI-style backends require.
 */
import type { MessageInput, ToolCall } from '../../core/model/message.ts';
import type { OllamaMessage, OllamaToolCallInput } from './request-schemas.ts';

/** A tool call as Ollama sends it. */
export interface OllamaToolCall {
  readonly id: string;
  readonly function: {
    readonly index: number;
    readonly name: string;
    readonly arguments: Record<string, unknown>;
  };
}

/**
 * The key under which arguments that are not a JSON object are handed to the client. A
 * model can emit broken JSON; Ollama's client types (and Go's decoder) require an object, so
 * dropping the call or sending a string would break the client. Wrapping keeps the text for
 * the tool (or a person) to see, and a tool validating its parameters reports it.
 */
export const RAW_ARGUMENTS_KEY = '_raw_arguments';

/**
 * A request's tool calls in the core's form: arguments as JSON text, ids kept or made up.
 * Made-up ids depend only on the position (`call_<message>_<call>`), so they stay the same
 * each time a client sends the conversation again.
 *
 * @example
 * ```ts
 * toCoreToolCalls([{ function: { name: 'weather', arguments: { city: 'Oslo' } } }], 3);
 * // [{ id: 'call_3_0', name: 'weather', arguments: '{"city":"Oslo"}' }]
 * ```
 */
export function toCoreToolCalls(calls: readonly OllamaToolCallInput[], messageIndex: number): ToolCall[] {
  return calls.map((call, index) => {
    const args = call.function.arguments;
    return {
      id: call.id || `call_${messageIndex}_${index}`,
      name: call.function.name,
      // Lenient: some clients send OpenAI-style JSON text; it is already the core's form.
      arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
    };
  });
}

/**
 * A reply's tool calls in Ollama's form. Arguments that are not a JSON object become
 * `{ "_raw_arguments": "<text>" }` (see {@link RAW_ARGUMENTS_KEY}); `onInvalid` hears of it.
 */
export function toOllamaToolCalls(calls: readonly ToolCall[], onInvalid?: (call: ToolCall) => void): OllamaToolCall[] {
  return calls.map((call, index) => ({
    id: call.id,
    function: { index, name: call.name, arguments: argumentsObject(call, onInvalid) },
  }));
}

function argumentsObject(call: ToolCall, onInvalid?: (call: ToolCall) => void): Record<string, unknown> {
  // Models often send nothing at all for a call without parameters.
  if (call.arguments.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(call.arguments);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // Not JSON: reported below like any other non-object.
  }
  onInvalid?.(call);
  return { [RAW_ARGUMENTS_KEY]: call.arguments };
}

/**
 * Pairs each `tool` message with the call it answers. Ollama messages name the tool
 * (`tool_name`) but rarely the call; the core wants the call's id. A given `tool_call_id`
 * wins; else the earliest unanswered call of that tool; else the earliest unanswered call.
 */
export class ToolCallLinker {
  readonly #pending: { id: string; name: string }[] = [];

  /** Remembers the calls of an assistant message. */
  called(calls: readonly ToolCall[]): void {
    for (const call of calls) this.#pending.push({ id: call.id, name: call.name });
  }

  /** The core fields of a `tool` message: the id of the call it answers and the tool's name. */
  answer(message: OllamaMessage): Pick<MessageInput, 'toolCallId' | 'name'> {
    const name = message.tool_name ?? undefined;
    let index = -1;
    if (message.tool_call_id) index = this.#pending.findIndex((call) => call.id === message.tool_call_id);
    if (index < 0 && !message.tool_call_id) {
      index = name === undefined ? 0 : this.#pending.findIndex((call) => call.name === name);
    }
    const matched = index >= 0 ? this.#pending.splice(index, 1)[0] : undefined;
    const toolCallId = message.tool_call_id || matched?.id;
    const toolName = name ?? matched?.name;
    return {
      ...(toolCallId === undefined ? {} : { toolCallId }),
      ...(toolName === undefined ? {} : { name: toolName }),
    };
  }
}
