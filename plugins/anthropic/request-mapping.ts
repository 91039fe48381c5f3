/**
 * A Plugboard chat context as the body of an Anthropic Messages API request: system
 * messages to the top-level `system`, alternating user/assistant turns, tool calls and
 * results as `tool_use`/`tool_result` blocks, images as image blocks, and the generation
 * options Anthropic knows.
 */
import { createHash } from 'node:crypto';
import type {
  ContentBlockParam,
  MessageCreateParamsBase,
  MessageParam,
  OutputConfig,
  ThinkingConfigParam,
  Tool,
  ToolChoice,
} from '@anthropic-ai/sdk/resources/messages';
import {
  type ChatContext,
  type Message,
  PlugboardError,
  type ToolChoice as PlugboardToolChoice,
  type ToolDefinition,
} from '../../src/index.ts';
import { toImageSource } from './image-source.ts';

/** How a request with `think: true` asks for thinking. */
export type ThinkingType = 'adaptive' | 'enabled';

/** What the mapping needs from the plugin's settings. */
export interface RequestSettings {
  /** `max_tokens` when the request sets none. */
  readonly maxTokens: number;
  /** `budget_tokens` of `enabled` thinking. */
  readonly thinkingBudgetTokens: number;
  /** Whether the API version accepts temperature, top_p and top_k. */
  readonly sendsSampling: boolean;
  /** Whether to send a hash of the principal's id as `metadata.user_id`. */
  readonly sendUserId: boolean;
}

/** The request body, and the options that had no Anthropic equivalent (for a debug log). */
export interface MappedRequest {
  readonly params: MessageCreateParamsBase;
  readonly ignored: readonly string[];
}

/** Fields of `options.extra` passed through to the request body as they are. */
const EXTRA_BODY_FIELDS = new Set([
  'metadata',
  'service_tier',
  'output_config',
  'speed',
  'inference_geo',
  'cache_control',
  'container',
  'diagnostics',
]);

/** Anthropic's `output_config.effort` levels. */
const EFFORTS = new Set(['low', 'medium', 'high', 'xhigh', 'max']);

/**
 * The Messages API request for `context`, addressed to `model`.
 * `thinking` is how to ask for thinking when the request sets `think` (resolved by the caller
 * from the config and the model's capabilities).
 * @throws PlugboardError `REQUEST_INVALID` for messages Anthropic cannot take (see mapConversation).
 */
export function toMessagesRequest(
  context: ChatContext,
  model: string,
  settings: RequestSettings,
  thinking: ThinkingType | undefined,
): MappedRequest {
  const { options } = context;
  const ignored: string[] = [];
  const { system, messages } = mapConversation(context.messages);
  let maxTokens = options.maxTokens ?? settings.maxTokens;
  const params: MessageCreateParamsBase = { model, max_tokens: maxTokens, messages };
  if (system !== undefined) params.system = system;
  if (options.stop !== undefined && options.stop.length > 0) params.stop_sequences = [...options.stop];
  if (options.tools !== undefined && options.tools.length > 0) {
    params.tools = options.tools.map(toTool);
    if (options.toolChoice !== undefined) params.tool_choice = toToolChoice(options.toolChoice);
  }
  if (options.think === true && thinking !== undefined) {
    let config: ThinkingConfigParam;
    if (thinking === 'enabled') {
      const budget = settings.thinkingBudgetTokens;
      // The budget must stay below max_tokens: the answer keeps the tokens it was given.
      if (maxTokens <= budget) maxTokens += budget;
      config = { type: 'enabled', budget_tokens: budget, display: 'summarized' };
    } else {
      config = { type: 'adaptive', display: 'summarized' };
    }
    params.thinking = config;
    params.max_tokens = maxTokens;
    // A reasoning effort the client asked for (Ollama's `think: "high"`), when Anthropic has that level.
    const level = context.metadata.thinkLevel;
    if (typeof level === 'string' && EFFORTS.has(level)) {
      params.output_config = { effort: level as NonNullable<OutputConfig['effort']> };
    }
  }
  if (options.responseFormat?.type === 'json_schema') {
    params.output_config = {
      ...params.output_config,
      format: { type: 'json_schema', schema: { ...options.responseFormat.schema } },
    };
  } else if (options.responseFormat?.type === 'json') {
    ignored.push('responseFormat json (Anthropic has no JSON mode without a schema)');
  }
  if (settings.sendUserId && context.principal !== undefined) {
    params.metadata = { user_id: createHash('sha256').update(context.principal.id).digest('hex') };
  }
  const sampling = {
    temperature: options.temperature,
    top_p: options.topP,
    top_k: options.topK,
  };
  for (const [name, value] of Object.entries(sampling)) {
    if (value === undefined) continue;
    if (settings.sendsSampling) (params as unknown as Record<string, unknown>)[name] = value;
    else ignored.push(`${name} (not accepted by Anthropic API version 2026-10-21)`);
  }
  if (options.seed !== undefined) ignored.push('seed');
  for (const [name, value] of Object.entries(options.extra ?? {})) {
    if (EXTRA_BODY_FIELDS.has(name)) (params as unknown as Record<string, unknown>)[name] = value;
    else ignored.push(`extra.${name}`);
  }
  return { params, ignored };
}

/**
 * The conversation as Anthropic takes it: every system message joined (blank line between)
 * into `system`; user and assistant turns that alternate, consecutive same-role messages
 * merged; `tool` messages as `tool_result` blocks of a user turn; assistant tool calls as
 * `tool_use` blocks. Earlier thinking is not sent back (Plugboard keeps no signature for it).
 * Messages left with no content are dropped.
 * @throws PlugboardError `REQUEST_INVALID` when nothing but system messages is left, a tool
 * message has no `toolCallId`, tool call arguments are not a JSON object, or an image is bad.
 */
export function mapConversation(messages: readonly Message[]): { system?: string; messages: MessageParam[] } {
  const system: string[] = [];
  const turns: { role: 'user' | 'assistant'; blocks: ContentBlockParam[] }[] = [];
  for (const [index, message] of messages.entries()) {
    if (message.role === 'system') {
      if (message.images?.length) throw invalid(`messages[${index}]: a system message cannot carry images`);
      if (message.content !== '') system.push(message.content);
      continue;
    }
    const role = message.role === 'assistant' ? 'assistant' : 'user';
    const blocks = message.role === 'assistant' ? assistantBlocks(message, index) : userBlocks(message, index);
    if (blocks.length === 0) continue;
    const last = turns.at(-1);
    if (last?.role === role) last.blocks.push(...blocks);
    else turns.push({ role, blocks });
  }
  if (turns.length === 0) throw invalid('the request has no user or assistant message to answer');
  return {
    ...(system.length > 0 ? { system: system.join('\n\n') } : {}),
    messages: turns.map(({ role, blocks }) => ({ role, content: compact(role, blocks) })),
  };
}

function userBlocks(message: Message, index: number): ContentBlockParam[] {
  const images: ContentBlockParam[] = (message.images ?? []).map((image) => ({
    type: 'image',
    source: imageSource(image, index),
  }));
  if (message.role === 'tool') {
    if (!message.toolCallId) throw invalid(`messages[${index}]: a tool message needs the toolCallId it answers`);
    const text = message.content === '' ? [] : [{ type: 'text' as const, text: message.content }];
    const content = images.length === 0 ? message.content : [...images, ...text];
    return [{ type: 'tool_result', tool_use_id: message.toolCallId, content } as ContentBlockParam];
  }
  // Images before the text that talks about them, as Anthropic recommends.
  return message.content === '' ? images : [...images, { type: 'text', text: message.content }];
}

function assistantBlocks(message: Message, index: number): ContentBlockParam[] {
  if (message.images?.length) throw invalid(`messages[${index}]: an assistant message cannot carry images`);
  const blocks: ContentBlockParam[] = message.content === '' ? [] : [{ type: 'text', text: message.content }];
  for (const call of message.toolCalls ?? []) {
    blocks.push({ type: 'tool_use', id: call.id, name: call.name, input: parseArguments(call.arguments, index) });
  }
  return blocks;
}

/**
 * A turn's content: a lone text block as a plain string; otherwise the blocks, with a user
 * turn's `tool_result` blocks first (Anthropic wants them before any other content).
 */
function compact(role: 'user' | 'assistant', blocks: ContentBlockParam[]): string | ContentBlockParam[] {
  const [only] = blocks;
  if (blocks.length === 1 && only?.type === 'text') return only.text;
  if (role === 'assistant') return blocks;
  return [...blocks.filter((block) => block.type === 'tool_result'), ...blocks.filter((b) => b.type !== 'tool_result')];
}

function parseArguments(text: string, index: number): Record<string, unknown> {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(`messages[${index}]: tool call arguments are not valid JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(`messages[${index}]: tool call arguments must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

function imageSource(image: string, index: number) {
  try {
    return toImageSource(image);
  } catch (error) {
    if (error instanceof PlugboardError)
      throw invalid(`messages[${index}]: ${error.message.replace(/^anthropic: /, '')}`);
    throw error;
  }
}

function toTool(tool: ToolDefinition): Tool {
  const schema = tool.parameters ?? {};
  return {
    name: tool.name,
    ...(tool.description === undefined ? {} : { description: tool.description }),
    input_schema: { type: 'object', ...schema } as Tool['input_schema'],
  };
}

function toToolChoice(choice: PlugboardToolChoice): ToolChoice {
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any' };
  return { type: 'tool', name: choice.name };
}

function invalid(message: string): PlugboardError {
  return new PlugboardError('REQUEST_INVALID', `anthropic: ${message}`, { plugin: 'anthropic' });
}
