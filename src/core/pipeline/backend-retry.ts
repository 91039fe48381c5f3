import type { PlugboardError } from '../errors/plugboard-error.ts';
import type { RequestScope } from '../execution/request-scope.ts';

/** What to do after a backend call failed: try it again, hand over to its fallback, or give up. */
export type FailureDecision = 'retry' | 'fallback' | 'fail';

/** Longest backoff between two attempts, whatever the service's Retry-After says. */
const MAX_BACKOFF_MS = 30_000;

/**
 * How a failed backend call is handled. Another attempt may help when the service could not
 * be reached, did not answer in time, or said so itself (5xx, 429); an open circuit breaker
 * will not close within a backoff, so it goes straight to the fallback. A failure that
 * another attempt would repeat — a bug in the backend plugin, an invalid reply, a request
 * the service refused (other 4xx), a failure the backend marks `details: { retryable: false }`
 * (a rejected API key behind a 502) — is not retried but handed to the fallback: a
 * different backend does not share the first one's bug or key, and a broken backend must
 * not lose the user's message. Only the caller's own mistakes fail at once (an invalid
 * request, a model the backend does not have: the fallback would answer with another model
 * than the one asked for).
 */
export function decideAfterFailure(error: PlugboardError): FailureDecision {
  switch (error.code) {
    case 'REQUEST_INVALID':
    case 'MODEL_NOT_FOUND':
    case 'REQUEST_ABORTED':
      return 'fail';
    case 'PLUGIN_CIRCUIT_OPEN':
      return 'fallback';
    default:
      break;
  }
  // A backend may say itself: a refused API key is a 502 for the client, but no retry fixes it.
  if (error.details?.retryable === false) return 'fallback';
  switch (error.code) {
    case 'BACKEND_UNAVAILABLE':
    case 'PLUGIN_TIMEOUT':
      return 'retry';
    case 'BACKEND_FAILED':
      return error.status >= 500 || error.status === 429 ? 'retry' : 'fallback';
    default:
      return 'fallback';
  }
}

/**
 * The wait before attempt `attempt + 1`: the service's own Retry-After when the backend put
 * it on the error (`details.retryAfterMs`), else exponential backoff from `baseMs` with ±50 %
 * jitter, so that many clients retrying at once do not hit the service in lockstep.
 */
export function backoffMs(attempt: number, baseMs: number, error: PlugboardError, random = Math.random): number {
  const retryAfter = error.details?.retryAfterMs;
  if (typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter >= 0) {
    return Math.min(retryAfter, MAX_BACKOFF_MS);
  }
  return Math.min(MAX_BACKOFF_MS, baseMs * 2 ** attempt) * (0.5 + random());
}

/** Waits `ms`, or rejects with the request's abort error as soon as it is aborted. */
export function pause(ms: number, scope: RequestScope): Promise<void> {
  return new Promise((resolve, reject) => {
    let stop: () => void = () => undefined;
    const timer = setTimeout(() => {
      stop();
      resolve();
    }, ms);
    stop = scope.onAbort((error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
