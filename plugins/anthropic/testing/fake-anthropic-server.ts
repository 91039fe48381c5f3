/**
 * TEST HELPER ONLY — a fake of Anthropic's API for the anthropic backend's tests.
 *
 * Anthropic's service cannot run here, so this node:http server on 127.0.0.1 replays the
 * documented wire format of the Messages and Models APIs, and the real SDK is pointed at it
 * with `base_url`:
 * - `POST /v1/messages` without `stream`: a JSON `Message`
 *   (`{ id, type: 'message', role: 'assistant', model, content: [blocks], stop_reason, stop_sequence, usage }`);
 * - `POST /v1/messages` with `stream: true`: server-sent events with named events —
 *   `message_start`, `content_block_start`, `content_block_delta` (`text_delta`,
 *   `thinking_delta`, `signature_delta`, `input_json_delta`), `content_block_stop`,
 *   `message_delta` (stop reason and usage), `message_stop`, `ping`, and `error`;
 * - `GET /v1/models`: a page `{ data, has_more, first_id, last_id }`;
 * - errors: `{ type: 'error', error: { type, message } }` with the matching HTTP status.
 *
 * It records every request (method, path, headers, parsed body) so tests can assert what the
 * plugin sent, and tells when each request's connection closed (to test cancellation).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A content block of a scripted reply. */
export type FakeBlock =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'thinking'; readonly thinking: string; readonly signature?: string }
  | { readonly type: 'tool_use'; readonly id: string; readonly name: string; readonly input: Record<string, unknown> };

/** Token counts of a scripted reply (Anthropic's field names). */
export interface FakeUsage {
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cache_creation_input_tokens?: number;
  readonly cache_read_input_tokens?: number;
}

/** A whole reply: sent as JSON, or turned into the events of a stream when the request streams. */
export interface FakeMessage {
  readonly content: readonly FakeBlock[];
  readonly stop_reason?: string;
  readonly stop_sequence?: string | null;
  readonly usage?: FakeUsage;
  /** Default: the model the request asked for. */
  readonly model?: string;
}

/** One server-sent event. */
export interface FakeEvent {
  readonly event: string;
  readonly data: unknown;
}

/** What the fake answers one request with. */
export type FakeReply =
  | { readonly message: FakeMessage }
  /** Exactly these events; with `hold`, the connection then stays open until the client closes it. */
  | { readonly events: readonly FakeEvent[]; readonly hold?: boolean }
  | {
      readonly error: {
        readonly status: number;
        readonly type: string;
        readonly message: string;
        readonly headers?: Readonly<Record<string, string>>;
      };
    };

/** A request the fake received. */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query, e.g. `/v1/models?limit=1`. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body (undefined for GET). */
  // biome-ignore lint/suspicious/noExplicitAny: tests read any field of the recorded body.
  readonly body: any;
  /** Settles when the request's connection closed: the response ended or the client went away. */
  readonly closed: Promise<void>;
}

/** A model of the fake's `GET /v1/models` (Anthropic's ModelInfo fields). */
export interface FakeModel {
  readonly id: string;
  readonly display_name?: string;
  readonly created_at?: string;
  readonly lifecycle?: 'active' | 'deprecated' | 'retired';
  readonly max_input_tokens?: number | null;
  readonly max_tokens?: number | null;
  readonly capabilities?: unknown;
}

export interface FakeAnthropicServer {
  /** `http://127.0.0.1:<port>`: the plugin's `base_url`. */
  readonly url: string;
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[];
  /** The last `POST /v1/messages` request. @throws when there was none. */
  lastMessagesRequest(): RecordedRequest;
  /** Waits for the next request to arrive (resolves with it). */
  nextRequest(): Promise<RecordedRequest>;
  /** How `POST /v1/messages` answers from now on: a fixed reply, or one computed per request. */
  onMessages(reply: FakeReply | ((request: RecordedRequest) => FakeReply)): void;
  /** How `GET /v1/models` answers: the listed models, or an error. */
  onModels(reply: readonly FakeModel[] | FakeReply): void;
  close(): Promise<void>;
}

/** The reply used until a test scripts one. */
export const DEFAULT_MESSAGE: FakeMessage = {
  content: [{ type: 'text', text: 'Hello from the fake.' }],
  stop_reason: 'end_turn',
  usage: { input_tokens: 12, output_tokens: 5 },
};

/** Starts a fake on 127.0.0.1 on a free port. */
export async function startFakeAnthropic(): Promise<FakeAnthropicServer> {
  const requests: RecordedRequest[] = [];
  const waiting: ((request: RecordedRequest) => void)[] = [];
  let messagesReply: FakeReply | ((request: RecordedRequest) => FakeReply) = { message: DEFAULT_MESSAGE };
  let modelsReply: readonly FakeModel[] | FakeReply = [{ id: 'claude-fake-1' }];
  let sequence = 0;

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let closeConnection!: () => void;
    const closed = new Promise<void>((resolve) => {
      closeConnection = resolve;
    });
    res.on('close', () => closeConnection());
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      body: text === '' ? undefined : JSON.parse(text),
      closed,
    };
    requests.push(request);
    for (const wake of waiting.splice(0)) wake(request);
    const id = ++sequence;
    res.setHeader('request-id', `req_fake_${id}`);

    const path = request.path.split('?')[0];
    if (request.method === 'POST' && path === '/v1/messages') {
      const reply = typeof messagesReply === 'function' ? messagesReply(request) : messagesReply;
      answer(res, reply, request, id);
    } else if (request.method === 'GET' && path === '/v1/models') {
      if (Array.isArray(modelsReply)) sendJson(res, 200, modelsPage(modelsReply as readonly FakeModel[]));
      else answer(res, modelsReply as FakeReply, request, id);
    } else {
      sendError(res, 404, 'not_found_error', `No route ${request.method} ${path}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    lastMessagesRequest() {
      const found = requests.filter((request) => request.path === '/v1/messages').at(-1);
      if (found === undefined) throw new Error('the fake received no POST /v1/messages');
      return found;
    },
    nextRequest: () => new Promise((resolve) => waiting.push(resolve)),
    onMessages(reply) {
      messagesReply = reply;
    },
    onModels(reply) {
      modelsReply = reply;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

function answer(res: ServerResponse, reply: FakeReply, request: RecordedRequest, id: number): void {
  if ('error' in reply) {
    sendError(res, reply.error.status, reply.error.type, reply.error.message, reply.error.headers);
  } else if ('events' in reply) {
    writeEvents(res, reply.events, reply.hold === true);
  } else if (request.body?.stream === true) {
    writeEvents(res, streamEvents(reply.message, request.body.model, id), false);
  } else {
    sendJson(res, 200, wholeMessage(reply.message, request.body?.model, id));
  }
}

/** The JSON body of a non-streamed reply. */
export function wholeMessage(message: FakeMessage, requestedModel: string | undefined, id: number) {
  const usage = message.usage ?? DEFAULT_MESSAGE.usage!;
  return {
    id: `msg_fake_${id}`,
    type: 'message',
    role: 'assistant',
    model: message.model ?? requestedModel ?? 'claude-fake-1',
    content: message.content.map((block) =>
      block.type === 'text'
        ? { ...block, citations: null }
        : block.type === 'thinking'
          ? { ...block, signature: block.signature ?? 'sig-fake' }
          : { ...block, caller: { type: 'direct' } },
    ),
    stop_reason: message.stop_reason ?? 'end_turn',
    stop_sequence: message.stop_sequence ?? null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: { cache_creation_input_tokens: null, cache_read_input_tokens: null, ...usage },
  };
}

/**
 * The events of a streamed reply, as Anthropic sends them: text and thinking in several
 * deltas, tool input as partial JSON split mid-value, a `ping` after `message_start`.
 */
export function streamEvents(message: FakeMessage, requestedModel: string | undefined, id: number): FakeEvent[] {
  const usage = message.usage ?? DEFAULT_MESSAGE.usage!;
  const events: FakeEvent[] = [
    {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: {
          ...wholeMessage({ ...message, content: [] }, requestedModel, id),
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: usage.input_tokens,
            output_tokens: 1,
            cache_creation_input_tokens: usage.cache_creation_input_tokens ?? null,
            cache_read_input_tokens: usage.cache_read_input_tokens ?? null,
          },
        },
      },
    },
    { event: 'ping', data: { type: 'ping' } },
  ];
  for (const [index, block] of message.content.entries()) {
    const delta = (value: Record<string, unknown>) =>
      events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: value } });
    if (block.type === 'text') {
      events.push(blockStart(index, { type: 'text', text: '', citations: null }));
      for (const piece of split(block.text, 3)) delta({ type: 'text_delta', text: piece });
    } else if (block.type === 'thinking') {
      events.push(blockStart(index, { type: 'thinking', thinking: '', signature: '' }));
      for (const piece of split(block.thinking, 2)) delta({ type: 'thinking_delta', thinking: piece });
      delta({ type: 'signature_delta', signature: block.signature ?? 'sig-fake' });
    } else {
      events.push(
        blockStart(index, { type: 'tool_use', id: block.id, name: block.name, input: {}, caller: { type: 'direct' } }),
      );
      for (const piece of split(JSON.stringify(block.input), 2))
        delta({ type: 'input_json_delta', partial_json: piece });
    }
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
  }
  events.push(
    {
      event: 'message_delta',
      data: {
        type: 'message_delta',
        delta: { stop_reason: message.stop_reason ?? 'end_turn', stop_sequence: message.stop_sequence ?? null },
        usage: { output_tokens: usage.output_tokens },
      },
    },
    { event: 'message_stop', data: { type: 'message_stop' } },
  );
  return events;
}

/** The `error` event Anthropic sends when a stream fails after it started. */
export function errorEvent(type: string, message: string): FakeEvent {
  return { event: 'error', data: { type: 'error', error: { type, message } } };
}

function blockStart(index: number, block: Record<string, unknown>): FakeEvent {
  return { event: 'content_block_start', data: { type: 'content_block_start', index, content_block: block } };
}

/** `text` in `parts` pieces of about equal length (fewer when it is shorter). */
function split(text: string, parts: number): string[] {
  if (text === '') return [];
  const size = Math.max(1, Math.ceil(text.length / parts));
  const pieces: string[] = [];
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size));
  return pieces;
}

function writeEvents(res: ServerResponse, events: readonly FakeEvent[], hold: boolean): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const { event, data } of events) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  if (!hold) res.end();
}

function modelsPage(models: readonly FakeModel[]) {
  const data = models.map((model) => ({
    type: 'model',
    display_name: model.id,
    created_at: '2026-01-01T00:00:00Z',
    lifecycle: 'active',
    max_input_tokens: 200_000,
    max_tokens: 64_000,
    capabilities: null,
    deprecated_at: null,
    retires_at: null,
    line: null,
    ...model,
  }));
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function sendError(
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  sendJson(res, status, { type: 'error', error: { type, message } }, { ...headers });
}
