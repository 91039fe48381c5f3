import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PlugboardError } from '../core/errors/plugboard-error.ts';
import { closeIfBodyUnread } from './body-reading.ts';
import { type ErrorFormat, plugboardErrorBody, responseStatus, toHttpError } from './http-errors.ts';
import { ollamaErrorBody } from './ollama/ollama-errors.ts';
import { openAiErrorBody } from './openai/openai-errors.ts';
import { setPluginHeader } from './plugin-headers.ts';
import type { RouteTable } from './route-table.ts';
import { serverErrors } from './server-errors.ts';

/**
 * Makes every error of the routes registered on `app` (an API's encapsulated plugin) answer
 * in `format`: thrown errors, Fastify's own (bad JSON, body too large), unknown paths under
 * the API's prefix (404) and known paths with the wrong method (405 with `Allow`).
 *
 * @example
 * ```ts
 * app.register(async (api) => {
 *   installErrorFormat(api, openAiErrorBody, context.routes);
 *   api.post('/chat/completions', handler);
 * }, { prefix: '/v1' });
 * ```
 */
export function installErrorFormat(
  app: FastifyInstance,
  format: ErrorFormat,
  routes: RouteTable,
  { notFound = true }: { readonly notFound?: boolean } = {},
): void {
  app.setErrorHandler((thrown, request, reply) => sendError(request, reply, toHttpError(thrown), format));
  // A not-found handler belongs to a prefix: an API without one (Ollama's `/`) leaves it to the root.
  if (!notFound) return;
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    const allowed = routes.methodsFor(path);
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      reply.header('allow', allowed.join(', '));
      const message = `${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}`;
      return sendError(request, reply, serverErrors.METHOD_NOT_ALLOWED(message), format);
    }
    return sendError(request, reply, serverErrors.ROUTE_NOT_FOUND(`No endpoint ${request.method} ${path}`), format);
  });
}

/**
 * Fastify's `frameworkErrors`: the errors its router raises before any route (or its hooks)
 * is chosen — a path parameter over `maxParamLength`, a URL that is not valid
 * percent-encoding. Answered like every other error: the request id, and the format of the
 * API the path belongs to (`/v1` OpenAI's, `/api` Ollama's, else Plugboard's).
 */
export function answerFrameworkError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  closeIfBodyUnread(request, reply);
  const path = request.url.split('?')[0] ?? request.url;
  const format =
    path === '/v1' || path.startsWith('/v1/')
      ? openAiErrorBody
      : path === '/api' || path.startsWith('/api/')
        ? ollamaErrorBody
        : plugboardErrorBody;
  sendError(request, reply, toHttpError(error), format);
}

const LOAD_SHED = serverErrors.codeOf('TOO_MANY_UPLOADS');

/**
 * Answers an error: the status of its code, the body in the API's format. A server error is
 * logged with its cause and stack (the client gets only the public message). A stream that
 * already started cannot take a status any more: its connection is closed.
 */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: PlugboardError,
  format: ErrorFormat,
): FastifyReply {
  const status = responseStatus(error);
  // A full server shedding load, or refusing requests while a fail-closed plugin is down (its
  // failure was logged once, when it happened), is no new failure to investigate — and must not
  // flood the log with a stack per request: the request's access line records it.
  if (status >= 500 && error.code !== LOAD_SHED && !isClosedPluginDown(error)) {
    request.log.error(
      { operation: 'http', error: error.code, plugin: error.plugin, err: error.cause ?? error },
      error.message,
    );
  }
  if (reply.sent || reply.raw.headersSent) {
    reply.raw.destroy();
    return reply;
  }
  if (error.headers !== undefined) setErrorHeaders(request, reply, error);
  return reply.code(status).send(format(error, request.id));
}

function isClosedPluginDown(error: PlugboardError): boolean {
  return (
    error.code === 'PLUGIN_FAILED_CLOSED' &&
    (error.cause as { code?: unknown } | undefined)?.code === 'PLUGIN_NOT_ACTIVE'
  );
}

/** The error's own response headers (Retry-After, WWW-Authenticate …), reserved and invalid ones left out. */
function setErrorHeaders(request: FastifyRequest, reply: FastifyReply, error: PlugboardError): void {
  for (const [name, value] of Object.entries(error.headers ?? {})) {
    if (typeof value !== 'string') continue;
    const refused = setPluginHeader(reply, name, value);
    if (refused === 'invalid') {
      request.log.warn(
        { operation: 'http', error: error.code, plugin: error.plugin, header: name.toLowerCase() },
        `an invalid response header "${name.toLowerCase()}" of error ${error.code} was left out`,
      );
    }
  }
}
