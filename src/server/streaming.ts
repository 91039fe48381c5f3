import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { PlugboardError } from '../core/errors/plugboard-error.ts';
import type { ChatChunk, ChatResponse } from '../core/model/reply.ts';

/**
 * Turns a streamed reply into one API's wire format (OpenAI's SSE, Ollama's NDJSON). An
 * encoder is made per request and may keep state (OpenAI's first delta carries the role,
 * tool calls are numbered). Plain synchronous methods: a chain of async generators, one per
 * encoding step, cost more per chunk than the whole plugin pipeline.
 *
 * @example
 * ```ts
 * const encoder: StreamEncoder = {
 *   contentType: 'application/x-ndjson',
 *   chunk: (chunk) => (chunk.content ? `${JSON.stringify({ text: chunk.content })}\n` : ''),
 *   end: () => `${JSON.stringify({ done: true })}\n`,
 *   error: (error) => `${JSON.stringify({ error: error.message })}\n`,
 * };
 * ```
 */
export interface StreamEncoder {
  readonly contentType: string;
  /** The text for one chunk of the reply ('' sends nothing). */
  chunk(chunk: ChatChunk): string;
  /** The closing text, once the reply is complete (OpenAI's finish chunk and `[DONE]`, Ollama's `done` line). */
  end(response: ChatResponse): string;
  /** The in-band error ending a stream that already started (its status line went out long ago). */
  error(error: PlugboardError): string;
}

/**
 * Commits a streamed response: status 200 with the headers set so far on the reply (the
 * request id …) plus the encoder's content type. The reply is hijacked: from here on the
 * stream is written directly, chunk by chunk, with backpressure (see {@link writeOrWait}).
 * Fastify's onResponse hooks still run when the response finishes.
 */
export function commitStream(reply: FastifyReply, contentType: string): ServerResponse {
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string | number | string[]>),
    'content-type': contentType,
    'cache-control': 'no-cache',
    // Proxies such as nginx buffer responses unless told not to: tokens would arrive in bursts.
    'x-accel-buffering': 'no',
  });
  return response;
}

/**
 * Writes `text`; when the socket's buffer is full, waits until it drains (or the connection
 * closes), so a slow client slows the backend instead of filling the server's memory.
 */
export function writeOrWait(response: ServerResponse, text: string): Promise<void> | undefined {
  // A closed connection takes nothing more; the request's signal is ending the pipeline.
  if (text === '' || response.destroyed) return undefined;
  coalesceWrites(response);
  if (response.write(text)) return undefined;
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

/**
 * Holds the writes of one turn of the event loop together: the socket is corked at the first
 * write and uncorked once the loop has run the rest of this turn's callbacks (`setImmediate`).
 *
 * Why: a backend's chunks usually arrive several to a network read (a fast server writes its
 * whole reply at once), and each one written on its own is a system call — on loopback, one
 * that also runs the reader's side of TCP. Measured with a fast upstream (bench:http), writing
 * a 21-chunk stream chunk by chunk cost ~20 µs of CPU per chunk, several times the pipeline's
 * own cost. A token that arrives alone still goes out in the same turn of the loop.
 * Backpressure still works: a corked stream counts what it holds, so `write` returns false
 * past the high-water mark, and `drain` follows the uncork.
 */
function coalesceWrites(response: ServerResponse): void {
  if (response.writableCorked > 0) return;
  response.cork();
  setImmediate(uncorkAll, response);
}

function uncorkAll(response: ServerResponse): void {
  while (response.writableCorked > 0) response.uncork();
}
