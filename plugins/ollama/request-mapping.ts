/**
 * The core's ChatContext as the request body of Ollama's `/api/chat`: messages (images as
 * base64, tool-call arguments as objects, tool results named), tools, `format`, `options`,
 * `keep_alive` and `think`.
 */
import type { ChatRequest, Message as OllamaMessage, ToolCall as OllamaToolCall, Options, Tool } from 'ollama';
import { type ChatContext, type Message, PlugboardError, type ToolCall } from '../../src/index.ts';

/**
 * A tool call on the wire. Ollama's client types lack the optional `id` newer servers send and
 * accept (older ones ignore it); Plugboard's own Ollama API uses it to pair results with calls.
 */
export type WireToolCall = OllamaToolCall & { id?: string; function: { index?: number } };

/** A message on the wire: `tool_call_id` pairs a tool result with its call where supported. */
export type WireMessage = Omit<OllamaMessage, 'tool_calls'> & { tool_calls?: WireToolCall[]; tool_call_id?: string };

/** `/api/chat`'s body, with the wire types above. */
export type WireChatRequest = Omit<ChatRequest, 'messages'> & { messages: WireMessage[]; stream: boolean };

/**
 * Where arguments that are not a JSON object travel: Ollama wants an object, and a model can
 * produce broken JSON. The same key Plugboard's own Ollama API uses, so the text survives a
 * round trip through another Plugboard.
 */
export const RAW_ARGUMENTS_KEY = '_raw_arguments';

/** The levels of `think` Ollama accepts besides true/false. */
const THINK_LEVELS = new Set(['high', 'medium', 'low']);

/** Settings of the mapping that come from the backend's configuration. */
export interface RequestDefaults {
  readonly keepAlive: string | number | undefined;
  /** Hears of tool calls whose arguments are not a JSON object (sent as `_raw_arguments`). */
  readonly onInvalidArguments?: (call: ToolCall) => void;
}

/**
 * The `/api/chat` body for a context. `model` is resolved by the caller (the context's, or
 * the configured default).
 *
 * Options: `temperature`, `top_p`, `top_k`, `num_predict` (from `maxTokens`), `stop`, `seed`,
 * plus `extra` passed through; a typed option wins over the same key in `extra`.
 * Tool choice: Ollama has none; `none` sends no tools, a named tool sends only that tool,
 * `auto` and `required` send them all (the model decides).
 *
 * @throws PlugboardError `REQUEST_INVALID` for an image that is a URL or not base64.
 */
export function toChatRequest(context: ChatContext, model: string, defaults: RequestDefaults): WireChatRequest {
  const { options } = context;
  const request: WireChatRequest = {
    model,
    messages: toOllamaMessages(context.messages, defaults.onInvalidArguments),
    stream: context.stream,
  };
  const tools = toOllamaTools(context);
  if (tools.length > 0) request.tools = tools;
  const format = options.responseFormat;
  if (format?.type === 'json') request.format = 'json';
  else if (format?.type === 'json_schema') request.format = format.schema;
  const ollamaOptions = toOllamaOptions(context);
  if (Object.keys(ollamaOptions).length > 0) request.options = ollamaOptions;
  const keepAlive = options.keepAlive ?? defaults.keepAlive;
  if (keepAlive !== undefined) request.keep_alive = keepAlive;
  if (options.think !== undefined) {
    // Plugboard's Ollama API keeps a requested effort (`think: "high"`) in the metadata.
    const level = context.metadata.thinkLevel;
    request.think =
      options.think && typeof level === 'string' && THINK_LEVELS.has(level)
        ? (level as 'high' | 'medium' | 'low')
        : options.think;
  }
  return request;
}

/** Sampling options in Ollama's names. */
export function toOllamaOptions(context: ChatContext): Partial<Options> {
  const { temperature, topP, topK, maxTokens, stop, seed, extra } = context.options;
  const typed: Record<string, unknown> = {};
  if (temperature !== undefined) typed.temperature = temperature;
  if (topP !== undefined) typed.top_p = topP;
  if (topK !== undefined) typed.top_k = topK;
  if (maxTokens !== undefined) typed.num_predict = maxTokens;
  if (stop !== undefined && stop.length > 0) typed.stop = [...stop];
  if (seed !== undefined) typed.seed = seed;
  return { ...extra, ...typed } as Partial<Options>;
}

function toOllamaTools(context: ChatContext): Tool[] {
  const { tools, toolChoice } = context.options;
  if (!tools?.length || toolChoice === 'none') return [];
  const chosen = typeof toolChoice === 'object' ? tools.filter((tool) => tool.name === toolChoice.name) : [...tools];
  return chosen.map((tool) => ({
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      ...(tool.parameters === undefined ? {} : { parameters: tool.parameters as Tool['function']['parameters'] }),
    },
  }));
}

/**
 * The conversation in Ollama's form. A `tool` message names its tool (`tool_name`): its own
 * `name`, else the name of the call it answers.
 */
export function toOllamaMessages(
  messages: readonly Message[],
  onInvalidArguments?: (call: ToolCall) => void,
): WireMessage[] {
  const toolNames = new Map<string, string>();
  return messages.map((message) => {
    const wire: WireMessage = { role: message.role, content: message.content };
    if (message.images?.length) wire.images = message.images.map(imageData);
    if (message.thinking) wire.thinking = message.thinking;
    if (message.toolCalls?.length) {
      for (const call of message.toolCalls) toolNames.set(call.id, call.name);
      wire.tool_calls = message.toolCalls.map((call) => ({
        ...(call.id ? { id: call.id } : {}),
        function: { name: call.name, arguments: argumentsObject(call, onInvalidArguments) },
      }));
    }
    if (message.role === 'tool') {
      const name = message.name ?? (message.toolCallId === undefined ? undefined : toolNames.get(message.toolCallId));
      if (name !== undefined) wire.tool_name = name;
      if (message.toolCallId) wire.tool_call_id = message.toolCallId;
    }
    return wire;
  });
}

/** The core keeps the model's JSON text; Ollama wants an object. */
function argumentsObject(call: ToolCall, onInvalid?: (call: ToolCall) => void): Record<string, unknown> {
  if (call.arguments.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(call.arguments);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // Not JSON: kept as text below.
  }
  onInvalid?.(call);
  return { [RAW_ARGUMENTS_KEY]: call.arguments };
}

// Standard or URL-safe alphabet, optional padding; line breaks and spaces are tolerated.
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * An image as Ollama takes it: base64. A `data:` URL loses its prefix. An http(s) URL is
 * refused: Ollama needs the bytes, and Plugboard does not fetch URLs a client names (the
 * server would reach whatever the URL points to, internal addresses included).
 *
 * @throws PlugboardError `REQUEST_INVALID` for a URL, a non-base64 `data:` URL, or text that is not base64.
 */
export function imageData(image: string): string {
  const text = image.trim();
  if (/^https?:\/\//i.test(text)) {
    throw new PlugboardError(
      'REQUEST_INVALID',
      `ollama: image URLs are not supported (${text.slice(0, 80)}); send the image itself, base64-encoded or as a data: URL`,
      { details: { param: 'images' } },
    );
  }
  let data = text;
  if (/^data:/i.test(text)) {
    const comma = text.indexOf(',');
    if (comma < 0 || !/;base64$/i.test(text.slice(0, comma))) {
      throw new PlugboardError(
        'REQUEST_INVALID',
        'ollama: a data: URL image must be base64-encoded (data:image/png;base64,…)',
        { details: { param: 'images' } },
      );
    }
    data = text.slice(comma + 1);
  }
  data = data.replace(/\s+/g, '');
  if (!BASE64.test(data)) {
    throw new PlugboardError(
      'REQUEST_INVALID',
      'ollama: an image is neither base64 data nor a data: URL; send the image itself, base64-encoded',
      { details: { param: 'images' } },
    );
  }
  return data;
}
