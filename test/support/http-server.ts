import type { PluginManager, PluginManagerOptions } from '../../src/core/manager/plugin-manager.ts';
import type { PluginSettings } from '../../src/core/plugin/metadata.ts';
import { createSilentLogger, type Logger } from '../../src/index.ts';
import type { AdminControl } from '../../src/server/admin/admin-control.ts';
import { createServer, type PlugboardServer } from '../../src/server/create-server.ts';
import type { TracingOptions } from '../../src/server/observability/tracing.ts';
import type { ServerSettings } from '../../src/server/settings.ts';
import { startManager } from '../../src/testing/index.ts';

/** A real Plugboard HTTP server on 127.0.0.1 with a random port, over the given plugins. */
export interface TestServer {
  readonly url: string;
  readonly server: PlugboardServer;
  readonly manager: PluginManager;
  /** Stops the server, then the manager. */
  close(): Promise<void>;
}

/** Options of {@link startTestServer}. */
export interface TestServerOptions {
  readonly settings?: Partial<ServerSettings>;
  readonly manager?: PluginManagerOptions;
  readonly logger?: Logger;
  readonly admin?: AdminControl;
  /** The server's tracing (default: as the environment says). */
  readonly tracing?: TracingOptions | false;
}

/**
 * Starts a manager with `plugins` (a plugin, or `[plugin, settings]`) and a server on it,
 * listening on 127.0.0.1 on a free port.
 *
 * @example
 * ```ts
 * const { url, close } = await startTestServer([createScriptedBackend()]);
 * after(close);
 * ```
 */
export async function startTestServer(
  plugins: readonly (unknown | readonly [unknown, PluginSettings])[],
  options: TestServerOptions = {},
): Promise<TestServer> {
  const logger = options.logger ?? createSilentLogger();
  const manager = await startManager(plugins, { logger, ...options.manager });
  const server = await createServer({
    manager,
    logger,
    settings: { host: '127.0.0.1', port: 0, ...options.settings },
    ...(options.admin === undefined ? {} : { admin: options.admin }),
    ...(options.tracing === undefined ? {} : { tracing: options.tracing }),
  });
  const url = await server.listen();
  return {
    url,
    server,
    manager,
    async close() {
      await server.close();
      await manager.shutdown();
    },
  };
}
