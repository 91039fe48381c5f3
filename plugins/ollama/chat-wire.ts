/**
 * The hot path of the ollama backend: `POST /api/chat`, JSON and NDJSON, on a keep-alive
 * node:http(s) Agent, without the official client (which goes through `fetch` and WHATWG
 * streams: measured ~5× the CPU per call against a local upstream, see docs/PERFORMANCE.md).
 * The client stays for models, embeddings and health.
 *
 * It fails the way the client does, so errors.ts maps its errors unchanged: a non-2xx answer
 * is a `ResponseError` (its JSON `error`, or its text, and the status); an `{"error": …}` line
 * in a stream is an Error with that message; a stream that ends without its `done` line is an
 * Error saying so; a network error keeps Node's code (ECONNREFUSED …) for isConnectionError.
 */
import { type Agent as HttpAgent, type IncomingMessage, Agent as PlainAgent, request } from 'node:http';
import { Agent as TlsAgent, request as tlsRequest } from 'node:https';
import { releaseStreamResponse } from '../../src/index.ts';
import type { WireChatResponse } from './reply-mapping.ts';

/** The `ollama` client's error for a non-2xx answer (as its class, which it does not export). */
export class ResponseError extends Error {
  override readonly name = 'ResponseError';

  constructor(
    readonly error: string,
    readonly status_code: number,
  ) {
    super(error);
  }
}

/** `POST {host}/api/chat` on one keep-alive connection pool. */
export class ChatWire {
  readonly #url: URL;
  readonly #send: typeof request;
  readonly #agent: HttpAgent;
  readonly #headers: Readonly<Record<string, string>>;

  /** @param host Ollama's address without credentials; `headers` include any Authorization. */
  constructor(host: string, headers: Readonly<Record<string, string>>) {
    this.#url = new URL('/api/chat', host);
    const tls = this.#url.protocol === 'https:';
    this.#send = tls ? tlsRequest : request;
    this.#agent = tls ? new TlsAgent({ keepAlive: true }) : new PlainAgent({ keepAlive: true });
    this.#headers = { 'content-type': 'application/json', accept: 'application/json', ...headers };
  }

  /** A whole reply (`stream: false`). */
  async complete(body: object, signal: AbortSignal): Promise<WireChatResponse> {
    const response = await this.#post({ ...body, stream: false }, signal);
    const text = await readText(response);
    return JSON.parse(text) as WireChatResponse;
  }

  /** The lines of a streamed reply; resolves once Ollama accepted the request. */
  async stream(body: object, signal: AbortSignal): Promise<AsyncIterable<WireChatResponse>> {
    return readLines(await this.#post({ ...body, stream: true }, signal));
  }

  close(): void {
    this.#agent.destroy();
  }

  #post(body: object, signal: AbortSignal): Promise<IncomingMessage> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const outgoing = this.#send(this.#url, {
        method: 'POST',
        agent: this.#agent,
        headers: { ...this.#headers, 'content-length': Buffer.byteLength(payload) },
      });
      // The abort ends the exchange while it lasts, and only then: http.request's own `signal`
      // option stays armed after the response, and an abort then destroys the request with an
      // error nobody listens to any more (and, with keep-alive, the socket it lent to the pool).
      let answer: IncomingMessage | undefined;
      const onAbort = (): void => {
        if (answer?.complete) return; // over already: the socket may be lent to the next request
        outgoing.destroy(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      outgoing.once('close', () => signal.removeEventListener('abort', onAbort));
      outgoing.once('error', reject);
      outgoing.once('response', (response) => {
        answer = response;
        const status = response.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve(response);
          return;
        }
        readText(response).then((text) => reject(responseError(status, text, response)), reject);
      });
      outgoing.end(payload);
    });
  }
}

/** The error an aborted exchange fails with: Node's AbortError, its cause the signal's reason. */
function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

/** As the client reads an error answer: its JSON `error` when it has one, else its text, else the status line. */
function responseError(status: number, text: string, response: IncomingMessage): ResponseError {
  let message = text.trim();
  if (response.headers['content-type']?.includes('application/json')) {
    try {
      const said = (JSON.parse(text) as { error?: unknown }).error;
      if (typeof said === 'string' && said !== '') message = said;
    } catch {
      // not JSON after all: the text says it
    }
  }
  return new ResponseError(message || `Error ${status}: ${response.statusMessage ?? ''}`.trim(), status);
}

async function readText(response: IncomingMessage): Promise<string> {
  response.setEncoding('utf8');
  let text = '';
  for await (const part of response) text += part as string;
  return text;
}

/**
 * NDJSON lines until the one with `done`; leaving early (or the call's abort) destroys the
 * response, after the `done` line the connection is kept for the next request.
 */
async function* readLines(response: IncomingMessage): AsyncGenerator<WireChatResponse> {
  response.setEncoding('utf8');
  let buffer = '';
  let reachedEnd = false;
  try {
    // Leaving the loop must not destroy the response (see releaseStreamResponse).
    for await (const part of response.iterator({ destroyOnReturn: false })) {
      buffer += part as string;
      let end = buffer.indexOf('\n');
      while (end !== -1) {
        const line = buffer.slice(0, end).trim();
        buffer = buffer.slice(end + 1);
        if (line !== '') {
          const message = parseLine(line);
          if (message.done) reachedEnd = true;
          yield message;
          if (message.done) return;
        }
        end = buffer.indexOf('\n');
      }
    }
    if (buffer.trim() !== '') {
      const message = parseLine(buffer.trim());
      yield message;
      if (message.done) return;
    }
    throw new Error('Did not receive done or success response in stream.');
  } finally {
    releaseStreamResponse(response, reachedEnd);
  }
}

function parseLine(line: string): WireChatResponse {
  const message = JSON.parse(line) as WireChatResponse & { error?: unknown };
  if (message.error !== undefined) throw new Error(String(message.error));
  return message;
}
