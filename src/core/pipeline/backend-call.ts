import { backendFailed, circuitOpen } from '../errors/core-errors.ts';
import { PlugboardError } from '../errors/plugboard-error.ts';
import { bulkheadFor, type Release } from '../execution/bulkhead.ts';
import type { RequestScope } from '../execution/request-scope.ts';
import type { ChatContext } from '../model/context.ts';
import type { BackendReply } from '../model/reply.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import { fail, ok, type PluginResult } from '../result.ts';
import { deepFreeze } from '../util/deep-freeze.ts';
import { backoffMs, decideAfterFailure, pause } from './backend-retry.ts';
import { BACKEND_STREAM, streamCircuitOpen } from './backend-stream.ts';
import type { RequestRun } from './request-run.ts';
import { validateBackendReply } from './validators.ts';

/** A failed backend attempt of a request and what followed, as `metadata.backendAttempts` lists it. */
export interface BackendAttempt {
  readonly backend: string;
  readonly code: string;
  readonly message: string;
  /** `retry`, or the name of the fallback backend that took over. */
  readonly next: string;
}

/** A backend call that answered. */
export interface AnsweredCall {
  readonly reply: BackendReply;
  /** The backend that answered (the fallback's, when the first one could not). */
  readonly backend: PluginRecord;
  /** The context as that backend saw it (a fallback gets no model: it answers with its own default). */
  readonly context: ChatContext;
  /** Gives the bulkhead slot back; call it once the reply has been read to its end. */
  readonly release: Release | undefined;
}

/** Backend errors about their service keep their code and status: they say it best. */
const SERVICE_ERRORS: ReadonlySet<string> = new Set([
  'BACKEND_UNAVAILABLE',
  'BACKEND_FAILED',
  'MODEL_NOT_FOUND',
  // The backend refused what the caller asked for (e.g. an image URL it will not fetch): a 400.
  'REQUEST_INVALID',
]);

/**
 * One model turn's call, with the backend's resilience (its `BackendSettings`): take a
 * bulkhead slot, call `chat`; on a retryable failure wait and call again, up to `retries`
 * times; then (or at once for an open breaker) hand the request to the `fallback` backend,
 * each backend at most once per request. Every failed attempt is appended to `attempts`.
 * Only the call is retried: once a reply is returned, reading it is the caller's.
 *
 * @param tried backends already used by this request (shared across its turns)
 * @throws PlugboardError the last failure when no backend could answer
 */
export function callBackend(
  run: RequestRun,
  first: PluginRecord,
  initial: ChatContext,
  attempts: BackendAttempt[],
  tried: Set<string>,
): AnsweredCall | Promise<AnsweredCall> {
  // The common case without a bulkhead, answered at once: no promise at all.
  if (bulkheadFor(first) === undefined && !streamCircuitOpen(first)) {
    tried.add(first.name);
    const result = run.call(first, 'chat', (call) => first.plugin.chat!(initial, call), validateBackendReply, false);
    if (!(result instanceof Promise) && result.ok) {
      return { reply: result.value, backend: first, context: initial, release: undefined };
    }
    return callWithResilience(run, first, initial, attempts, tried, result);
  }
  return callWithResilience(run, first, initial, attempts, tried, undefined);
}

/** {@link callBackend} once a call is pending or failed, or a bulkhead slot is needed. */
async function callWithResilience(
  run: RequestRun,
  first: PluginRecord,
  initial: ChatContext,
  attempts: BackendAttempt[],
  tried: Set<string>,
  started: PluginResult<BackendReply> | Promise<PluginResult<BackendReply>> | undefined,
): Promise<AnsweredCall> {
  let backend = first;
  let context = initial;
  tried.add(backend.name);
  for (let attempt = 0; ; attempt++) {
    const caller = backend;
    const turnContext = context;
    const pending =
      attempt === 0 && caller === first && started !== undefined
        ? started
        : streamCircuitOpen(caller)
          ? streamSkipped(caller)
          : undefined;
    const slot = pending === undefined ? await takeSlot(caller, run.scope) : ok(undefined);
    const result =
      pending !== undefined
        ? await pending
        : slot.ok
          ? await run.call(
              caller,
              'chat',
              (call) => caller.plugin.chat!(turnContext, call),
              validateBackendReply,
              false,
            )
          : slot;
    if (result.ok) return { reply: result.value, backend: caller, context, release: slot.ok ? slot.value : undefined };
    if (slot.ok) slot.value?.();

    const failure = serviceFailure(caller, result.error);
    const decision = decideAfterFailure(result.error);
    const { retries, retryDelayMs, fallback } = caller.config.backend;
    if (decision === 'retry' && attempt < retries) {
      attempts.push({ backend: caller.name, code: failure.code, message: failure.message, next: 'retry' });
      await pause(backoffMs(attempt, retryDelayMs, result.error), run.scope);
      continue;
    }
    const next = decision === 'fail' || fallback === undefined ? undefined : run.snapshot.backends.get(fallback);
    if (next === undefined || tried.has(next.name)) throw failure;
    attempts.push({ backend: caller.name, code: failure.code, message: failure.message, next: next.name });
    tried.add(next.name);
    backend = next;
    context = handOver(context, next.name);
    attempt = -1;
  }
}

/**
 * After a backend's reply failed while being read (before any of it reached the client):
 * the fallback that takes over, as {@link callBackend} would pick it after a failed call —
 * when the failure is one a fallback can help with and the request has not tried it yet.
 * Not retried on the same backend: its reply already failed once mid-way.
 *
 * @returns the backend and context to call next, or undefined when the failure stands
 */
export function handOverAfterFailure(
  run: RequestRun,
  backend: PluginRecord,
  context: ChatContext,
  thrown: unknown,
  attempts: BackendAttempt[],
  tried: Set<string>,
): { backend: PluginRecord; context: ChatContext } | undefined {
  if (!(thrown instanceof PlugboardError) || run.scope.abortError !== undefined) return undefined;
  if (decideAfterFailure(thrown) === 'fail') return undefined;
  const fallback = backend.config.backend.fallback;
  const next = fallback === undefined ? undefined : run.snapshot.backends.get(fallback);
  if (next === undefined || tried.has(next.name)) return undefined;
  const failure = serviceFailure(backend, thrown);
  attempts.push({ backend: backend.name, code: failure.code, message: failure.message, next: next.name });
  tried.add(next.name);
  return { backend: next, context: handOver(context, next.name) };
}

/** A backend whose streams keep failing is skipped, as an open `chat` circuit is (see streamCircuitOpen). */
function streamSkipped(record: PluginRecord): PluginResult<BackendReply> {
  record.metrics.record('chat', 'skipped', 0);
  return fail(circuitOpen(record.name, BACKEND_STREAM, record.breakers.for(BACKEND_STREAM).status));
}

/** A bulkhead slot of `record` (none needed without a limit), or the refusal as a failed result. */
async function takeSlot(record: PluginRecord, scope: RequestScope): Promise<PluginResult<Release | undefined>> {
  const bulkhead = bulkheadFor(record);
  if (bulkhead === undefined) return ok(undefined);
  try {
    return ok(await bulkhead.acquire(scope));
  } catch (error) {
    if (error instanceof PlugboardError) return fail(error);
    throw error;
  }
}

/** The context for a fallback backend: routed to it, without the failed backend's model. */
function handOver(context: ChatContext, backend: string): ChatContext {
  const routed: { -readonly [K in keyof ChatContext]?: ChatContext[K] } = { ...context, backend };
  delete routed.model;
  return deepFreeze(routed as ChatContext);
}

/**
 * The error a failed call is reported as: a backend's own service error as it is; a timeout
 * as a gateway timeout (504); a call skipped by an open breaker as unavailable (503); anything
 * else (a bug) as BACKEND_FAILED, without the plugin's exception text for the client.
 */
function serviceFailure(record: PluginRecord, error: PlugboardError): PlugboardError {
  if (error.code === 'REQUEST_ABORTED' || SERVICE_ERRORS.has(error.code)) return error;
  const status = error.code === 'PLUGIN_TIMEOUT' ? 504 : error.code === 'PLUGIN_CIRCUIT_OPEN' ? 503 : undefined;
  return backendFailed(record.name, error, status);
}
