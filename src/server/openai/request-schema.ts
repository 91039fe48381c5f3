import { z } from 'zod';
import { jsonSchemaField } from './json-schema-field.ts';
import { openAiMessageSchema } from './message-schema.ts';
import { required } from './required-parameter.ts';

/**
 * The zod schema of `POST /v1/chat/completions`.
 *
 * Strict at the top level, like OpenAI's "Unrecognized request argument supplied": a typo in
 * a parameter name is a 400 naming it rather than a silently ignored option. Every documented
 * OpenAI parameter is accepted; those Plugboard cannot honour (`n` > 1, `logprobs`, audio
 * output …) are refused with a message that says so, because silently answering without
 * them would look like a bug in the caller's code. Optional fields accept `null`, which
 * OpenAI treats as "not given" and which some clients send.
 */

/** A parameter Plugboard refuses unless it is null: `message` says why. */
const unsupported = (message: string) =>
  z
    .unknown()
    .refine((value) => value === null || value === undefined, { error: message })
    .optional();

const toolSchema = z.strictObject({
  type: z.literal('function'),
  function: z.strictObject({
    name: z.string().min(1).max(64),
    description: z.string().nullish(),
    parameters: jsonSchemaField().nullish(),
    strict: z.boolean().nullish(),
  }),
});

const toolChoiceSchema = z.union(
  [
    z.enum(['none', 'auto', 'required']),
    z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: z.string().min(1) }) }),
  ],
  { error: 'expected "none", "auto", "required" or {"type": "function", "function": {"name": …}}' },
);

const responseFormatSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json_object') }),
  z.strictObject({
    type: z.literal('json_schema'),
    json_schema: z.strictObject({
      name: z.string().min(1).max(64),
      description: z.string().nullish(),
      schema: jsonSchemaField().nullish(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

const stopSchema = z.preprocess(
  (value) => (typeof value === 'string' ? [value] : value),
  z.array(z.string(), { error: 'expected a string or an array of strings' }),
);

/** The request body of `POST /v1/chat/completions`. */
export const chatCompletionRequestSchema = z
  .strictObject({
    model: z.string(required('model')).min(1),
    messages: z.array(openAiMessageSchema, required('messages')).min(1, { error: 'at least one message is required' }),
    stream: z.boolean().nullish(),
    stream_options: z
      .strictObject({ include_usage: z.boolean().nullish(), include_obfuscation: z.boolean().nullish() })
      .nullish(),
    max_tokens: z.number().int().positive().nullish(),
    max_completion_tokens: z.number().int().positive().nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().min(0).max(1).nullish(),
    // Not OpenAI's, but the most common extension of OpenAI-compatible servers (vLLM, llama.cpp).
    top_k: z.number().int().min(0).nullish(),
    stop: stopSchema.nullish(),
    seed: z.number().int().nullish(),
    frequency_penalty: z.number().min(-2).max(2).nullish(),
    presence_penalty: z.number().min(-2).max(2).nullish(),
    logit_bias: z.record(z.string(), z.number().min(-100).max(100)).nullish(),
    response_format: responseFormatSchema.nullish(),
    tools: z.array(toolSchema).nullish(),
    tool_choice: toolChoiceSchema.nullish(),
    parallel_tool_calls: z.boolean().nullish(),
    user: z.string().nullish(),
    safety_identifier: z.string().nullish(),
    prompt_cache_key: z.string().nullish(),
    prompt_cache_retention: z.string().nullish(),
    metadata: z.record(z.string(), z.string()).nullish(),
    store: z.boolean().nullish(),
    service_tier: z.string().nullish(),
    reasoning_effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']).nullish(),
    verbosity: z.enum(['low', 'medium', 'high']).nullish(),
    modalities: z
      .array(z.enum(['text', 'audio']))
      .refine((list) => !list.includes('audio'), { error: 'audio output is not supported by Plugboard' })
      .nullish(),
    // An optimisation hint only: answering without it is still a correct answer.
    prediction: z.looseObject({ type: z.literal('content') }).nullish(),
    n: z
      .number()
      .int()
      .refine((value) => value === 1, { error: 'Plugboard returns one choice per request: n must be 1' })
      .nullish(),
    logprobs: z
      .boolean()
      .refine((value) => !value, { error: 'logprobs are not supported by Plugboard' })
      .nullish(),
    top_logprobs: unsupported('log probabilities (top_logprobs) are not supported by Plugboard'),
    audio: unsupported('audio output is not supported by Plugboard'),
    web_search_options: unsupported('web search is not supported by Plugboard'),
    functions: unsupported('`functions` is deprecated and not supported: use `tools`'),
    function_call: unsupported('`function_call` is deprecated and not supported: use `tool_choice`'),
  })
  .superRefine((body, issues) => {
    // Cross-field rules OpenAI enforces too; they run once every field is valid on its own.
    if (body.stream_options != null && body.stream !== true) {
      issues.addIssue({
        code: 'custom',
        path: ['stream_options'],
        message: 'stream_options is only allowed when stream is true',
      });
    }
    const choice = body.tool_choice;
    if (choice != null && (body.tools == null || body.tools.length === 0) && choice !== 'none') {
      issues.addIssue({ code: 'custom', path: ['tool_choice'], message: 'tool_choice needs tools' });
    }
    if (typeof choice === 'object' && choice !== null && body.tools != null) {
      const known = body.tools.map((tool) => tool.function.name);
      if (!known.includes(choice.function.name)) {
        issues.addIssue({
          code: 'custom',
          path: ['tool_choice', 'function', 'name'],
          message: `no tool named "${choice.function.name}" in tools (${known.join(', ')})`,
        });
      }
    }
  });

/** A validated chat completion request. */
export type ChatCompletionRequest = z.output<typeof chatCompletionRequestSchema>;
