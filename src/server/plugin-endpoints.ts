import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PlugboardError } from '../core/errors/plugboard-error.ts';
import type { EndpointInput } from '../core/manager/endpoint-operation.ts';
import { ENDPOINT_METHODS, type EndpointReply } from '../core/plugin/endpoints.ts';
import type { JsonValue } from '../core/stores/json.ts';
import { parseJsonText } from './json-body.ts';
import { setPluginHeader } from './plugin-headers.ts';
import { operationContext } from './request-context.ts';
import type { ServerContext } from './server-context.ts';
import { serverErrors } from './server-errors.ts';

/** Marks the dispatcher's route, which the 405 table must not count (it takes every method). */
export const ENDPOINT_DISPATCHER = Symbol('plugboard.endpoint-dispatcher');

/**
 * Serves the HTTP endpoints plugins add (`PluginEndpoint`) under `/v1/`: one wildcard route
 * answers every path the server's own routes do not (Fastify's router tries its static
 * routes first), and looks the path up in the current snapshot's endpoint table — so
 * endpoints come and go with their plugins, without re-registering routes. Each request is
 * the operation `endpoint` through the request middleware (authentication, rate limits,
 * logging), then the plugin's handler.
 *
 * Bodies: `application/json` is parsed (with the server's prototype-poisoning protection);
 * any other content type reaches the plugin as bytes (an uploaded PDF). Unknown paths answer
 * 404 in OpenAI's format, as before; a known path with another method 405 with `Allow`.
 */
export async function registerPluginEndpoints(app: FastifyInstance, context: ServerContext): Promise<void> {
  await app.register(async (scope) => {
    const parseJson = scope.getDefaultJsonParser('error', 'error');
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope.route({
      method: [...ENDPOINT_METHODS],
      url: '/*',
      config: { [ENDPOINT_DISPATCHER]: true },
      handler: async (request, reply) => {
        const path = request.url.split('?')[0] ?? request.url;
        // HEAD is a GET without its body, as on the server's own routes (Fastify drops the body).
        const method = request.method === 'HEAD' ? 'GET' : request.method;
        const match = context.manager.endpoints.match(method, path);
        if (!('endpoint' in match)) return notMatched(request, method, reply, path, match.allowed, context);
        const { endpoint } = match;
        const bytes = request.body as Buffer | undefined;
        if (endpoint.bodyLimit !== undefined && bytes !== undefined && bytes.length > endpoint.bodyLimit) {
          throw serverErrors.REQUEST_TOO_LARGE(
            `The body is ${bytes.length} bytes; ${endpoint.path} takes at most ${endpoint.bodyLimit}`,
          );
        }
        const contentType = mediaType(request.headers['content-type']);
        const operation = operationContext(request, 'openai', 'endpoint');
        const input: EndpointInput = {
          query: lastValues(request.query as Record<string, unknown>),
          headers: operation.client?.headers ?? {},
          body: await decodeBody(bytes, contentType, (text) => parseWith(parseJson, request, text)),
          contentType:
            bytes === undefined || bytes.length === 0 ? undefined : (contentType ?? 'application/octet-stream'),
        };
        const answer = await context.chat.endpoint(
          reply,
          match,
          operationContext(request, 'openai', 'endpoint'),
          input,
        );
        return send(reply, answer);
      },
    });
  });
}

function notMatched(
  request: FastifyRequest,
  method: string,
  reply: FastifyReply,
  path: string,
  endpointMethods: readonly string[],
  context: ServerContext,
): never {
  const dormant = context.manager.dormantEndpoint(method, path);
  if (dormant !== undefined && endpointMethods.length === 0) {
    // Served by a plugin that is not running: say which, and what to do, rather than "no such endpoint".
    if (!dormant.enabled) {
      throw serverErrors.ROUTE_NOT_FOUND(
        `${request.method} ${path} is served by the plugin "${dormant.plugin}", which is disabled (enabled: false in the configuration)`,
      );
    }
    throw new PlugboardError(
      'PLUGIN_NOT_ACTIVE',
      `${request.method} ${path} is served by the plugin "${dormant.plugin}", which is not running (${dormant.state}); see GET /plugins for why`,
      { plugin: dormant.plugin },
    );
  }
  const allowed = [...new Set([...endpointMethods, ...context.routes.methodsFor(path)])].sort();
  if (allowed.length > 0) {
    reply.header('allow', allowed.join(', '));
    throw serverErrors.METHOD_NOT_ALLOWED(`${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}`);
  }
  throw serverErrors.ROUTE_NOT_FOUND(`No endpoint ${request.method} ${path}`);
}

function send(reply: FastifyReply, answer: EndpointReply): FastifyReply | string | JsonValue {
  if ('headers' in answer && answer.headers !== undefined) {
    // The server's own headers and malformed ones are left out, as with call.setResponseHeader.
    for (const [name, value] of Object.entries(answer.headers)) setPluginHeader(reply, name, value);
  }
  reply.status(answer.status ?? 200);
  if ('text' in answer) {
    reply.type(`${answer.contentType}; charset=utf-8`);
    if (answer.filename !== undefined) {
      const ascii = answer.filename.replace(/[^\w.-]/g, '_');
      reply.header(
        'content-disposition',
        `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(answer.filename)}`,
      );
    }
    return reply.send(answer.text);
  }
  if ('body' in answer) return reply.send(answer.body);
  return reply.send();
}

async function decodeBody(
  bytes: Buffer | undefined,
  contentType: string | undefined,
  parse: (text: string) => Promise<unknown>,
): Promise<JsonValue | Uint8Array | undefined> {
  if (bytes === undefined || bytes.length === 0) return undefined;
  if (contentType === 'application/json' || contentType?.endsWith('+json')) {
    return (await parse(bytes.toString('utf8'))) as JsonValue;
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

function parseWith(
  parseJson: ReturnType<FastifyInstance['getDefaultJsonParser']>,
  request: FastifyRequest,
  text: string,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    parseJsonText(parseJson, request, text, (error, value) => (error === null ? resolve(value) : reject(error)));
  });
}

function mediaType(header: string | undefined): string | undefined {
  const type = header?.split(';')[0]?.trim().toLowerCase();
  return type === '' ? undefined : type;
}

function lastValues(query: Record<string, unknown> | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(query ?? {})) {
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (typeof last === 'string') values[name] = last;
  }
  return values;
}
