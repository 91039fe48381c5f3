import type { FastifyInstance } from 'fastify';
import type { PlugboardError } from '../core/errors/plugboard-error.ts';
import { serverErrors } from './server-errors.ts';
import type { ServerSettings } from './settings.ts';

/**
 * Caps on what one request may carry besides its bytes (`server.limits`): messages per chat,
 * inputs per embeddings request, characters of text. A body of 450 000 tiny messages fits in
 * the byte limit yet costs seconds of validation and mapping; these caps refuse it with a 413
 * (`REQUEST_LIMIT_EXCEEDED`, in the route's error format) from a `preValidation` hook: one
 * cheap pass over the parsed body before any route validates a message. Malformed fields are
 * skipped here and left to the route's validation, which names them.
 */
export function installRequestLimits(app: FastifyInstance, settings: ServerSettings): void {
  const limits: Limits = {
    maxMessages: settings.maxMessages,
    maxInputs: settings.maxInputs,
    maxTotalChars: settings.maxTotalChars,
  };
  app.addHook('preValidation', (request, _reply, done) => {
    const check = CHECKS[request.routeOptions.url ?? ''];
    const body = request.body;
    if (check === undefined || typeof body !== 'object' || body === null || Array.isArray(body)) {
      done();
      return;
    }
    const exceeded = check(body as Body, limits);
    if (exceeded === undefined) done();
    else done(exceeded);
  });
}

type Limits = Pick<ServerSettings, 'maxMessages' | 'maxInputs' | 'maxTotalChars'>;
type Body = Readonly<Record<string, unknown>>;
type Check = (body: Body, limits: Limits) => PlugboardError | undefined;

/** The routes with something to count, by their path. */
const CHECKS: Readonly<Record<string, Check>> = {
  '/v1/chat/completions': checkChat,
  '/api/chat': checkChat,
  '/api/generate': (body, limits) =>
    checkChars(textLength(body.prompt, body.system, body.suffix, body.template), limits),
  '/v1/embeddings': (body, limits) => checkInputs(body.input, limits),
  '/api/embed': (body, limits) => checkInputs(body.input, limits),
  '/api/embeddings': (body, limits) => checkChars(textLength(body.prompt), limits),
};

/**
 * Messages; the content parts, images and tool calls of all of them together; tools; and the
 * characters of their text (contents, text parts, reasoning, tool-call arguments).
 */
function checkChat(body: Body, limits: Limits): PlugboardError | undefined {
  const { messages, tools } = body;
  const max = limits.maxMessages;
  if (Array.isArray(tools) && tools.length > max) {
    return exceeded(`${tools.length} tools`, max, 'max_messages', 'tools');
  }
  if (!Array.isArray(messages)) return undefined;
  if (messages.length > max) return exceeded(`${messages.length} messages`, max, 'max_messages', 'messages');
  let parts = 0;
  let chars = 0;
  for (const message of messages) {
    if (typeof message !== 'object' || message === null) continue;
    const { content, images, tool_calls, thinking, reasoning_content, refusal } = message as Body;
    chars += textLength(content, thinking, reasoning_content, refusal);
    if (Array.isArray(content)) {
      parts += content.length;
      for (const part of content) {
        if (typeof part === 'object' && part !== null) chars += textLength((part as Body).text, (part as Body).refusal);
      }
    }
    if (Array.isArray(images)) parts += images.length;
    if (Array.isArray(tool_calls)) {
      parts += tool_calls.length;
      for (const call of tool_calls) {
        const fn = typeof call === 'object' && call !== null ? (call as Body).function : undefined;
        if (typeof fn === 'object' && fn !== null) chars += textLength((fn as Body).arguments);
      }
    }
    if (parts > max) {
      return exceeded(
        `more than ${max} content parts, images and tool calls in its messages`,
        max,
        'max_messages',
        'messages',
      );
    }
  }
  return checkChars(chars, limits, 'messages');
}

function checkInputs(input: unknown, limits: Limits): PlugboardError | undefined {
  if (!Array.isArray(input)) return checkChars(textLength(input), limits, 'input');
  if (input.length > limits.maxInputs) {
    return exceeded(`${input.length} inputs`, limits.maxInputs, 'max_inputs', 'input');
  }
  let chars = 0;
  for (const item of input) chars += textLength(item);
  return checkChars(chars, limits, 'input');
}

function checkChars(chars: number, limits: Limits, param: string | null = null): PlugboardError | undefined {
  return chars > limits.maxTotalChars
    ? exceeded(`${chars} characters of text`, limits.maxTotalChars, 'max_total_chars', param)
    : undefined;
}

/** The summed length of the values that are strings (anything else is the schema's to report). */
function textLength(...values: unknown[]): number {
  let length = 0;
  for (const value of values) if (typeof value === 'string') length += value.length;
  return length;
}

function exceeded(what: string, max: number, key: string, param: string | null): PlugboardError {
  return serverErrors.REQUEST_LIMIT_EXCEEDED(
    `The request has ${what}; the server accepts at most ${max} (server.limits.${key})`,
    { details: { param } },
  );
}
