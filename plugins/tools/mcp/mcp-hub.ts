/**
 * The configured MCP servers together: started at initialize, reported in the health check,
 * closed at shutdown. Servers come only from the configuration file: nothing in a request can
 * add one.
 */
import type { HealthReport, Logger, ToolRegistry } from '../../../src/index.ts';
import type { McpServerConfig } from '../config.ts';
import type { ToolMetrics } from '../tool-metrics.ts';
import type { ConnectionStatus, McpConnection } from './mcp-connection.ts';

/** What the hub needs from the plugin. */
export interface McpHubOptions {
  readonly servers: Readonly<Record<string, McpServerConfig>>;
  readonly registry: ToolRegistry;
  readonly logger: Logger;
  readonly reconnect: { readonly initialDelayMs: number; readonly maxDelayMs: number };
  readonly metrics?: ToolMetrics;
}

/**
 * @example
 * ```ts
 * const hub = new McpHub({ servers: config.mcp_servers, registry, logger, reconnect });
 * await hub.start(); // never rejects: a server that is down is retried and reported
 * ```
 */
export class McpHub {
  readonly #options: McpHubOptions;
  #connections: McpConnection[] = [];

  constructor(options: McpHubOptions) {
    this.#options = options;
  }

  /** Connects every enabled server (each bounded by its `timeout`); resolves when each has tried once. */
  async start(): Promise<void> {
    const options = this.#options;
    const enabled = Object.entries(options.servers).filter(([, config]) => config.enabled);
    if (enabled.length === 0) return;
    // The MCP SDK is loaded only when there is a server to talk to (~100 ms and MBs at start otherwise).
    const { McpConnection } = await import('./mcp-connection.ts');
    this.#connections = enabled.map(
      ([name, config]) =>
        new McpConnection(name, config, {
          registry: options.registry,
          logger: options.logger,
          reconnect: options.reconnect,
          onStatus: (status) => {
            options.metrics?.serverUp.set({ server: name }, status.state === 'connected' ? 1 : 0);
            options.metrics?.serverTools.set({ server: name }, status.tools);
          },
        }),
    );
    await Promise.all(this.#connections.map((connection) => connection.start()));
  }

  /** Each server's status, by name. */
  statuses(): Record<string, ConnectionStatus> {
    return Object.fromEntries(this.#connections.map((connection) => [connection.name, connection.status()]));
  }

  /** Healthy when every enabled server is connected; degraded, naming each that is not and why, otherwise. */
  health(): HealthReport {
    const servers = this.statuses();
    const down = Object.entries(servers).filter(([, status]) => status.state !== 'connected');
    const details = { mcp_servers: servers };
    if (down.length === 0) return { status: 'healthy', details };
    const message = down
      .map(([name, status]) => `MCP server "${name}" is ${status.state}${status.error ? `: ${status.error}` : ''}`)
      .join('; ');
    return { status: 'degraded', message, details };
  }

  async close(): Promise<void> {
    await Promise.all(this.#connections.map((connection) => connection.close()));
  }
}
