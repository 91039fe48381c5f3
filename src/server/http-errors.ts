import { PlugboardError } from '../core/errors/plugboard-error.ts';
import { serverErrors } from './server-errors.ts';

/** Fastify's own error codes that are the client's fault, and what they mean in our catalogue. */
const FASTIFY_CLIENT_ERRORS: Readonly<Record<string, (error: FastifyLikeError) => PlugboardError>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () =>
    serverErrors.REQUEST_TOO_LARGE('The request body is larger than the server accepts'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    new PlugboardError('REQUEST_INVALID', 'The request body is empty; send a JSON object'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (error) => new PlugboardError('REQUEST_INVALID', error.message, { status: 415 }),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new PlugboardError('REQUEST_INVALID', 'The Content-Length header does not match the body'),
  FST_ERR_CTP_INVALID_JSON_BODY: (error) => invalidJson(error.message),
  FST_ERR_BAD_URL: () => new PlugboardError('REQUEST_INVALID', 'The URL is not valid'),
  // The message never echoes the path: it is the over-long part.
  FST_ERR_MAX_PARAM_LENGTH: () =>
    serverErrors.URI_TOO_LONG('A path parameter of the URL is longer than the server accepts (100 characters)'),
  FST_ERR_ASYNC_CONSTRAINT: (error) => new PlugboardError('REQUEST_INVALID', error.message),
};

interface FastifyLikeError {
  readonly code?: string;
  readonly message: string;
  readonly statusCode?: number;
}

/**
 * Any error that reached the HTTP layer, as a PlugboardError with a status. Client mistakes
 * caught by Fastify (body too large, bad JSON …) become 4xx errors with a message that says
 * what to fix; anything unexpected becomes `INTERNAL_ERROR` (500) without internals.
 */
export function toHttpError(error: unknown): PlugboardError {
  if (error instanceof PlugboardError) return error;
  const candidate = error as FastifyLikeError | null;
  if (candidate !== null && typeof candidate === 'object') {
    const mapped = candidate.code === undefined ? undefined : FASTIFY_CLIENT_ERRORS[candidate.code];
    if (mapped !== undefined) return mapped(candidate);
    if (error instanceof SyntaxError) return invalidJson(error.message);
    // Proto-poisoning and other parser refusals carry a 4xx status of their own.
    if (
      typeof candidate.statusCode === 'number' &&
      candidate.statusCode >= 400 &&
      candidate.statusCode < 500 &&
      candidate.code?.startsWith('FST_')
    ) {
      return new PlugboardError('REQUEST_INVALID', candidate.message, { status: candidate.statusCode });
    }
  }
  return new PlugboardError('INTERNAL_ERROR', 'Internal server error', { cause: error });
}

function invalidJson(detail: string): PlugboardError {
  return new PlugboardError('REQUEST_INVALID', `The request body is not valid JSON: ${detail}`);
}

/**
 * Writes an error in one API's own format. Each API (OpenAI, Ollama, Plugboard's own routes)
 * has one, installed on its routes by {@link installErrorFormat}.
 */
export type ErrorFormat = (error: PlugboardError, requestId: string) => Record<string, unknown>;

/**
 * What a client is told of an error: its public message — never a plugin's exception text,
 * which goes to the log only — and, for an internal error, the request id to report.
 */
export function clientMessage(error: PlugboardError, requestId: string): string {
  return error.code === 'INTERNAL_ERROR' ? `${error.publicMessage} (request id ${requestId})` : error.publicMessage;
}

/** Plugboard's own format (observability, admin, unknown paths): `{ error: { code, message, hint, request_id } }`. */
export const plugboardErrorBody: ErrorFormat = (error, requestId) => {
  const param = typeof error.details?.param === 'string' ? error.details.param : undefined;
  return {
    error: {
      code: error.code,
      message: clientMessage(error, requestId),
      hint: error.hint,
      ...(error.plugin === undefined ? {} : { plugin: error.plugin }),
      ...(param === undefined ? {} : { param }),
      request_id: requestId,
    },
  };
};

/** A status a response can carry: client-abort codes (499) become 400 for the (gone) client. */
export function responseStatus(error: PlugboardError): number {
  const status = error.status;
  return Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500;
}
