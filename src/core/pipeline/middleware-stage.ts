import { invalidResult } from '../errors/core-errors.ts';
import type { PlugboardError } from '../errors/plugboard-error.ts';
import type { ChatContext } from '../model/context.ts';
import type { ChatResponse } from '../model/reply.ts';
import type { RespondDecision } from '../plugin/kinds.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import type { RequestRun } from './request-run.ts';
import { requestValidator, responseValidator } from './validators.ts';

/** What the middleware did with a request on its way in. */
export interface Admission {
  /** The request as the last middleware passed it on. */
  readonly context: ChatContext;
  /** Middleware the request went through, in order (responses pass them in reverse). */
  readonly entered: readonly PluginRecord[];
  /** A middleware answered the request itself (a cache hit): no backend is called. */
  readonly answer?: { readonly decision: RespondDecision; readonly by: PluginRecord };
  /** A middleware refused the request (authentication, rate limit). */
  readonly rejection?: PlugboardError;
}

/**
 * Stage 1: the request passes every middleware's `processRequest` in priority order. Each may
 * change it, answer it (`respond`) or refuse it (`reject`); a failing fail-open middleware is
 * bypassed, a failing fail-closed one rejects the request. This runs before anything else
 * about the request is looked at — models included — so a refused caller learns nothing.
 */
export async function enterMiddleware(
  run: RequestRun,
  middleware: readonly PluginRecord[],
  initial: ChatContext,
  answerable = true,
): Promise<Admission> {
  let context = initial;
  const entered: PluginRecord[] = [];
  for (const record of middleware) {
    if (record.plugin.processRequest === undefined) {
      entered.push(record);
      continue;
    }
    const current = context;
    const result = await run.call(
      record,
      'processRequest',
      (call) => record.plugin.processRequest!(current, call),
      requestValidator(current),
    );
    if (!result.ok) {
      entered.push(record);
      continue;
    }
    const value = result.value;
    if (!('decision' in value)) {
      context = value;
      entered.push(record);
      continue;
    }
    // The middleware that answered or refused the request does not see a response.
    if (value.decision === 'reject') return { context, entered, rejection: attribute(value.error, record) };
    if (!answerable) {
      // Only a chat can be answered with a message: for any other operation an answer is a
      // plugin bug, handled by its failure policy like any other invalid result.
      run.fail(record, 'processRequest', unanswerable(record.name, context.operation));
      entered.push(record);
      continue;
    }
    return { context, entered, answer: { decision: value, by: record } };
  }
  return { context, entered };
}

/**
 * Stage 9: the response passes the middleware the request entered, in reverse order. Each
 * `processResponse` may change metadata and usage, not the message (content belongs to
 * message processors, so streamed and non-streamed replies stay equal).
 */
export async function leaveMiddleware(
  run: RequestRun,
  entered: readonly PluginRecord[],
  initial: ChatResponse,
  context: ChatContext,
): Promise<ChatResponse> {
  let response = initial;
  for (let index = entered.length - 1; index >= 0; index--) {
    const record = entered[index]!;
    if (record.plugin.processResponse === undefined) continue;
    const current = response;
    const result = await run.call(
      record,
      'processResponse',
      (call) => record.plugin.processResponse!(current, context, call),
      responseValidator(current),
    );
    if (result.ok) response = result.value;
  }
  return response;
}

function unanswerable(plugin: string, operation: string): PlugboardError {
  return invalidResult(
    `middleware "${plugin}" answered a ${operation} request with respond(); only chat and generate requests can be answered (check context.operation)`,
  ).withOrigin({ plugin, hook: 'processRequest' });
}

/** A rejection names the middleware that made it. */
function attribute(error: PlugboardError, record: PluginRecord): PlugboardError {
  return error.plugin !== undefined ? error : error.withOrigin({ plugin: record.name, hook: 'processRequest' });
}
