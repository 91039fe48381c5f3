import type {
  ChatCompletionCreateParamsBase,
  ChatCompletionFunctionTool,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import type { ChatContext, GenerationOptions, ResponseFormat, ToolChoice } from '../../src/index.ts';
import type { OpenAiSettings } from './config.ts';
import { toOpenAiMessages } from './messages.ts';

/** The body of a chat completion request, without the streaming fields. */
export type ChatRequestBody = Omit<ChatCompletionCreateParamsBase, 'stream' | 'stream_options'> &
  Record<string, unknown>;

/**
 * The chat completion request for `context` (model already resolved).
 *
 * - `maxTokens` goes out as `max_tokens` or `max_completion_tokens` (setting `max_tokens_field`).
 * - `responseFormat` json → `json_object`; json_schema → `json_schema` named `response` when
 *   it has no name, with `strict` only when `json_schema_strict` is set.
 * - `think` is sent as `reasoning_effort` only when configured (`think_effort`,
 *   `no_think_effort`): most models refuse the parameter, and servers that return reasoning
 *   (DeepSeek, vLLM, llama-server) do so without being asked.
 * - Parameters OpenAI does not define (`top_k`, everything in `extra`) are sent as body fields
 *   as far as `pass_extra` allows; they go first, so they never replace a mapped field.
 *
 * @example
 * ```ts
 * toChatRequest(context, 'gpt-4o-mini', settings); // { model, messages, temperature, … }
 * ```
 */
export function toChatRequest(context: ChatContext, model: string, settings: OpenAiSettings): ChatRequestBody {
  const options = context.options;
  const body: Record<string, unknown> = { ...passedExtra(options, settings) };
  body.model = model;
  body.messages = toOpenAiMessages(context.messages);
  setField(body, 'temperature', options.temperature);
  setField(body, 'top_p', options.topP);
  setField(body, settings.maxTokensField, options.maxTokens);
  if (options.stop !== undefined && options.stop.length > 0) body.stop = [...options.stop];
  setField(body, 'seed', options.seed);
  setField(body, 'response_format', responseFormat(options.responseFormat, settings.jsonSchemaStrict));
  if (options.tools !== undefined && options.tools.length > 0) {
    body.tools = options.tools.map(
      (tool): ChatCompletionFunctionTool => ({
        type: 'function',
        function: {
          name: tool.name,
          ...(tool.description === undefined ? {} : { description: tool.description }),
          ...(tool.parameters === undefined ? {} : { parameters: { ...tool.parameters } }),
        },
      }),
    );
    setField(body, 'tool_choice', toolChoice(options.toolChoice));
  }
  const effort =
    options.think === true ? settings.thinkEffort : options.think === false ? settings.noThinkEffort : undefined;
  setField(body, 'reasoning_effort', effort);
  return body as ChatRequestBody;
}

/** `top_k` and `extra`, filtered by `pass_extra`. */
function passedExtra(options: GenerationOptions, settings: OpenAiSettings): Record<string, unknown> {
  const candidates: Record<string, unknown> = { ...options.extra };
  if (options.topK !== undefined) candidates.top_k = options.topK;
  const allowed = settings.passExtra;
  if (allowed === true) return candidates;
  if (allowed === false) return {};
  return Object.fromEntries(Object.entries(candidates).filter(([key]) => allowed.includes(key)));
}

function setField(body: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) body[key] = value;
}

function responseFormat(
  format: ResponseFormat | undefined,
  strict: boolean | undefined,
): ChatCompletionCreateParamsBase['response_format'] {
  if (format === undefined) return undefined;
  if (format.type === 'text') return { type: 'text' };
  if (format.type === 'json') return { type: 'json_object' };
  return {
    type: 'json_schema',
    json_schema: {
      name: format.name ?? 'response',
      schema: { ...format.schema },
      ...(strict === undefined ? {} : { strict }),
    },
  };
}

function toolChoice(choice: ToolChoice | undefined): ChatCompletionToolChoiceOption | undefined {
  if (choice === undefined || typeof choice === 'string') return choice;
  return { type: 'function', function: { name: choice.name } };
}
