/**
 * What embedders use to run Plugboard inside their own program: the HTTP server on a plugin
 * manager (`createServer`), the whole `plugboard serve` (`serve`), and the configuration
 * runtime (`ConfigRuntime`: a manager from a YAML file, with hot reload).
 *
 * @example
 * ```ts
 * import { serve } from 'plugboard/server';
 *
 * const running = await serve({ configFile: 'plugins/config.yaml', port: 0 });
 * console.log(`listening on ${running.url}`);
 * await running.stop();
 * ```
 */
export {
  ConfigRuntime,
  type ConfigRuntimeOptions,
  type ReloadReport,
} from '../config/config-runtime.ts';
export { type LoadedConfig, type LoadOptions, loadConfig } from '../config/load-config.ts';
export type { PlugboardConfig } from '../config/schema.ts';
export { ConnectionRegistry, type ConnectionRegistryOptions } from '../connections/connection-registry.ts';
export { createConnectionsPlugin } from '../connections/connections-plugin.ts';
export type { AdminControl } from './admin/admin-control.ts';
export { createServer, type PlugboardServer, type ServerOptions } from './create-server.ts';
export { installProcessGuards } from './process-guards.ts';
export { EXIT_CODES, type RunningPlugboard, type ServeOptions, serve } from './serve.ts';
export type { ServerContext } from './server-context.ts';
export type { ServerSettings } from './settings.ts';
