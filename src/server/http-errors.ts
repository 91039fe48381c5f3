import { PlugboardError } from '../core/errors/plugboard-error.ts';

/** Which API's error format a route answers in. */
export type ApiFlavor = 'openai' | 'ollama' | 'plugboard';

/** The API a URL belongs to: OpenAI under `/v1`, Ollama under `/api` and `/`, Plugboard's own elsewhere. */
export function flavorOf(url: string): ApiFlavor {
  if (url.startsWith('/v1/') || url === '/v1') return 'openai';
  if (url.startsWith('/api/') || url === '/api' || url === '/' || url.startsWith('/?')) return 'ollama';
  return 'plugboard';
}

/** Fastify's own error codes that are the client's fault, and what they mean in our catalogue. */
const FASTIFY_CLIENT_ERRORS: Readonly<Record<string, (error: FastifyLikeError) => PlugboardError>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () =>
    new PlugboardError('REQUEST_TOO_LARGE', 'The request body is larger than the server accepts'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    new PlugboardError('REQUEST_INVALID', 'The request body is empty; send a JSON object'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (error) => new PlugboardError('REQUEST_INVALID', error.message, { status: 415 }),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new PlugboardError('REQUEST_INVALID', 'The Content-Length header does not match the body'),
  FST_ERR_CTP_INVALID_JSON_BODY: (error) => invalidJson(error.message),
  FST_ERR_BAD_URL: () => new PlugboardError('REQUEST_INVALID', 'The URL is not valid'),
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

/** OpenAI's error `type` for a status. */
function openAiType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status < 500) return 'invalid_request_error';
  if (status === 503) return 'service_unavailable_error';
  return 'server_error';
}

/**
 * The error body in the API's own format. OpenAI: `{ error: { message, type, param, code } }`;
 * Ollama: `{ error: "message" }`; Plugboard's own routes: `{ error: { code, message, hint } }`.
 * Each carries the catalogue code and hint too, so a person reading it knows what to do.
 */
export function errorBody(flavor: ApiFlavor, error: PlugboardError, requestId: string): Record<string, unknown> {
  const message = error.code === 'INTERNAL_ERROR' ? `${error.message} (request id ${requestId})` : error.message;
  const param = typeof error.details?.param === 'string' ? error.details.param : null;
  if (flavor === 'openai') {
    return {
      error: {
        message,
        type: openAiType(error.status),
        param,
        code: error.code.toLowerCase(),
        hint: error.hint,
        ...(error.plugin === undefined ? {} : { plugin: error.plugin }),
      },
    };
  }
  if (flavor === 'ollama') {
    return { error: message, code: error.code, hint: error.hint };
  }
  return {
    error: {
      code: error.code,
      message,
      hint: error.hint,
      ...(error.plugin === undefined ? {} : { plugin: error.plugin }),
      ...(param === null ? {} : { param }),
      request_id: requestId,
    },
  };
}

/** A status a response can carry: client-abort codes (499) become 400 for the (gone) client. */
export function responseStatus(error: PlugboardError): number {
  const status = error.status;
  return Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500;
}
