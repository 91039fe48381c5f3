/**
 * The hot path of the openai backend: `POST /chat/completions`, JSON and SSE, on a keep-alive
 * node:http(s) Agent, without the official client.
 *
 * Why: measured against a fast local upstream, a chat call through `openai`'s client costs
 * ~700–800 µs of CPU (its request building, undici `fetch`, WHATWG streams and SSE decoder),
 * the same call here ~140–160 µs — for a gateway the difference is most of its CPU per
 * request (docs/PERFORMANCE.md). The official client stays for everything else (models,
 * embeddings, health), where its cost does not matter.
 *
 * What it keeps of the client's behaviour, so that errors.ts maps its errors unchanged: an
 * HTTP error is the client's `APIError` for that status (`APIError.generate`), a network error
 * an `APIConnectionError`, a timeout an `APIConnectionTimeoutError`, our abort an
 * `APIUserAbortError`, an in-stream `{"error": …}` event an `APIError` without status; and its
 * retries (`max_retries`): 408, 409, 429, 5xx and network errors, backoff from 0.5 s doubling
 * to 8 s with jitter, `retry-after(-ms)` honoured up to a minute, `x-should-retry` obeyed.
 */
import {
  type Agent as HttpAgent,
  type IncomingMessage,
  Agent as PlainAgent,
  type RequestOptions,
  request,
} from 'node:http';
import { Agent as TlsAgent, request as tlsRequest } from 'node:https';
import type OpenAI from 'openai';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { releaseStreamResponse } from '../../src/index.ts';

type ChatCompletion = OpenAI.Chat.Completions.ChatCompletion;
type ChatCompletionChunk = OpenAI.Chat.Completions.ChatCompletionChunk;

/** How {@link ChatWire} reaches the service. */
export interface ChatWireOptions {
  /** `base_url` without credentials (`http://127.0.0.1:8000/v1`). */
  readonly baseUrl: string;
  /** Every header to send (Authorization, organization/project, the configured ones). */
  readonly headers: Readonly<Record<string, string>>;
  /** Extra attempts after a retryable failure (the client's `maxRetries`). */
  readonly maxRetries: number;
  /** Longest wait for the response (headers, and a non-streamed body), if any. */
  readonly timeoutMs?: number | undefined;
}

const INITIAL_RETRY_DELAY_MS = 500;
const MAX_RETRY_DELAY_MS = 8000;
const MAX_RETRY_AFTER_MS = 60_000;

/** `POST {base_url}/chat/completions` on one keep-alive connection pool. */
export class ChatWire {
  readonly #url: URL;
  readonly #send: typeof request;
  readonly #agent: HttpAgent;
  readonly #headers: Readonly<Record<string, string>>;

  constructor(private readonly options: ChatWireOptions) {
    this.#url = new URL(`${options.baseUrl.replace(/\/+$/, '')}/chat/completions`);
    const tls = this.#url.protocol === 'https:';
    this.#send = tls ? tlsRequest : request;
    this.#agent = tls ? new TlsAgent({ keepAlive: true }) : new PlainAgent({ keepAlive: true });
    this.#headers = {
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': 'plugboard',
      ...options.headers,
    };
  }

  /** A whole completion. */
  async complete(body: object, signal: AbortSignal): Promise<ChatCompletion> {
    const response = await this.#post(JSON.stringify(body), signal, true);
    const text = await readText(response, signal);
    try {
      return JSON.parse(text) as ChatCompletion;
    } catch {
      throw new APIError(
        response.statusCode,
        undefined,
        `the service answered with invalid JSON: ${text.slice(0, 200)}`,
        undefined,
      );
    }
  }

  /** The chunks of a streamed completion; resolves once the service accepted the request. */
  async stream(body: object, signal: AbortSignal): Promise<AsyncIterable<ChatCompletionChunk>> {
    const response = await this.#post(JSON.stringify(body), signal, false);
    return readEvents(response, signal);
  }

  /** Closes the pooled connections. */
  close(): void {
    this.#agent.destroy();
  }

  /** Sends the request, retrying as the client would; resolves with a 2xx response. */
  async #post(payload: string, signal: AbortSignal, timeBody: boolean): Promise<IncomingMessage> {
    for (let attempt = 0; ; attempt++) {
      let response: IncomingMessage;
      try {
        response = await this.#attempt(payload, signal, timeBody);
      } catch (error) {
        if (error instanceof APIUserAbortError || attempt >= this.options.maxRetries) throw error;
        await pause(retryDelayMs(attempt, undefined), signal);
        continue;
      }
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300) return response;
      const text = await readText(response, signal).catch(() => '');
      if (attempt < this.options.maxRetries && shouldRetry(status, response)) {
        await pause(retryDelayMs(attempt, response), signal);
        continue;
      }
      throw httpError(status, text, response);
    }
  }

  #attempt(payload: string, signal: AbortSignal, timeBody: boolean): Promise<IncomingMessage> {
    if (signal.aborted) return Promise.reject(new APIUserAbortError());
    return new Promise((resolve, reject) => {
      const options: RequestOptions = {
        method: 'POST',
        agent: this.#agent,
        headers: { ...this.#headers, 'content-length': Buffer.byteLength(payload) },
      };
      const outgoing = this.#send(this.#url, options);
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        outgoing.destroy(new APIUserAbortError());
      };
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const timeoutMs = this.options.timeoutMs;
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => outgoing.destroy(new APIConnectionTimeoutError()), timeoutMs);
      }
      outgoing.once('response', (response) => {
        if (!timeBody) done();
        else response.once('close', done);
        resolve(response);
      });
      outgoing.once('error', (error) => {
        done();
        if (error instanceof APIUserAbortError || error instanceof APIConnectionTimeoutError) reject(error);
        else if (signal.aborted) reject(new APIUserAbortError());
        else reject(new APIConnectionError({ cause: error }));
      });
      outgoing.end(payload);
    });
  }
}

/** The client's error for an HTTP status, from the service's JSON body (`{"error": …}`) when it is one. */
function httpError(status: number, text: string, response: IncomingMessage): APIError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  // As the client does: the JSON body when there is one (it reads its `error`), else the text as the message.
  const json = typeof body === 'object' && body !== null ? body : undefined;
  return APIError.generate(status, json, json === undefined ? text || undefined : undefined, headersOf(response));
}

function headersOf(response: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) for (const item of value) headers.append(name, item);
  }
  return headers;
}

/** The whole body as text; the request's abort ends the wait. */
async function readText(response: IncomingMessage, signal: AbortSignal): Promise<string> {
  response.setEncoding('utf8');
  let text = '';
  try {
    for await (const part of response) text += part as string;
  } catch (error) {
    if (signal.aborted) throw new APIUserAbortError();
    throw error instanceof APIConnectionTimeoutError ? error : new APIConnectionError({ cause: error as Error });
  }
  if (signal.aborted) throw new APIUserAbortError();
  return text;
}

/**
 * The `data:` events of an SSE response, parsed, until `[DONE]` or the end. An event whose data
 * is an `{"error": …}` object is thrown as the client's in-stream APIError. Leaving the loop
 * early (the consumer stopped) or the request's abort destroys the response; after `[DONE]`
 * the connection is kept for the next request.
 */
async function* readEvents(response: IncomingMessage, signal: AbortSignal): AsyncGenerator<ChatCompletionChunk> {
  response.setEncoding('utf8');
  const onAbort = (): void => {
    response.destroy(new APIUserAbortError());
  };
  signal.addEventListener('abort', onAbort, { once: true });
  let buffer = '';
  let reachedEnd = false;
  try {
    // Leaving the loop must not destroy the response (see releaseStreamResponse).
    for await (const part of response.iterator({ destroyOnReturn: false })) {
      buffer += part as string;
      let end = eventEnd(buffer);
      while (end !== undefined) {
        const data = dataOf(buffer.slice(0, end.at));
        buffer = buffer.slice(end.at + end.length);
        if (data === '[DONE]') {
          reachedEnd = true;
          return;
        }
        if (data !== undefined) yield parseEvent(data, response);
        end = eventEnd(buffer);
      }
    }
    reachedEnd = true;
    const data = dataOf(buffer);
    if (data !== undefined && data !== '[DONE]') yield parseEvent(data, response);
  } catch (error) {
    if (error instanceof APIError || error instanceof APIUserAbortError) throw error;
    if (signal.aborted) throw new APIUserAbortError();
    throw new APIConnectionError({ cause: error as Error });
  } finally {
    signal.removeEventListener('abort', onAbort);
    releaseStreamResponse(response, reachedEnd);
  }
}

/** Where the first event of `buffer` ends: a blank line (`\n\n`, or `\r\n\r\n`). */
function eventEnd(buffer: string): { at: number; length: number } | undefined {
  const at = buffer.indexOf('\n\n');
  const crlf = buffer.indexOf('\r\n\r\n');
  if (crlf !== -1 && (at === -1 || crlf < at)) return { at: crlf, length: 4 };
  return at === -1 ? undefined : { at, length: 2 };
}

/** The data of one event (its `data:` lines joined), or undefined for an event without any (a comment). */
function dataOf(event: string): string | undefined {
  if (event.startsWith('data: ') && !event.includes('\n')) return event.slice(6);
  let data: string | undefined;
  for (const raw of event.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!line.startsWith('data:')) continue;
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data === undefined ? value : `${data}\n${value}`;
  }
  return data;
}

function parseEvent(data: string, response: IncomingMessage): ChatCompletionChunk {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    throw new APIError(undefined, undefined, `invalid event in the stream: ${data.slice(0, 200)}`, headersOf(response));
  }
  const error = (parsed as { error?: unknown } | null)?.error;
  if (error !== undefined && error !== null)
    throw new APIError(undefined, error as object, undefined, headersOf(response));
  return parsed as ChatCompletionChunk;
}

/** The client's rule: the service's `x-should-retry` first, then 408, 409, 429 and 5xx. */
function shouldRetry(status: number, response: IncomingMessage): boolean {
  const said = response.headers['x-should-retry'];
  if (said === 'true') return true;
  if (said === 'false') return false;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** The service's `retry-after-ms` / `retry-after` when sane, else exponential backoff with jitter. */
function retryDelayMs(attempt: number, response: IncomingMessage | undefined): number {
  const headers = response?.headers;
  const afterMs = Number(headers?.['retry-after-ms']);
  if (Number.isFinite(afterMs) && afterMs > 0 && afterMs < MAX_RETRY_AFTER_MS) return afterMs;
  const after = headers?.['retry-after'];
  if (typeof after === 'string') {
    const seconds = Number(after);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(after) - Date.now();
    if (Number.isFinite(ms) && ms > 0 && ms < MAX_RETRY_AFTER_MS) return ms;
  }
  const base = Math.min(INITIAL_RETRY_DELAY_MS * 2 ** attempt, MAX_RETRY_DELAY_MS);
  return base * (1 - Math.random() * 0.25);
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new APIUserAbortError());
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new APIUserAbortError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
