/**
 * An error answered by Plugboard, with the server's own words: every API answers
 * `{ error: { code, message, hint? } }` (OpenAI's and Plugboard's formats) or
 * `{ error: "message" }` (Ollama's). The UI shows `message` and `hint` as they are — they say
 * what to do — and never a stack or a status line alone.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    /** HTTP status (0: the server could not be reached). */
    readonly status: number,
    /** Plugboard's error code, e.g. `BACKEND_UNAVAILABLE` (upper case whatever the API's format). */
    readonly code: string,
    message: string,
    /** What to do about it, when the server says. */
    readonly hint?: string,
    /** The whole JSON body, for callers that read more (e.g. a form's `issues`). */
    readonly body?: unknown,
  ) {
    super(message);
  }
}

/** Builds an ApiError from a failed response, whatever its body. */
export async function apiErrorFrom(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  const error = (body as { error?: unknown } | undefined)?.error;
  if (typeof error === 'string') return new ApiError(response.status, codeFor(response.status), error, undefined, body);
  if (error !== null && typeof error === 'object') {
    const { code, message, hint } = error as { code?: unknown; message?: unknown; hint?: unknown };
    return new ApiError(
      response.status,
      typeof code === 'string' ? code.toUpperCase() : codeFor(response.status),
      typeof message === 'string' ? message : `The server answered ${response.status}`,
      typeof hint === 'string' ? hint : undefined,
      body,
    );
  }
  const message = text.trim() === '' || text.length > 300 ? `The server answered ${response.status}` : text.trim();
  return new ApiError(response.status, codeFor(response.status), message, undefined, body);
}

/** The error of a request that never got an answer (server down, network gone). */
export function unreachable(cause: unknown): ApiError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new ApiError(
    0,
    'SERVER_UNREACHABLE',
    `Plugboard did not answer (${detail})`,
    'Is the server still running? Start it with `npm start` and reload this page.',
  );
}

function codeFor(status: number): string {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 429) return 'RATE_LIMITED';
  return status >= 500 ? 'SERVER_ERROR' : 'REQUEST_INVALID';
}
