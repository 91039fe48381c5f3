import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { PlugboardError } from '../core/errors/plugboard-error.ts';
import { toHttpError } from './http-errors.ts';

/**
 * Sends a streamed body (SSE or NDJSON) once its first piece is ready. Waiting for the first
 * piece means a request the pipeline refuses before any output (unknown model, middleware
 * rejection, backend down) still gets a real HTTP status and error body; after that, errors
 * travel inside the stream (see {@link inBandErrors}).
 */
export async function sendStream(
  reply: FastifyReply,
  contentType: string,
  source: AsyncIterable<string>,
): Promise<FastifyReply> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  reply
    .header('content-type', contentType)
    .header('cache-control', 'no-cache')
    // Proxies such as nginx buffer responses unless told not to: tokens would arrive in bursts.
    .header('x-accel-buffering', 'no');
  return reply.send(Readable.from(resume(first, iterator), { objectMode: false, encoding: 'utf8' }));
}

async function* resume(
  first: IteratorResult<string>,
  iterator: AsyncIterator<string>,
): AsyncGenerator<string, void, undefined> {
  if (first.done) return;
  yield first.value;
  try {
    while (true) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // The client went away mid-stream: close the source so the pipeline ends.
    await iterator.return?.();
  }
}

/**
 * Yields `source`; an error after something was yielded becomes a last, in-band error piece
 * made by `format` (OpenAI: an SSE `error` event; Ollama: an `{"error": …}` line). An error
 * before anything was yielded is thrown, so the HTTP layer can answer with a status.
 *
 * @example
 * ```ts
 * const lines = inBandErrors(encodeNdjson(stream), (error) => `${JSON.stringify({ error: error.message })}\n`);
 * ```
 */
export async function* inBandErrors(
  source: AsyncIterable<string>,
  format: (error: PlugboardError) => string,
): AsyncGenerator<string, void, undefined> {
  let started = false;
  try {
    for await (const piece of source) {
      started = true;
      yield piece;
    }
  } catch (error) {
    if (!started) throw error;
    yield format(toHttpError(error));
  }
}
