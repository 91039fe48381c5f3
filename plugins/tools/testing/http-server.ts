/**
 * The test MCP server over HTTP, in-process on 127.0.0.1 (a free port), with node:http:
 *
 * - `streamable` (default): MCP Streamable HTTP, stateful (a session per client, each with its
 *   own `McpServer` and `WebStandardStreamableHTTPServerTransport`), so that server
 *   notifications (`tools/list_changed`) reach the client on its GET stream;
 * - `legacy-sse`: a server that predates Streamable HTTP: `POST <url>` is answered 405, `GET
 *   <url>` opens the legacy SSE stream (see legacy-sse-transport.ts).
 *
 * `requiredHeaders` makes every request without those header values a 401, to prove that the
 * configured `headers` are sent.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { type McpServer, WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server';
import { LegacySseServerTransport } from './legacy-sse-transport.ts';
import { createTestMcpServer } from './test-mcp-server.ts';

export interface TestMcpHttpServer {
  /** The MCP endpoint: `http://127.0.0.1:<port>/mcp`. */
  readonly url: string;
  /** Requests received, by method (`POST`, `GET` …). */
  readonly requests: Map<string, number>;
  close(): Promise<void>;
}

export interface TestMcpHttpServerOptions {
  readonly mode?: 'streamable' | 'legacy-sse';
  readonly requiredHeaders?: Readonly<Record<string, string>>;
  /** The port to listen on (default: a free one). */
  readonly port?: number;
}

/**
 * Starts the test MCP server over HTTP.
 *
 * @example
 * ```ts
 * const mcp = await startTestMcpHttpServer();
 * after(() => mcp.close());
 * // config: mcp_servers: { demo: { url: mcp.url } }
 * ```
 */
export async function startTestMcpHttpServer(options: TestMcpHttpServerOptions = {}): Promise<TestMcpHttpServer> {
  const mode = options.mode ?? 'streamable';
  const requests = new Map<string, number>();
  const sessions = new Map<string, { server: McpServer; transport: WebStandardStreamableHTTPServerTransport }>();
  const legacy = new Map<string, { server: McpServer; transport: LegacySseServerTransport }>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    requests.set(req.method ?? '?', (requests.get(req.method ?? '?') ?? 0) + 1);
    for (const [name, value] of Object.entries(options.requiredHeaders ?? {})) {
      if (req.headers[name.toLowerCase()] !== value) {
        res.writeHead(401).end('missing header');
        return;
      }
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (mode === 'legacy-sse') return handleLegacy(req, res, url);
    if (url.pathname !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    const sessionId = req.headers['mcp-session-id'];
    let session = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (session === undefined) {
      if (typeof sessionId === 'string') {
        res.writeHead(404).end('unknown session');
        return;
      }
      const server = createTestMcpServer();
      const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, { server, transport });
        },
        onsessionclosed: (id) => {
          sessions.delete(id);
        },
      });
      await server.connect(transport);
      session = { server, transport };
    }
    await writeResponse(res, await session.transport.handleRequest(toWebRequest(req, url)));
  };

  const handleLegacy = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (req.method === 'GET' && url.pathname === '/mcp') {
      const id = randomUUID();
      const transport = new LegacySseServerTransport(res, `/messages?sessionId=${id}`);
      const server = createTestMcpServer();
      legacy.set(id, { server, transport });
      transport.onclose = () => legacy.delete(id);
      await server.connect(transport);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/messages') {
      const session = legacy.get(url.searchParams.get('sessionId') ?? '');
      if (session === undefined) {
        res.writeHead(404).end();
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      session.transport.receive(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(202).end('Accepted');
      return;
    }
    // A pre-Streamable-HTTP server knows no POST on its SSE URL.
    res.writeHead(405, { allow: 'GET' }).end();
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    requests,
    async close() {
      await Promise.allSettled([...sessions.values(), ...legacy.values()].map(({ server }) => server.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function toWebRequest(req: IncomingMessage, url: URL): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) for (const item of value) headers.append(name, item);
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'DELETE';
  return new Request(url, {
    method: req.method ?? 'GET',
    headers,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' } : {}),
  } as RequestInit);
}

async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers.entries()));
  if (response.body === null) {
    res.end();
    return;
  }
  res.flushHeaders();
  const reader = response.body.getReader();
  res.on('close', () => {
    reader.cancel().catch(() => {});
  });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    res.write(value);
  }
  res.end();
}
