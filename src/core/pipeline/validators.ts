import { z } from 'zod';
import { PlugboardError } from '../errors/plugboard-error.ts';
import { type ChatContext, chatContextSchema } from '../model/context.ts';
import { formatIssues, type Message, messageSchema, toolCallSchema } from '../model/message.ts';
import { type BackendReply, type ChatChunk, type ChatResponse, FINISH_REASONS } from '../model/reply.ts';
import type { MiddlewareDecision, RespondDecision } from '../plugin/kinds.ts';
import { describe } from '../plugin/structure-check.ts';
import { deepFreeze } from '../util/deep-freeze.ts';

/*
 * Every value a plugin returns is checked before anyone else sees it (a plugin return
 * value is external input). Returning the input unchanged is the common case and costs
 * nothing: it was checked and frozen before.
 */

/** A validator for a processor's returned message; `previous` is what it was given. */
export function messageValidator(previous: Message): (value: unknown) => Message {
  return (value) => (value === previous || value === undefined ? previous : parseMessage(value));
}

/** A validator for an extension's, hook's or middleware's returned context. */
export function contextValidator(previous: ChatContext): (value: unknown) => ChatContext {
  return (value) => (value === previous || value === undefined ? previous : parseContext(value, previous.requestId));
}

/** A validator for `processRequest`: the context, or a respond/reject decision. */
export function requestValidator(previous: ChatContext): (value: unknown) => ChatContext | MiddlewareDecision {
  return (value) => {
    if (value === previous || value === undefined) return previous;
    const decision = (value as { decision?: unknown } | null)?.decision;
    if (decision === 'reject') {
      const error = (value as { error?: unknown }).error;
      if (!(error instanceof PlugboardError))
        throw invalid('a reject decision needs a PlugboardError in "error" (use reject())');
      return value as MiddlewareDecision;
    }
    if (decision === 'respond') return respondDecision(value);
    if (decision !== undefined) throw invalid(`unknown decision ${describe(decision)}: use respond() or reject()`);
    return parseContext(value, previous.requestId);
  };
}

/** A validator for `answerRequest`: a respond decision, or undefined to let the model answer. */
export function answerValidator(value: unknown): RespondDecision | undefined {
  if (value === undefined || value === null) return undefined;
  if ((value as { decision?: unknown }).decision !== 'respond') {
    throw invalid(`answerRequest returns respond(message) or undefined, found ${describe(value)}`);
  }
  return respondDecision(value);
}

const FINISH_REASON_SET: ReadonlySet<unknown> = new Set(FINISH_REASONS);

/** A `respond()` decision with its message checked and its finish reason, if any, one the APIs know. */
function respondDecision(value: unknown): RespondDecision {
  const { message, finishReason } = value as { message?: unknown; finishReason?: unknown };
  if (finishReason !== undefined && !FINISH_REASON_SET.has(finishReason)) {
    throw invalid(`respond(): finishReason ${describe(finishReason)} is not one of ${FINISH_REASONS.join(', ')}`);
  }
  return deepFreeze({ ...(value as object), message: parseMessage(message) }) as RespondDecision;
}

/** A validator for `processResponse`: only metadata and usage may change. */
export function responseValidator(previous: ChatResponse): (value: unknown) => ChatResponse {
  return (value) => {
    if (value === previous || value === undefined) return previous;
    const response = value as Partial<ChatResponse> | null;
    if (typeof response !== 'object' || response === null)
      throw invalid(`expected a ChatResponse, found ${describe(value)}`);
    if (response.message?.content !== previous.message.content) {
      throw invalid('processResponse changed the message content; change content in a message processor instead');
    }
    if (response.requestId !== previous.requestId) throw invalid('processResponse changed the requestId');
    if (typeof response.metadata !== 'object' || response.metadata === null) {
      throw invalid(`metadata: expected an object, found ${describe(response.metadata)}`);
    }
    return deepFreeze({ ...previous, metadata: response.metadata, usage: response.usage ?? previous.usage });
  };
}

/** Checks what a backend's `chat` returned: a completion or an async iterable of chunks. */
export function validateBackendReply(value: unknown): BackendReply {
  if (typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function') {
    return value as AsyncIterable<ChatChunk>;
  }
  const completion = value as { message?: unknown } | null;
  if (typeof completion !== 'object' || completion === null || completion.message === undefined) {
    throw invalid(`chat must return { message } or an async iterable of chunks, found ${describe(value)}`);
  }
  return deepFreeze({ ...completion, message: parseMessage(completion.message) }) as BackendReply;
}

/** Checks one streamed chunk; cheap, since it runs per token. */
export function validateChunk(value: unknown): ChatChunk {
  const chunk = value as ChatChunk | null;
  if (typeof chunk !== 'object' || chunk === null)
    throw invalid(`stream chunk must be an object, found ${describe(value)}`);
  if (chunk.content !== undefined && typeof chunk.content !== 'string') {
    throw invalid(`stream chunk content must be a string, found ${describe(chunk.content)}`);
  }
  if (chunk.thinking !== undefined && typeof chunk.thinking !== 'string') {
    throw invalid(`stream chunk thinking must be a string, found ${describe(chunk.thinking)}`);
  }
  if (chunk.toolCalls !== undefined) {
    // Rare (one chunk per tool-calling reply), so checked in full: a malformed call would
    // otherwise surface later as a crash in whoever encodes it.
    const parsed = toolCallsSchema.safeParse(chunk.toolCalls);
    if (!parsed.success) throw invalid(`stream chunk toolCalls: ${formatIssues(parsed.error)}`);
  }
  return chunk;
}

const toolCallsSchema = z.array(toolCallSchema);

function parseMessage(value: unknown): Message {
  const parsed = messageSchema.safeParse(value);
  if (!parsed.success) throw invalid(`invalid message: ${formatIssues(parsed.error)}`);
  return deepFreeze(parsed.data as Message);
}

function parseContext(value: unknown, requestId: string): ChatContext {
  const parsed = chatContextSchema.safeParse(value);
  if (!parsed.success) throw invalid(`invalid context: ${formatIssues(parsed.error)}`);
  if (parsed.data.requestId !== requestId) throw invalid('the requestId of a request cannot be changed');
  return deepFreeze(parsed.data as ChatContext);
}

function invalid(message: string): PlugboardError {
  return new PlugboardError('PLUGIN_INVALID_RESULT', message);
}
