import { validateHeaderName, validateHeaderValue } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { ResponseHeaderSink } from '../core/execution/request-scope.ts';
import { DEGRADED_HEADER } from './degraded.ts';

/**
 * Headers that frame the response or identify it are the server's: a plugin may not set them
 * (a wrong `content-length` would corrupt the answer, `connection` the keep-alive, and
 * `x-plugboard-degraded` must say what the server saw).
 */
const RESERVED_HEADERS = new Set([
  'connection',
  'content-encoding',
  'content-length',
  'content-type',
  'date',
  'keep-alive',
  'proxy-connection',
  'server',
  'set-cookie',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'x-accel-buffering',
  'x-request-id',
  DEGRADED_HEADER,
]);

/**
 * Puts a plugin's header on the reply, unless the server reserves the name or it is
 * malformed (CR/LF and other control characters are refused by node:http's own checks).
 *
 * @returns why it was left out, or undefined when it was set
 */
export function setPluginHeader(reply: FastifyReply, name: string, value: string): 'reserved' | 'invalid' | undefined {
  const lower = name.toLowerCase();
  if (RESERVED_HEADERS.has(lower)) return 'reserved';
  try {
    validateHeaderName(lower);
    validateHeaderValue(lower, value);
  } catch {
    return 'invalid';
  }
  reply.header(lower, value);
  return undefined;
}

/**
 * The sink for `call.setResponseHeader` of one request (`ChatOptions.responseHeaders`): the
 * header goes on the reply while its head is not sent; a refused one is logged (a plugin bug
 * the operator should see, never the client).
 */
export function responseHeaderSink(reply: FastifyReply): ResponseHeaderSink {
  return (name, value) => {
    if (reply.sent || reply.raw.headersSent) return false;
    const refused = setPluginHeader(reply, name, value);
    if (refused === undefined) return true;
    reply.log.warn(
      { operation: 'http', header: name.toLowerCase() },
      `a plugin's response header "${name.toLowerCase()}" was left out (${refused === 'reserved' ? 'the server sets it' : 'malformed'})`,
    );
    return false;
  };
}
