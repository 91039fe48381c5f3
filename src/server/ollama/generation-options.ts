/**
 * Ollama's request fields that shape generation (`options`, `format`, `tools`, `think`,
 * `keep_alive`) as the core's GenerationOptions, which every backend maps to its own API.
 */
import type { ChatContextInput } from '../../core/model/context.ts';
import type { OllamaChatRequest, OllamaOptions } from './request-schemas.ts';

/** GenerationOptions in the (mutable) input form createChatContext takes. */
export type GenerationOptionsInput = NonNullable<ChatContextInput['options']>;

/** The fields of a chat or generate request this module reads. */
export type GenerationFields = Pick<OllamaChatRequest, 'options' | 'format' | 'think' | 'keep_alive'> & {
  readonly tools?: OllamaChatRequest['tools'];
};

/** The core's options, plus what only fits the context's metadata. */
export interface MappedGeneration {
  readonly options: GenerationOptionsInput;
  /** `thinkLevel` when the client asked for a reasoning effort (`think: "high"`). */
  readonly metadata: Record<string, unknown>;
}

/**
 * Maps a request's generation fields. `options.num_predict` becomes `maxTokens` when
 * positive (Ollama's -1 and -2 mean "no limit", the default); `temperature`, `top_p`,
 * `top_k`, `seed` and `stop` have core equivalents; every other option goes to `extra`
 * untouched, for backends that understand it (an Ollama backend forwards `num_ctx` …).
 *
 * @example
 * ```ts
 * mapGeneration({ options: { num_predict: 64, num_ctx: 8192 }, format: 'json' }).options;
 * // { maxTokens: 64, extra: { num_ctx: 8192 }, responseFormat: { type: 'json' } }
 * ```
 */
export function mapGeneration(fields: GenerationFields): MappedGeneration {
  const options: GenerationOptionsInput = { ...samplingOptions(fields.options) };
  const metadata: Record<string, unknown> = {};
  const format = fields.format;
  if (format === 'json') options.responseFormat = { type: 'json' };
  else if (typeof format === 'object' && format !== null)
    options.responseFormat = { type: 'json_schema', schema: format };
  if (fields.tools && fields.tools.length > 0) {
    options.tools = fields.tools.map((tool) => ({
      name: tool.function.name,
      ...(tool.function.description == null ? {} : { description: tool.function.description }),
      ...(tool.function.parameters == null ? {} : { parameters: tool.function.parameters }),
    }));
  }
  if (typeof fields.think === 'boolean') options.think = fields.think;
  else if (typeof fields.think === 'string') {
    // The core's `think` is a switch; the effort level travels for plugins that care.
    options.think = true;
    metadata.thinkLevel = fields.think;
  }
  if (fields.keep_alive != null) options.keepAlive = fields.keep_alive;
  return { options, metadata };
}

function samplingOptions(given: OllamaOptions | null | undefined): GenerationOptionsInput {
  if (given == null) return {};
  const { temperature, top_p, top_k, num_predict, seed, stop, ...rest } = given;
  const options: GenerationOptionsInput = {};
  if (temperature != null) options.temperature = temperature;
  if (top_p != null) options.topP = top_p;
  if (top_k != null) options.topK = top_k;
  if (num_predict != null && num_predict > 0) options.maxTokens = num_predict;
  if (seed != null) options.seed = seed;
  if (stop != null) options.stop = typeof stop === 'string' ? [stop] : [...stop];
  const extra = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined && value !== null));
  if (Object.keys(extra).length > 0) options.extra = extra;
  return options;
}
