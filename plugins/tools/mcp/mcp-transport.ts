/**
 * Connecting an MCP client to a configured server: a child process over stdio, or a URL over
 * Streamable HTTP with the legacy SSE transport as fallback (the SDK's documented pattern: a
 * server that answers the initial POST with a 4xx predates Streamable HTTP).
 */
import type { Readable } from 'node:stream';
import {
  type Client,
  SdkHttpError,
  SSEClientTransport,
  StreamableHTTPClientTransport,
  type Transport,
} from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { type HttpServerConfig, isStdioServer, type McpServerConfig, type StdioServerConfig } from '../config.ts';

/** Which transport a connection uses. */
export type TransportKind = 'stdio' | 'streamable_http' | 'sse';

/** What a connection needs to know of a stdio child besides the protocol. */
export interface StdioHooks {
  /** Each line the child writes to stderr. */
  readonly onStderr: (line: string) => void;
}

/**
 * Connects `client` to the server (`newClient` makes a fresh client for the SSE fallback: a
 * client whose connect failed is not reused). Rejects when the server cannot be reached.
 *
 * @example
 * ```ts
 * const { client, kind } = await connectClient(config, () => new Client(info), { onStderr: log });
 * ```
 */
export async function connectClient(
  config: McpServerConfig,
  newClient: () => Client,
  hooks: StdioHooks,
): Promise<{ client: Client; kind: TransportKind }> {
  if (isStdioServer(config)) {
    const client = newClient();
    await connectWith(client, stdioTransport(config, hooks), config.timeout);
    return { client, kind: 'stdio' };
  }
  const first = newClient();
  try {
    await connectWith(
      first,
      new StreamableHTTPClientTransport(new URL(config.url), httpOptions(config)),
      config.timeout,
    );
    return { client: first, kind: 'streamable_http' };
  } catch (error) {
    await first.close().catch(() => {});
    if (!(error instanceof SdkHttpError && error.status >= 400 && error.status < 500)) throw error;
  }
  const client = newClient();
  await connectWith(client, new SSEClientTransport(new URL(config.url), httpOptions(config)), config.timeout);
  return { client, kind: 'sse' };
}

async function connectWith(client: Client, transport: Transport, timeoutMs: number): Promise<void> {
  try {
    await client.connect(transport, { timeout: timeoutMs });
  } catch (error) {
    // A child that started stays alive unless its transport is closed.
    await transport.close().catch(() => {});
    throw error;
  }
}

/**
 * The child's environment is what the entry configures: no variable of Plugboard's own
 * environment (API keys, database URLs) reaches it, except the few the SDK always passes so that
 * a command can be found and run (`HOME`, `LOGNAME`, `PATH`, `SHELL`, `TERM`, `USER`).
 */
function stdioTransport(config: StdioServerConfig, hooks: StdioHooks): StdioClientTransport {
  const transport = new StdioClientTransport({
    command: config.command,
    args: [...config.args],
    env: { ...config.env },
    ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
    // Piped, not inherited: the server's own stderr stays the server's log.
    stderr: 'pipe',
  });
  const stderr = transport.stderr as Readable | null;
  let pending = '';
  stderr?.setEncoding('utf8');
  stderr?.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') hooks.onStderr(line);
  });
  return transport;
}

function httpOptions(config: HttpServerConfig) {
  return { requestInit: { headers: { ...config.headers } } };
}
