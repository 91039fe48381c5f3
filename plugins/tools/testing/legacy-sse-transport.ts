/**
 * The server side of MCP's legacy HTTP+SSE transport (protocol 2024-11-05), which
 * `@modelcontextprotocol/server` v2 no longer ships (v1's `SSEServerTransport` was dropped). The
 * client package still has `SSEClientTransport`, and the tools plugin falls back to it when a
 * server refuses the Streamable HTTP POST; this small transport lets the tests prove that
 * fallback against a real `McpServer`. Test-only: no auth, no limits.
 *
 * The protocol: `GET <url>` opens an event stream whose first event, `endpoint`, names where to
 * POST messages; every message from the server is an SSE `message` event on that stream.
 */
import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/server';

export class LegacySseServerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly #stream: ServerResponse;
  readonly #endpoint: string;
  #closed = false;

  /** @param endpoint where the client POSTs its messages (sent in the `endpoint` event) */
  constructor(stream: ServerResponse, endpoint: string) {
    this.#stream = stream;
    this.#endpoint = endpoint;
    stream.on('close', () => this.#finish());
  }

  async start(): Promise<void> {
    this.#stream.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    this.#stream.write(`event: endpoint\ndata: ${this.#endpoint}\n\n`);
  }

  /** A message the client POSTed. */
  receive(message: JSONRPCMessage): void {
    this.onmessage?.(message);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) return;
    this.#stream.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }

  async close(): Promise<void> {
    this.#stream.end();
    this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onclose?.();
  }
}
