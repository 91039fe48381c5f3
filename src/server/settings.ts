import type { PlugboardConfig } from '../config/schema.ts';

/** How the HTTP server runs. Built from the `server` config section, the environment and CLI flags. */
export interface ServerSettings {
  readonly host: string;
  readonly port: number;
  readonly bodyLimitBytes: number;
  /** Longest a request may run, streaming included. */
  readonly requestTimeoutMs: number;
  /** How long a graceful shutdown waits for in-flight requests and open streams. */
  readonly shutdownTimeoutMs: number;
  /** Enables the admin API; compared in constant time. */
  readonly adminToken?: string;
  /** Serves `GET /metrics` (Prometheus); config `observability.metrics.enabled`. Default true. */
  readonly metricsEnabled?: boolean;
}

export const DEFAULT_SERVER_SETTINGS: ServerSettings = {
  host: '127.0.0.1',
  port: 8080,
  bodyLimitBytes: 16 * 1024 * 1024,
  requestTimeoutMs: 600_000,
  shutdownTimeoutMs: 30_000,
};

/** Command-line overrides (`--host`, `--port`). */
export interface ServerOverrides {
  readonly host?: string;
  readonly port?: number;
}

/**
 * The effective server settings. Precedence: command-line flag, then environment (`HOST`,
 * `PORT`, `PLUGBOARD_ADMIN_TOKEN`), then the config file, then the defaults.
 *
 * @throws Error naming the variable when `PORT` is not a port number.
 */
export function serverSettingsFrom(
  section: PlugboardConfig['server'],
  env: Readonly<Record<string, string | undefined>> = process.env,
  overrides: ServerOverrides = {},
): ServerSettings {
  const envPort = env.PORT === undefined || env.PORT === '' ? undefined : parsePort(env.PORT, 'PORT');
  const adminToken = nonEmpty(env.PLUGBOARD_ADMIN_TOKEN) ?? nonEmpty(section.admin_token);
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new Error('PLUGBOARD_ADMIN_TOKEN must be at least 16 characters long');
  }
  return {
    host: overrides.host ?? nonEmpty(env.HOST) ?? section.host,
    port: overrides.port ?? envPort ?? section.port,
    bodyLimitBytes: Math.round(section.body_limit_mb * 1024 * 1024),
    requestTimeoutMs: section.request_timeout * 1000,
    shutdownTimeoutMs: section.shutdown_timeout * 1000,
    ...(adminToken === undefined ? {} : { adminToken }),
  };
}

/** Parses a TCP port. @throws Error naming `source` when the text is not one. */
export function parsePort(text: string, source: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${source} must be a port number from 0 to 65535, got "${text}"`);
  }
  return port;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
