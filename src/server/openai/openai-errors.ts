import { clientMessage, type ErrorFormat } from '../http-errors.ts';

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
 * OpenAI's error format, `{ error: { message, type, param, code } }`, plus the catalogue's
 * hint and the plugin that raised it, so that a person reading it knows what to do. The code
 * is the catalogue code in lower case (`model_not_found`, `rate_limit/limited`).
 */
export const openAiErrorBody: ErrorFormat = (error, requestId) => ({
  error: {
    message: clientMessage(error, requestId),
    type: openAiType(error.status),
    param: typeof error.details?.param === 'string' ? error.details.param : null,
    code: error.code.toLowerCase(),
    hint: error.hint,
    ...(error.plugin === undefined ? {} : { plugin: error.plugin }),
  },
});
