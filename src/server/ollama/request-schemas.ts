/**
 * The request bodies of Ollama's API, as zod schemas. Every field of Ollama's API (0.12) is
 * known: the ones Plugboard cannot honour in a way that changes the answer (`logprobs`, image
 * generation) are refused with a 400 saying so, harmless hints (`truncate`, `shift`) are
 * accepted and ignored, and an unknown field is a 400 naming it, as on every Plugboard route
 * (a misspelt `temprature` must not be silently dropped). `null` counts as absent, as in Go.
 * Model `options` are open: unknown keys go to the backend in `options.extra`. Limits the
 * core enforces (temperature 0–2 …) are checked here, so the error names the Ollama field.
 */
import { z } from 'zod';
import { keepAliveMs } from './keep-alive.ts';

const jsonObject = z.record(z.string(), z.unknown());

/** The model name every route but `/api/tags` requires. */
const modelName = z
  .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
  .min(1, 'must not be empty');

/** `"5m"`, `"1h30m"`, `0`, `-1` … (see keep-alive.ts). */
export const keepAliveSchema = z
  .union([z.number(), z.string()], { error: 'must be a duration string ("5m") or a number of seconds' })
  .refine((value) => keepAliveMs(value) !== undefined, {
    message: 'must be a duration such as "5m", "1h30m", "0" or a number of seconds',
  });

/** `true`/`false`, or a reasoning effort some models accept. */
export const thinkSchema = z.union([z.boolean(), z.enum(['high', 'medium', 'low'])], {
  error: 'must be true, false, "high", "medium" or "low"',
});

/** `"json"`, a JSON schema object, or `""` (none, as Ollama treats it). */
export const formatSchema = z.union([z.literal(''), z.literal('json'), jsonObject], {
  error: 'must be "json" or a JSON schema object',
});

/**
 * Ollama's model `options`. The ones the core knows are typed; every other key (`num_ctx`,
 * `repeat_penalty` …) is kept and passed to the backend in `options.extra`.
 */
export const ollamaOptionsSchema = z.looseObject({
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  num_predict: z.number().int().nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string(), z.array(z.string())], { error: 'must be a string or an array of strings' }).nullish(),
});

/** A field Plugboard refuses whatever its value, with the reason. */
function unsupported(reason: string) {
  return z
    .unknown()
    .refine((value) => value === undefined || value === null, { error: reason })
    .optional();
}

/** Ollama's `logprobs`: accepted only when it asks for nothing. */
const logprobsFields = {
  logprobs: z
    .boolean()
    .refine((value) => !value, { error: 'log probabilities are not supported by Plugboard' })
    .nullish(),
  top_logprobs: z
    .number()
    .int()
    .refine((value) => value === 0, { error: 'log probabilities are not supported by Plugboard' })
    .nullish(),
};

/** Context-window hints for Ollama's runner; a backend manages its own context, so they are ignored. */
const contextHints = {
  truncate: z.boolean().nullish(),
  shift: z.boolean().nullish(),
};

/** A tool call in a message: arguments are an object (Ollama), or JSON text (lenient). */
export const toolCallSchema = z.strictObject({
  id: z.string().nullish(),
  // Sent by clients that reuse OpenAI-shaped history; always "function".
  type: z.string().nullish(),
  function: z.strictObject({
    index: z.number().int().nullish(),
    name: z.string().min(1, 'must not be empty'),
    arguments: z.union([jsonObject, z.string()], { error: 'must be an object' }).nullish(),
  }),
});

/** One message of `/api/chat`. */
export const messageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant', 'tool'], {
    error: 'must be one of system, user, assistant, tool',
  }),
  content: z.string().nullish(),
  images: z.array(z.string()).nullish(),
  thinking: z.string().nullish(),
  tool_calls: z.array(toolCallSchema).nullish(),
  tool_name: z.string().nullish(),
  tool_call_id: z.string().nullish(),
});

/** A tool the model may call. */
export const toolSchema = z.strictObject({
  type: z.string().nullish(),
  items: z.unknown().optional(),
  function: z.strictObject({
    name: z.string().min(1, 'must not be empty'),
    description: z.string().nullish(),
    parameters: jsonObject.nullish(),
  }),
});

/** What chat and generate share: sampling, output format, thinking, keep-alive, streaming. */
const generationFields = {
  model: modelName,
  format: formatSchema.nullish(),
  options: ollamaOptionsSchema.nullish(),
  stream: z.boolean().nullish(),
  keep_alive: keepAliveSchema.nullish(),
  think: thinkSchema.nullish(),
  /** Plugboard's own: the conversation this request continues (conversation memory); the `x-conversation-id` header wins. */
  conversation_id: z.string().nullish(),
  ...logprobsFields,
  ...contextHints,
};

/** `POST /api/chat`. */
export const chatRequestSchema = z.strictObject({
  ...generationFields,
  messages: z.array(messageSchema).nullish(),
  tools: z.array(toolSchema).nullish(),
});

/** `POST /api/generate`. */
export const generateRequestSchema = z.strictObject({
  ...generationFields,
  prompt: z.string().nullish(),
  suffix: z.string().nullish(),
  system: z.string().nullish(),
  template: z.string().nullish(),
  images: z.array(z.string()).nullish(),
  raw: z.boolean().nullish(),
  context: z.array(z.number()).nullish(),
  width: unsupported('image generation (width, height, steps) is not supported by Plugboard'),
  height: unsupported('image generation (width, height, steps) is not supported by Plugboard'),
  steps: unsupported('image generation (width, height, steps) is not supported by Plugboard'),
});

/** `POST /api/embed`. */
export const embedRequestSchema = z.strictObject({
  model: modelName,
  input: z.union([z.string(), z.array(z.string())], { error: 'must be a string or an array of strings' }).nullish(),
  truncate: z.boolean().nullish(),
  dimensions: z.number().int().positive().nullish(),
  options: ollamaOptionsSchema.nullish(),
  keep_alive: keepAliveSchema.nullish(),
});

/** `POST /api/embeddings` (legacy, one prompt). */
export const embeddingsRequestSchema = z.strictObject({
  model: modelName,
  prompt: z.string().nullish(),
  options: ollamaOptionsSchema.nullish(),
  keep_alive: keepAliveSchema.nullish(),
});

/**
 * `POST /api/show`: `model`, or `name` as older clients send it. `system`, `template` and
 * `options` (which Ollama merges into the Modelfile it shows) are accepted and ignored.
 */
export const showRequestSchema = z.strictObject({
  model: z.string().nullish(),
  name: z.string().nullish(),
  verbose: z.boolean().nullish(),
  system: z.string().nullish(),
  template: z.string().nullish(),
  options: ollamaOptionsSchema.nullish(),
});

export type OllamaChatRequest = z.output<typeof chatRequestSchema>;
export type OllamaGenerateRequest = z.output<typeof generateRequestSchema>;
export type OllamaMessage = z.output<typeof messageSchema>;
export type OllamaToolCallInput = z.output<typeof toolCallSchema>;
export type OllamaOptions = z.output<typeof ollamaOptionsSchema>;
