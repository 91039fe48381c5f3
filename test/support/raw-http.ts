import net from 'node:net';

/** A response read off a raw socket: status, headers (lower-case names) and body text. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * One HTTP/1.1 request written by hand on a real socket, for what `fetch` cannot do: send a
 * body slowly, byte by byte, and watch whether the server closes the connection.
 */
export interface RawRequest {
  readonly socket: net.Socket;
  /** Writes more of the body; false once the socket is closed. */
  write(data: string | Buffer): boolean;
  /** The first response on the connection, once its body is complete. */
  readonly response: Promise<RawResponse>;
  /** Resolves when the connection is closed (by either side). */
  readonly closed: Promise<void>;
  /** Writes `data` one `chunk` of bytes every `everyMs` until done or the socket closes. */
  trickle(data: string, everyMs: number, chunk?: number): Promise<void>;
  destroy(): void;
}

/**
 * Opens a connection to `baseUrl` and writes `head` (request line and headers) plus `body`.
 *
 * @example
 * ```ts
 * const request = openRaw(url, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n', '{');
 * await request.trickle('"model"', 200);
 * ```
 */
export function openRaw(baseUrl: string, head: string, body: string | Buffer = ''): RawRequest {
  const { hostname, port } = new URL(baseUrl);
  const socket = net.connect(Number(port), hostname);
  socket.on('error', () => {});
  opened.add(socket);
  socket.once('close', () => opened.delete(socket));
  let received = Buffer.alloc(0);
  let resolveResponse: (response: RawResponse) => void;
  const response = new Promise<RawResponse>((resolve) => {
    resolveResponse = resolve;
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const tryParse = (final: boolean): void => {
    const end = received.indexOf('\r\n\r\n');
    if (end < 0) return;
    const [statusLine = '', ...lines] = received.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const rest = received.subarray(end + 4);
    const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
    if (length !== undefined ? rest.length < length : !final) return;
    resolveResponse({
      status: Number(statusLine.split(' ')[1]),
      headers,
      body: rest.subarray(0, length ?? rest.length).toString('utf8'),
    });
  };
  socket.on('data', (data: Buffer) => {
    received = Buffer.concat([received, data]);
    tryParse(false);
  });
  socket.on('close', () => tryParse(true));
  socket.write(head);
  if (body.length > 0) socket.write(body);
  const write = (data: string | Buffer): boolean => {
    if (socket.destroyed || !socket.writable) return false;
    socket.write(data);
    return true;
  };
  return {
    socket,
    write,
    response,
    closed,
    async trickle(data, everyMs, chunk = 1) {
      for (let at = 0; at < data.length; at += chunk) {
        if (!write(data.slice(at, at + chunk))) return;
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
    },
    destroy: () => socket.destroy(),
  };
}

const opened = new Set<net.Socket>();

/** Destroys every connection {@link openRaw} opened that is still open (a failed test's leftovers). */
export function destroyRawConnections(): void {
  for (const socket of opened) socket.destroy();
  opened.clear();
}

/** Rejects when `promise` takes longer than `ms` (a test must never hang on a socket). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    }),
  ]);
}
