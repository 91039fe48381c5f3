/**
 * One configured MCP server: connects, registers its tools in the tool registry (and again
 * when the server says its list changed), calls them, and reconnects with backoff when the
 * server cannot be reached or goes away. It never throws out of its own timers: a server that
 * is down is a state, reported in the plugin's health.
 */
import { Client, ProtocolError, SdkError, SdkErrorCode, type Tool } from '@modelcontextprotocol/client';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import type { Logger, ToolOutput, ToolRegistry, ToolSpec } from '../../../src/index.ts';
import type { McpServerConfig } from '../config.ts';
import { toolsErrors } from '../errors.ts';
import { namespacedName, resultText, toolParametersOf } from './mcp-tools.ts';
import { connectClient, type TransportKind } from './mcp-transport.ts';

/** Where a connection stands. */
export type ConnectionState = 'connecting' | 'connected' | 'down' | 'closed';

/** What the health check and the tests see of a connection. */
export interface ConnectionStatus {
  readonly state: ConnectionState;
  readonly transport?: TransportKind;
  readonly tools: number;
  /** Why it is down (the last connection error), when it is. */
  readonly error?: string;
  readonly attempts: number;
}

/** What a connection needs from the plugin. */
export interface ConnectionDeps {
  readonly registry: ToolRegistry;
  readonly logger: Logger;
  readonly reconnect: { readonly initialDelayMs: number; readonly maxDelayMs: number };
  /** Told of every state change (metrics). */
  readonly onStatus?: (status: ConnectionStatus) => void;
}

const CLIENT_INFO = { name: 'plugboard', version: '1.0.0' };

export class McpConnection {
  readonly name: string;
  readonly #config: McpServerConfig;
  readonly #deps: ConnectionDeps;
  readonly #owner: string;
  #client: Client | undefined;
  #transport: TransportKind | undefined;
  #state: ConnectionState = 'connecting';
  #error: string | undefined;
  #attempts = 0;
  #tools = 0;
  #backoff: IBackoff<unknown> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #unregister: (() => void) | undefined;
  #lastStderr: string | undefined;

  constructor(name: string, config: McpServerConfig, deps: ConnectionDeps) {
    this.name = name;
    this.#config = config;
    this.#deps = deps;
    this.#owner = `mcp:${name}`;
  }

  /** Connects once; on failure, keeps retrying in the background. Never rejects. */
  async start(): Promise<void> {
    await this.#attempt();
  }

  status(): ConnectionStatus {
    return {
      state: this.#state,
      ...(this.#transport === undefined ? {} : { transport: this.#transport }),
      tools: this.#tools,
      ...(this.#error === undefined ? {} : { error: this.#error }),
      attempts: this.#attempts,
    };
  }

  /** Calls a tool of this server by its MCP name. @throws PlugboardError (tools/…) for every failure the model should hear of. */
  async callTool(
    tool: string,
    args: unknown,
    options: { signal: AbortSignal; timeoutMs: number },
  ): Promise<ToolOutput> {
    const client = this.#client;
    if (client === undefined || this.#state !== 'connected') {
      throw toolsErrors.TOOL_UNAVAILABLE(`MCP server "${this.name}" is not connected; do without its tools for now`);
    }
    let result: Awaited<ReturnType<Client['callTool']>>;
    try {
      result = await client.callTool(
        { name: tool, arguments: (args ?? {}) as Record<string, unknown> },
        { signal: options.signal, timeout: options.timeoutMs },
      );
    } catch (error) {
      throw this.#callError(tool, error, options.timeoutMs);
    }
    const text = resultText(result);
    if (result.isError === true) {
      throw toolsErrors.TOOL_REPORTED_ERROR(text === '' ? `Tool "${tool}" reported an error` : text);
    }
    return text;
  }

  /** Stops retrying, removes the tools, closes the client (a stdio child is ended). */
  async close(): Promise<void> {
    this.#state = 'closed';
    clearTimeout(this.#retryTimer);
    this.#unregisterTools();
    const client = this.#client;
    this.#client = undefined;
    await client?.close().catch((error: unknown) => this.#deps.logger.debug({ err: error }, 'closing MCP client'));
  }

  async #attempt(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#attempts++;
    this.#setState('connecting');
    try {
      const { client, kind } = await connectClient(this.#config, () => this.#newClient(), {
        onStderr: (line) => {
          this.#lastStderr = line;
          this.#deps.logger.debug({ server: this.name, stderr: line }, 'MCP server stderr');
        },
      });
      if (this.#closed()) {
        // Shut down while connecting.
        await client.close().catch(() => {});
        return;
      }
      this.#client = client;
      this.#transport = kind;
      client.onclose = () => this.#lost(client);
      client.onerror = (error) => this.#deps.logger.debug({ server: this.name, err: error }, 'MCP client error');
      const { tools } = await client.listTools(undefined, { timeout: this.#config.timeout });
      if (this.#closed()) return; // close() closed the client meanwhile
      this.#registerTools(tools);
      this.#backoff = undefined;
      this.#error = undefined;
      this.#setState('connected');
      this.#deps.logger.info({ server: this.name, transport: kind, tools: this.#tools }, 'MCP server connected');
    } catch (error) {
      const client = this.#client;
      this.#client = undefined;
      await client?.close().catch(() => {});
      this.#down(describe(error, this.#lastStderr));
    }
  }

  #newClient(): Client {
    return new Client(CLIENT_INFO, {
      listChanged: {
        tools: {
          onChanged: (error, tools) => {
            if (error !== null || tools === null) {
              this.#deps.logger.warn({ server: this.name, err: error }, 'MCP server tool list could not be refreshed');
              return;
            }
            this.#registerTools(tools);
            this.#deps.logger.info({ server: this.name, tools: this.#tools }, 'MCP server tool list changed');
          },
        },
      },
    });
  }

  /** The connection closed under us (a child exited, the HTTP session ended). */
  #lost(client: Client): void {
    if (this.#client !== client || this.#state === 'closed') return;
    this.#client = undefined;
    this.#down(`the connection closed${this.#lastStderr ? ` (last stderr line: ${this.#lastStderr})` : ''}`);
  }

  #down(reason: string): void {
    if (this.#state === 'closed') return;
    this.#unregisterTools();
    this.#error = reason;
    this.#setState('down');
    this.#backoff = (this.#backoff ?? this.#newBackoff()).next(undefined);
    const delay = this.#backoff.duration;
    this.#deps.logger.warn({ server: this.name, reason, retryInMs: Math.round(delay) }, 'MCP server unavailable');
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#attempt().catch((error: unknown) => this.#deps.logger.error({ err: error }, 'MCP reconnect'));
    }, delay);
    this.#retryTimer.unref();
  }

  #newBackoff(): ExponentialBackoff<unknown> {
    return new ExponentialBackoff({
      initialDelay: this.#deps.reconnect.initialDelayMs,
      maxDelay: this.#deps.reconnect.maxDelayMs,
    });
  }

  #registerTools(tools: readonly Tool[]): void {
    if (this.#state === 'closed') return;
    const names = new Set<string>();
    const specs: ToolSpec[] = [];
    for (const tool of tools) {
      const name = namespacedName(this.name, tool.name);
      if (names.has(name)) {
        this.#deps.logger.warn(
          { server: this.name, tool: tool.name, name },
          'MCP tool name clashes once namespaced: left out',
        );
        continue;
      }
      names.add(name);
      specs.push({
        name,
        description: tool.description ?? tool.title ?? '',
        parameters: toolParametersOf(tool),
        timeoutMs: this.#config.timeout,
        run: (args, invocation) =>
          this.callTool(tool.name, args, { signal: invocation.signal, timeoutMs: this.#config.timeout }),
      });
    }
    try {
      this.#unregister = this.#deps.registry.register(this.#owner, specs);
      this.#tools = specs.length;
    } catch (error) {
      // A name another plugin holds: the server's tools stay out rather than half in.
      this.#deps.logger.error({ server: this.name, err: error }, 'MCP server tools could not be registered');
    }
    this.#deps.onStatus?.(this.status());
  }

  #unregisterTools(): void {
    this.#unregister?.();
    this.#unregister = undefined;
    this.#tools = 0;
  }

  #closed(): boolean {
    return this.#state === 'closed';
  }

  #setState(state: ConnectionState): void {
    this.#state = state;
    this.#deps.onStatus?.(this.status());
  }

  #callError(tool: string, error: unknown, timeoutMs: number): Error {
    if (error instanceof SdkError) {
      if (error.code === SdkErrorCode.RequestTimeout) {
        return toolsErrors.TOOL_TIMEOUT(
          `Tool "${tool}" of MCP server "${this.name}" did not answer within ${timeoutMs} ms`,
        );
      }
      if (
        error.code === SdkErrorCode.ConnectionClosed ||
        error.code === SdkErrorCode.NotConnected ||
        error.code === SdkErrorCode.SendFailed
      ) {
        return toolsErrors.TOOL_UNAVAILABLE(`MCP server "${this.name}" is not connected; do without its tools for now`);
      }
    }
    if (error instanceof ProtocolError) {
      // The server's answer to the call (an unknown tool, invalid parameters): the model may correct it.
      return toolsErrors.TOOL_REPORTED_ERROR(
        `MCP server "${this.name}" refused the call of "${tool}": ${error.message}`,
      );
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}

function describe(error: unknown, lastStderr: string | undefined): string {
  const message = error instanceof Error ? error.message : String(error);
  return lastStderr === undefined ? message : `${message} (last stderr line: ${lastStderr})`;
}
