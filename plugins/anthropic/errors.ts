/**
 * What the SDK throws, as Plugboard errors that say what went wrong and what to do.
 * The API key never appears in a message.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { backendUnavailable, isConnectionError, PlugboardError, redactText } from '../../src/index.ts';

/** Where the failing call went. */
export interface ErrorScope {
  /** The service's address as messages show it (`base_url` with its password redacted). */
  readonly baseUrl: string;
  /** The model a chat asked for (404s then mean the model is unknown). */
  readonly model?: string;
}

const UNREACHABLE_ADVICE = 'check `base_url` (or ANTHROPIC_BASE_URL) and the network, or enable another backend';

/**
 * The PlugboardError for anything a call to Anthropic threw:
 * - connection refused/reset, unknown host, timeout → `BACKEND_UNAVAILABLE` (503) naming the address;
 * - 401 → `BACKEND_FAILED` saying the API key is wrong or missing; 403 → `BACKEND_FAILED`;
 * - 404 on a chat → `MODEL_NOT_FOUND`;
 * - 429 → `BACKEND_FAILED` with status 429; 529/503 (overloaded) → `BACKEND_FAILED` with status 503;
 * - 400/413/422 → `BACKEND_FAILED` with the same status and Anthropic's message;
 * - an `error` event in a stream → the same, by its error `type`;
 * - a cancelled call → `REQUEST_ABORTED`. PlugboardErrors pass through.
 */
export function toBackendError(thrown: unknown, scope: ErrorScope): PlugboardError {
  if (thrown instanceof PlugboardError) return thrown;
  if (thrown instanceof APIUserAbortError) {
    return new PlugboardError('REQUEST_ABORTED', 'anthropic: the request was cancelled', {
      plugin: 'anthropic',
      cause: thrown,
    });
  }
  if (thrown instanceof APIConnectionTimeoutError) {
    const timeout = Object.assign(new Error(thrown.message), { code: 'ETIMEDOUT', cause: thrown });
    return backendUnavailable('anthropic', scope.baseUrl, UNREACHABLE_ADVICE, timeout);
  }
  if (thrown instanceof APIConnectionError || isConnectionError(thrown)) {
    return backendUnavailable('anthropic', scope.baseUrl, UNREACHABLE_ADVICE, thrown);
  }
  if (thrown instanceof APIError) return fromApiError(thrown, scope);
  // Not the SDK's own error: its text may quote the URL it was given.
  const message = redactText(thrown instanceof Error ? thrown.message : String(thrown));
  return failed(`anthropic: ${message}`, thrown);
}

function fromApiError(error: APIError, scope: ErrorScope): PlugboardError {
  const status = error.status;
  const type = error.type ?? undefined;
  const said = error.apiMessage ?? error.message;
  const label = [status, type].filter((part) => part !== undefined).join(' ');
  const requestId = error.requestID ?? undefined;
  const details = {
    ...(status === undefined ? {} : { upstreamStatus: status }),
    ...(type === undefined ? {} : { upstreamType: type }),
    ...(requestId === undefined ? {} : { requestId }),
  };
  if (status === 401 || type === 'authentication_error') {
    return failed(
      `anthropic: the API key was refused (${label}: ${said}) — it is wrong, expired or missing; set \`api_key\` in the plugin config or ANTHROPIC_API_KEY`,
      error,
      // No retry fixes a refused key.
      { details: { ...details, retryable: false } },
    );
  }
  if (status === 403 || type === 'permission_error') {
    return failed(`anthropic: the API key may not do this (${label}: ${said})`, error, {
      details: { ...details, retryable: false },
    });
  }
  if ((status === 404 || type === 'not_found_error') && scope.model !== undefined) {
    return new PlugboardError(
      'MODEL_NOT_FOUND',
      `anthropic: model "${scope.model}" was not found at ${scope.baseUrl} (${said}) — pick one from GET /v1/models, or fix \`default_model\``,
      { plugin: 'anthropic', cause: error, details: { ...details, param: 'model', model: scope.model } },
    );
  }
  if (status === 429 || type === 'rate_limit_error') {
    const retryAfterMs = retryAfter(error.headers);
    const wait = retryAfterMs === undefined ? ' — retry later' : ` — retry after ${Math.ceil(retryAfterMs / 1000)} s`;
    return failed(`anthropic: rate limited (${label}: ${said})${wait}`, error, {
      status: 429,
      details: { ...details, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
    });
  }
  if (status === 529 || status === 503 || type === 'overloaded_error') {
    return failed(`anthropic: the service is overloaded (${label}: ${said}) — retry later`, error, {
      status: 503,
      details,
    });
  }
  if (status === 400 || status === 413 || status === 422 || type === 'invalid_request_error') {
    return failed(`anthropic: the request was refused (${label}: ${said})`, error, { status: status ?? 400, details });
  }
  return failed(`anthropic: ${label ? `${label}: ` : ''}${said}`, error, { details });
}

/** The wait the service asked for, in ms: `retry-after-ms`, or `retry-after` in seconds or as a date. */
function retryAfter(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function failed(
  message: string,
  cause: unknown,
  extra: { status?: number; details?: Record<string, unknown> } = {},
): PlugboardError {
  return new PlugboardError('BACKEND_FAILED', message, { plugin: 'anthropic', cause, ...extra });
}
