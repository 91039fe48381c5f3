import type { ErrorCode } from '../core/errors/catalogue.ts';
import { PlugboardError } from '../core/errors/plugboard-error.ts';
import type { Message } from '../core/model/message.ts';
import type { FinishReason, Usage } from '../core/model/reply.ts';
import type { RejectDecision, RespondDecision } from '../core/plugin/kinds.ts';

/**
 * From `processRequest` or `answerRequest`: answer the request without calling the backend
 * (e.g. a cache hit). The answer passes the output processors as a model's reply would.
 *
 * @example
 * ```ts
 * processRequest: (context) => {
 *   const hit = cache.get(key(context));
 *   return hit ? respond(hit, { metadata: { cache: 'hit' } }) : context;
 * },
 * ```
 */
export function respond(
  message: Message,
  extra: { usage?: Usage; finishReason?: FinishReason; metadata?: Readonly<Record<string, unknown>> } = {},
): RespondDecision {
  return { decision: 'respond', message, ...extra };
}

/**
 * From `processRequest`: refuse the request with a coded error, an HTTP status and, if need
 * be, response headers (see ErrorOrigin.headers for the ones a plugin may not set).
 *
 * @example
 * ```ts
 * processRequest: (context) =>
 *   allowed(context)
 *     ? context
 *     : reject('REQUEST_REJECTED', 'Too many requests, retry in 10 s', { status: 429, headers: { 'retry-after': '10' } }),
 * ```
 */
export function reject(
  code: ErrorCode,
  message: string,
  options: {
    status?: number;
    details?: Readonly<Record<string, unknown>>;
    headers?: Readonly<Record<string, string>>;
  } = {},
): RejectDecision {
  return { decision: 'reject', error: new PlugboardError(code, message, options) };
}
