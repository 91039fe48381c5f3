import { PlugboardError } from '../core/errors/plugboard-error.ts';

/** Network error codes that mean "the service is not there (or not answering)". */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/**
 * True when `error`, or an error in its `cause` chain, is a failure to reach a service:
 * connection refused or reset, unknown host, network unreachable, connect timeout. Fetch
 * (undici) wraps these in a `TypeError('fetch failed')` whose `cause` carries the code.
 *
 * @example
 * ```ts
 * catch (error) {
 *   if (isConnectionError(error)) throw backendUnavailable('ollama', host, 'start it with `ollama serve`', error);
 *   throw error;
 * }
 * ```
 */
export function isConnectionError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The error a backend throws when its service cannot be reached: `BACKEND_UNAVAILABLE`
 * (HTTP 503), with a message that names the backend, the address tried, what went wrong and
 * what to do — e.g. `ollama: connection refused at http://127.0.0.1:11434 — start it with
 * `ollama serve`, or enable another backend in plugins/config.yaml`.
 *
 * @example
 * ```ts
 * throw backendUnavailable('openai', baseUrl, 'check base_url and that the service is up', error);
 * ```
 */
export function backendUnavailable(backend: string, address: string, advice: string, cause?: unknown): PlugboardError {
  return new PlugboardError('BACKEND_UNAVAILABLE', `${backend}: ${describe(cause)} at ${address} — ${advice}`, {
    plugin: backend,
    cause,
  });
}

function describe(cause: unknown): string {
  let current: unknown = cause;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (code === 'ECONNREFUSED') return 'connection refused';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
    if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return 'connection reset';
    if (typeof code === 'string' && /TIMEOUT|ETIMEDOUT/.test(code)) return 'no answer in time';
    if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'network unreachable';
    current = (current as { cause?: unknown }).cause;
  }
  return 'not reachable';
}
