import type { IncomingMessage } from 'node:http';

/**
 * For backends that read a streamed answer from node:http themselves: ends the response once
 * the reader is done with it, keeping its keep-alive connection when that is safe.
 *
 * After the stream's last event (`data: [DONE]`, an NDJSON `done` line) the rest of the response
 * — the end of its chunked encoding, usually in the same network read — is let through, so the
 * connection goes back to the agent's pool. Destroying the response there instead, as
 * `for await (… of response)` does when the loop is left, costs a new connection for every
 * streamed request (and, over TLS, a handshake). The response is destroyed when the reader left
 * before the service finished (`reachedEnd` false and the response incomplete), or when the rest
 * has not come within a second. Errors after this call are ignored: nobody reads the response
 * any more. Read it with `response.iterator({ destroyOnReturn: false })`, so that leaving the
 * loop does not destroy it first.
 *
 * @param reachedEnd whether the reader saw the stream's own end (its last event)
 * @example
 * ```ts
 * async function* events(response: IncomingMessage): AsyncGenerator<string> {
 *   let reachedEnd = false;
 *   try {
 *     for await (const line of lines(response.iterator({ destroyOnReturn: false }))) {
 *       if (line === 'data: [DONE]') {
 *         reachedEnd = true;
 *         return;
 *       }
 *       yield line;
 *     }
 *   } finally {
 *     releaseStreamResponse(response, reachedEnd);
 *   }
 * }
 * ```
 */
export function releaseStreamResponse(response: IncomingMessage, reachedEnd: boolean): void {
  if (response.destroyed) return;
  response.on('error', ignoreError);
  if (!reachedEnd && !response.complete) {
    response.destroy();
    return;
  }
  if (response.readableEnded) return;
  const timer = setTimeout(() => response.destroy(), 1000).unref();
  response.once('end', () => clearTimeout(timer)).resume();
}

function ignoreError(): void {}
