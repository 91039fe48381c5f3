/**
 * What goes wrong talking to Ollama, as Plugboard errors that say what to do:
 * not reachable → BACKEND_UNAVAILABLE (503); model missing → MODEL_NOT_FOUND (404) with the
 * `ollama pull` to run; any other answer of Ollama's → BACKEND_FAILED with its status and
 * message; an in-stream `{"error": …}` line → BACKEND_FAILED with that message.
 */
import {
  backendUnavailable,
  isConnectionError,
  isPlugboardError,
  PlugboardError,
  redactText,
} from '../../src/index.ts';

/** The plugin's name, as errors and messages show it. */
export const BACKEND = 'ollama';

/** What to do when Ollama cannot be reached. */
export const UNAVAILABLE_ADVICE =
  'start it with `ollama serve`, or use a model of another backend (GET /v1/models; the shipped config serves every GGUF file in ./models through llamacpp)';

/** The `ollama` client's error for a non-2xx answer (its class is not exported). */
interface ResponseError extends Error {
  readonly error: string;
  readonly status_code: number;
}

function isResponseError(error: unknown): error is ResponseError {
  return (
    error instanceof Error && error.name === 'ResponseError' && typeof (error as ResponseError).status_code === 'number'
  );
}

/** What the error is about: which model, for the pull hint. */
export interface ErrorSubject {
  /** Ollama's address, its password redacted. */
  readonly address: string;
  readonly model?: string;
  /** The call's signal: once aborted, its reason is the error (the request was cancelled or timed out). */
  readonly signal?: AbortSignal;
}

/**
 * Any error from a request to Ollama, as a PlugboardError (or the abort reason, when the
 * call was aborted).
 */
export function toBackendError(error: unknown, subject: ErrorSubject): unknown {
  if (subject.signal?.aborted) return subject.signal.reason ?? error;
  if (isPlugboardError(error)) return error;
  if (isConnectionError(error)) return backendUnavailable(BACKEND, subject.address, UNAVAILABLE_ADVICE, error);
  if (isResponseError(error)) return fromResponse(error, subject);
  // Not the client's own error: its text may quote the URL it was given.
  const message = redactText(error instanceof Error ? error.message : String(error));
  return new PlugboardError('BACKEND_FAILED', `${BACKEND}: ${message}`, {
    plugin: BACKEND,
    cause: error,
    details: { address: subject.address },
  });
}

function fromResponse(error: ResponseError, subject: ErrorSubject): PlugboardError {
  const status = error.status_code;
  const upstream = error.error || error.message;
  const details = { address: subject.address, upstreamStatus: status, upstreamMessage: upstream };
  if (status === 404 && /model/i.test(upstream) && /not found/i.test(upstream)) {
    const model = subject.model ?? '<model>';
    return new PlugboardError(
      'MODEL_NOT_FOUND',
      `${BACKEND}: model "${model}" not found at ${subject.address} (${upstream}) — pull it with \`ollama pull ${model}\`, or pick one from \`ollama list\``,
      { plugin: BACKEND, cause: error, details: { ...details, param: 'model' } },
    );
  }
  const advice =
    status === 404
      ? ` — is ${subject.address} an Ollama server (and recent enough)?`
      : status === 401 || status === 403
        ? ' — check the `headers` of the ollama plugin config (a proxy in front of Ollama may want credentials)'
        : '';
  return new PlugboardError(
    'BACKEND_FAILED',
    `${BACKEND}: Ollama at ${subject.address} answered ${status}: ${upstream}${advice}`,
    {
      plugin: BACKEND,
      cause: error,
      // Credentials a proxy refused stay refused: no retry.
      details: status === 401 || status === 403 ? { ...details, retryable: false } : details,
      status: statusFor(status),
    },
  );
}

/**
 * The status a client sees: a 400 is about the request (e.g. tools for a model without tool
 * support), the client's to fix; a 429 says "later" (and is retried); anything else is a
 * failure of the backend (502, retried when the backend has retries).
 */
function statusFor(upstream: number): number {
  return upstream === 400 || upstream === 429 ? upstream : 502;
}
