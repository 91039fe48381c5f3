import { invalidResult } from '../errors/core-errors.ts';
import type { PlugboardError } from '../errors/plugboard-error.ts';
import type { ChatContext } from '../model/context.ts';
import type { ChatResponse } from '../model/reply.ts';
import type { MiddlewareDecision, RespondDecision } from '../plugin/kinds.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import type { PluginResult } from '../result.ts';
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
export function enterMiddleware(
  run: RequestRun,
  middleware: readonly PluginRecord[],
  initial: ChatContext,
  answerable = true,
): Admission | Promise<Admission> {
  return new Entry(run, middleware, answerable).from(0, initial);
}

/**
 * The walk through the middleware of one request, synchronous until a middleware answers with
 * a promise (no promise of its own per request), continued when it settles.
 */
class Entry {
  readonly entered: PluginRecord[] = [];

  constructor(
    private readonly run: RequestRun,
    private readonly middleware: readonly PluginRecord[],
    private readonly answerable: boolean,
  ) {}

  from(start: number, initial: ChatContext): Admission | Promise<Admission> {
    let context = initial;
    for (let index = start; index < this.middleware.length; index++) {
      const record = this.middleware[index]!;
      if (record.plugin.processRequest === undefined) {
        this.entered.push(record);
        continue;
      }
      const current = context;
      const result = this.run.call(
        record,
        'processRequest',
        (call) => record.plugin.processRequest!(current, call),
        requestValidator(current),
      );
      if (result instanceof Promise) {
        return result.then((settled) => {
          const outcome = this.#take(record, current, settled);
          return 'context' in outcome ? this.from(index + 1, outcome.context) : outcome.admission;
        });
      }
      const outcome = this.#take(record, current, result);
      if (!('context' in outcome)) return outcome.admission;
      context = outcome.context;
    }
    return { context, entered: this.entered };
  }

  /** One middleware's answer: the request goes on (with this context), or the walk ends. */
  #take(
    record: PluginRecord,
    context: ChatContext,
    result: PluginResult<ChatContext | MiddlewareDecision>,
  ): { readonly context: ChatContext } | { readonly admission: Admission } {
    if (!result.ok) {
      this.entered.push(record);
      return { context };
    }
    const value = result.value;
    if (!('decision' in value)) {
      this.entered.push(record);
      return { context: value };
    }
    // The middleware that answered or refused the request does not see a response.
    if (value.decision === 'reject') {
      return { admission: { context, entered: this.entered, rejection: attribute(value.error, record) } };
    }
    if (!this.answerable) {
      // Only a chat can be answered with a message: for any other operation an answer is a
      // plugin bug, handled by its failure policy like any other invalid result.
      this.run.fail(record, 'processRequest', unanswerable(record.name, context.operation));
      this.entered.push(record);
      return { context };
    }
    return { admission: { context, entered: this.entered, answer: { decision: value, by: record } } };
  }
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
