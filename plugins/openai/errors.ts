import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import {
  backendUnavailable,
  isConnectionError,
  isPlugboardError,
  PlugboardError,
  redactText,
} from '../../src/index.ts';

/** What an error is about: which operation, on which backend, at which address. */
export interface ErrorScope {
  /** The plugin's name (`openai`, or the name a wrapper gave it). */
  readonly backend: string;
  /** The service's address as messages show it: `base_url` with its password redacted. */
  readonly address: string;
  /** What was being done, for the message: `chat`, `chat stream`, `list models`, `embed`. */
  readonly operation: string;
  /** The model asked for, if any. */
  readonly model?: string;
}

/**
 * Any error from the `openai` client as a PlugboardError the pipeline passes on as it is:
 *
 * - the request was aborted (our signal): returned as it is, the pipeline reports the abort;
 * - no connection, or no answer in time → `BACKEND_UNAVAILABLE` (503) naming the address;
 * - 401/403 → `BACKEND_FAILED` (502) saying the api_key was refused (the key is never shown);
 * - 404 about a model → `MODEL_NOT_FOUND` (404); any other 404 → `BACKEND_FAILED` (502)
 *   pointing at `base_url`;
 * - 400, 413, 422, 429 → `BACKEND_FAILED` keeping the status: the request itself (too long,
 *   a parameter the server does not know) or the rate limit is the cause, and clients act on it;
 * - other statuses and in-band stream errors → `BACKEND_FAILED` (502) with the server's message.
 */
export function toBackendError(error: unknown, scope: ErrorScope): unknown {
  if (isPlugboardError(error) || error instanceof APIUserAbortError || isAbort(error)) return error;
  const { backend, address } = scope;
  if (error instanceof APIConnectionError || (!(error instanceof APIError) && isConnectionError(error))) {
    return backendUnavailable(
      backend,
      address,
      'check base_url and that the service is running (for a local server: is it started, on this port?)',
      connectionCause(error),
    );
  }
  const origin = { plugin: backend, cause: error };
  if (!(error instanceof APIError)) {
    // Not the client's own error: its text may quote the URL it was given.
    const message = redactText(error instanceof Error ? error.message : String(error));
    return new PlugboardError('BACKEND_FAILED', `${backend}: ${scope.operation} failed: ${message}`, origin);
  }
  const status = error.status;
  const said = serverMessage(error);
  if (status === 401 || status === 403) {
    return new PlugboardError(
      'BACKEND_FAILED',
      `${backend}: ${address} refused the api_key (${status}${said ? `: ${said}` : ''}) — set a valid api_key in the plugin's config${status === 403 ? ', with access to this model or organization/project' : ''}`,
      // A 502 for the client, but no retry fixes a refused key.
      { ...origin, details: { retryable: false } },
    );
  }
  if (status === 404) {
    if (isAboutModel(error)) {
      return new PlugboardError(
        'MODEL_NOT_FOUND',
        `${backend}: the model "${scope.model ?? '?'}" does not exist at ${address}${said ? ` (${said})` : ''}`,
        { ...origin, details: { param: 'model' } },
      );
    }
    return new PlugboardError(
      'BACKEND_FAILED',
      `${backend}: ${scope.operation}: ${address} answered 404${said ? ` (${said})` : ''} — check base_url (it usually ends in /v1)`,
      origin,
    );
  }
  if (status === 400 || status === 413 || status === 422 || status === 429) {
    const advice =
      status === 429
        ? ' — rate limited or out of quota; retry later'
        : ' — if it names a parameter the server does not know, restrict pass_extra';
    return new PlugboardError(
      'BACKEND_FAILED',
      `${backend}: ${scope.operation}: ${address} refused the request (${status}${said ? `: ${said}` : ''})${advice}`,
      { ...origin, status },
    );
  }
  if (status === undefined) {
    // An error event inside a stream that had started.
    return new PlugboardError(
      'BACKEND_FAILED',
      `${backend}: ${scope.operation} failed: ${said || error.message}`,
      origin,
    );
  }
  return new PlugboardError(
    'BACKEND_FAILED',
    `${backend}: ${scope.operation}: ${address} failed (${status}${said ? `: ${said}` : ''})`,
    origin,
  );
}

/** The server's own message, without the client's status prefix. */
function serverMessage(error: APIError): string {
  const body = error.error as { message?: unknown } | undefined;
  if (typeof body?.message === 'string') return body.message;
  if (body !== undefined && body !== null) {
    try {
      return JSON.stringify(body);
    } catch {
      return '';
    }
  }
  return '';
}

/** A 404 about the model (OpenAI, Groq and Plugboard say `model_not_found`; vLLM says "The model … does not exist"). */
function isAboutModel(error: APIError): boolean {
  const code = typeof error.code === 'string' ? error.code.toLowerCase() : '';
  if (code === 'model_not_found') return true;
  if (error.param === 'model') return true;
  return /\bmodel\b/i.test(serverMessage(error));
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/** The error to describe (its `cause` chain carries fetch's network error code); a timeout gets one. */
function connectionCause(error: unknown): unknown {
  if (error instanceof APIConnectionTimeoutError) {
    return Object.assign(new Error(error.message, { cause: error }), { code: 'ETIMEDOUT' });
  }
  return error;
}
