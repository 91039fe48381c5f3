import { z } from 'zod';

/**
 * Zod schemas of the `messages` of an OpenAI chat completion request.
 *
 * Strict like OpenAI (an unknown key is reported), but tolerant of every key the official
 * clients send back when a caller appends the previous reply to the conversation
 * (`refusal`, `annotations`, `audio`, `reasoning_content`), so the usual
 * `messages.push(completion.choices[0].message)` keeps working.
 */

/**
 * `content` is a string or an array of parts. A string is turned into one text part before
 * validation, so a wrong part is reported at its own path (`messages.0.content.1.text`)
 * instead of as an opaque union failure.
 */
function partsOrString<Part extends z.ZodType>(part: Part) {
  return z.preprocess(
    (value) => (typeof value === 'string' ? [{ type: 'text', text: value }] : value),
    z.array(part, { error: 'expected a string or an array of content parts' }),
  );
}

const textPart = z.strictObject({ type: z.literal('text'), text: z.string() });

const imagePart = z.strictObject({
  type: z.literal('image_url'),
  image_url: z.strictObject({
    url: z.string().min(1),
    detail: z.enum(['auto', 'low', 'high']).nullish(),
  }),
});

const refusalPart = z.strictObject({ type: z.literal('refusal'), refusal: z.string() });

/** Part types OpenAI knows but Plugboard's messages cannot carry: reported as such, not as typos. */
const UNSUPPORTED_PARTS: Readonly<Record<string, string>> = {
  input_audio: 'audio input parts are not supported by Plugboard',
  file: 'file parts are not supported by Plugboard',
};

const userPart = z.discriminatedUnion('type', [textPart, imagePart], {
  error: (issue) => {
    const type = (issue.input as { type?: unknown } | undefined)?.type;
    return typeof type === 'string' ? UNSUPPORTED_PARTS[type] : undefined;
  },
});

const textOnly = partsOrString(z.discriminatedUnion('type', [textPart]));

const toolCallSchema = z.strictObject({
  id: z.string().min(1),
  type: z.literal('function'),
  function: z.strictObject({ name: z.string().min(1), arguments: z.string() }),
});

const name = z.string().nullish();

const systemMessage = z.strictObject({ role: z.literal('system'), content: textOnly, name });
const developerMessage = z.strictObject({ role: z.literal('developer'), content: textOnly, name });
const userMessage = z.strictObject({ role: z.literal('user'), content: partsOrString(userPart), name });

const assistantMessage = z.strictObject({
  role: z.literal('assistant'),
  // Null (or absent) when the turn only called tools.
  content: partsOrString(z.discriminatedUnion('type', [textPart, refusalPart])).nullish(),
  name,
  tool_calls: z.array(toolCallSchema).nullish(),
  refusal: z.string().nullish(),
  // Echoed back from a previous reply: Plugboard's own responses carry the reasoning here.
  reasoning_content: z.string().nullish(),
  annotations: z.array(z.unknown()).nullish(),
  audio: z.looseObject({ id: z.string() }).nullish(),
  function_call: z.null().optional(),
});

const toolMessage = z.strictObject({
  role: z.literal('tool'),
  content: textOnly,
  tool_call_id: z.string().min(1),
});

/** One message of the request, discriminated by `role`. */
export const openAiMessageSchema = z.discriminatedUnion('role', [
  systemMessage,
  developerMessage,
  userMessage,
  assistantMessage,
  toolMessage,
]);

/** A validated request message. */
export type OpenAiMessage = z.output<typeof openAiMessageSchema>;
