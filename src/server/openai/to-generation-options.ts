import type { ChatContextInput } from '../../core/model/context.ts';
import type { ChatCompletionRequest } from './request-schema.ts';

/** The options part of a chat context input. */
export type GenerationOptionsInput = NonNullable<ChatContextInput['options']>;

/**
 * The generation options of an OpenAI request, in the core's terms.
 *
 * Parameters with a core field map onto it (`max_completion_tokens` wins over the older
 * `max_tokens`; `json_object` is the core's `json`; a named `tool_choice` is `{ name }`;
 * `reasoning_effort` turns thinking on, or off for `none`). Sampling parameters the core has
 * no field for go to `extra` under their OpenAI names, where a backend that knows them (an
 * OpenAI-compatible upstream, Ollama's same-named options) can pick them up.
 *
 * @example
 * ```ts
 * toGenerationOptions({ max_tokens: 50, stop: ['\n'], frequency_penalty: 0.5, … });
 * // { maxTokens: 50, stop: ['\n'], extra: { frequency_penalty: 0.5 } }
 * ```
 */
export function toGenerationOptions(body: ChatCompletionRequest): GenerationOptionsInput {
  const options: Record<string, unknown> = {};
  setOption(options, 'temperature', body.temperature);
  setOption(options, 'topP', body.top_p);
  setOption(options, 'topK', body.top_k);
  setOption(options, 'maxTokens', body.max_completion_tokens ?? body.max_tokens);
  setOption(options, 'stop', body.stop);
  setOption(options, 'seed', body.seed);
  setOption(options, 'responseFormat', responseFormatOf(body.response_format));
  setOption(
    options,
    'tools',
    body.tools?.map((tool) => ({
      name: tool.function.name,
      ...(tool.function.description == null ? {} : { description: tool.function.description }),
      ...(tool.function.parameters == null ? {} : { parameters: tool.function.parameters }),
    })),
  );
  const choice = body.tool_choice;
  setOption(
    options,
    'toolChoice',
    typeof choice === 'object' && choice !== null ? { name: choice.function.name } : choice,
  );
  if (body.reasoning_effort != null) options.think = body.reasoning_effort !== 'none';

  const extra: Record<string, unknown> = {};
  if (body.frequency_penalty != null) extra.frequency_penalty = body.frequency_penalty;
  if (body.presence_penalty != null) extra.presence_penalty = body.presence_penalty;
  if (body.logit_bias != null) extra.logit_bias = body.logit_bias;
  if (Object.keys(extra).length > 0) options.extra = extra;
  return options as GenerationOptionsInput;
}

/** Sets `key` unless the value is absent (a function, not a closure: this runs per request). */
function setOption(options: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== null && value !== undefined) options[key] = value;
}

function responseFormatOf(format: ChatCompletionRequest['response_format']): GenerationOptionsInput['responseFormat'] {
  if (format == null) return undefined;
  if (format.type === 'text') return { type: 'text' };
  if (format.type === 'json_object') return { type: 'json' };
  // A json_schema without a schema only asks for JSON: the core's json_schema needs one.
  const { name, schema } = format.json_schema;
  return schema == null ? { type: 'json' } : { type: 'json_schema', name, schema };
}
