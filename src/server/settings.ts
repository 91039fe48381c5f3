import type { PlugboardConfig } from '../config/schema.ts';
import { parseModelSource } from '../model-files/model-source.ts';

/** How the HTTP server runs. Built from the `server` config section, the environment and CLI flags. */
export interface ServerSettings {
  readonly host: string;
  readonly port: number;
  readonly bodyLimitBytes: number;
  /** Longest a request may run, streaming included. */
  readonly requestTimeoutMs: number;
  /**
   * How long a client has to send a request body once its headers are in, extended by one
   * second for every `bodyMinRateBytes` received: a body that keeps arriving at that rate is
   * never cut, one that trickles is cut (408) and its connection closed.
   */
  readonly bodyTimeoutMs: number;
  /** Bytes per second that earn a body more time (0: `bodyTimeoutMs` is a hard deadline). */
  readonly bodyMinRateBytes: number;
  /**
   * Most request bodies received at once. When full, the slowest upload below the minimum
   * rate is cut to make room; if none is, the new request gets 503 with `Retry-After`.
   */
  readonly maxPendingBodies: number;
  /** Most messages in one chat request; also of its tools, and of the content parts, images and tool calls of all its messages. */
  readonly maxMessages: number;
  /** Most inputs in one embeddings request. */
  readonly maxInputs: number;
  /** Most characters of text (message contents, prompt, system, inputs) in one request. */
  readonly maxTotalChars: number;
  /** How long a graceful shutdown waits for in-flight requests and open streams. */
  readonly shutdownTimeoutMs: number;
  /** Enables the admin API; compared in constant time. */
  readonly adminToken?: string;
  /** Serves `GET /metrics` (Prometheus); config `observability.metrics.enabled`. Default true. */
  readonly metricsEnabled?: boolean;
  /** Where `POST /admin/models/pull` downloads GGUF files (`server.models_dir`); relative to the working directory. */
  readonly modelsDir: string;
  /** What `POST /admin/models/pull` downloads without a source (env `PLUGBOARD_DEFAULT_MODEL`; default a small Qwen 2.5). */
  readonly defaultModelSource?: string;
  /** The Hugging Face endpoint of `hf:` sources (env `HF_ENDPOINT`; default https://huggingface.co/). */
  readonly huggingFaceEndpoint?: string;
}

export const DEFAULT_SERVER_SETTINGS: ServerSettings = {
  host: '127.0.0.1',
  port: 8080,
  bodyLimitBytes: 16 * 1024 * 1024,
  requestTimeoutMs: 600_000,
  shutdownTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  bodyMinRateBytes: 32 * 1024,
  maxPendingBodies: 128,
  maxMessages: 10_000,
  maxInputs: 2048,
  maxTotalChars: 8_000_000,
  modelsDir: 'models',
};

/** Command-line overrides (`--host`, `--port`). */
export interface ServerOverrides {
  readonly host?: string;
  readonly port?: number;
}

/**
 * The effective server settings. Precedence: command-line flag, then environment (`HOST`,
 * `PORT`, `PLUGBOARD_ADMIN_TOKEN`), then the config file, then the defaults. `PLUGBOARD_DEFAULT_MODEL`
 * and `HF_ENDPOINT` (model downloads) come from the environment only.
 *
 * @throws Error naming the variable when `PORT` is not a port number, `PLUGBOARD_DEFAULT_MODEL`
 *   no model source, or the source of an admin token shorter than 16 characters (never the token itself).
 */
export function serverSettingsFrom(
  section: PlugboardConfig['server'],
  env: Readonly<Record<string, string | undefined>> = process.env,
  overrides: ServerOverrides = {},
): ServerSettings {
  const envPort = env.PORT === undefined || env.PORT === '' ? undefined : parsePort(env.PORT, 'PORT');
  const fromEnv = nonEmpty(env.PLUGBOARD_ADMIN_TOKEN);
  const adminToken = fromEnv ?? nonEmpty(section.admin_token);
  if (adminToken !== undefined && adminToken.length < 16) {
    const source = fromEnv === undefined ? 'server.admin_token' : 'PLUGBOARD_ADMIN_TOKEN';
    throw new Error(`${source} must be at least 16 characters long (the value is not shown: it is a secret)`);
  }
  const defaultModelSource = nonEmpty(env.PLUGBOARD_DEFAULT_MODEL);
  const huggingFaceEndpoint = nonEmpty(env.HF_ENDPOINT);
  if (defaultModelSource !== undefined) {
    try {
      parseModelSource(defaultModelSource, {
        env: {},
        ...(huggingFaceEndpoint === undefined ? {} : { endpoint: huggingFaceEndpoint }),
      });
    } catch (error) {
      throw new Error(`PLUGBOARD_DEFAULT_MODEL: ${(error as Error).message}`);
    }
  }
  return {
    host: overrides.host ?? nonEmpty(env.HOST) ?? section.host,
    port: overrides.port ?? envPort ?? section.port,
    bodyLimitBytes: Math.round(section.body_limit_mb * 1024 * 1024),
    requestTimeoutMs: section.request_timeout * 1000,
    shutdownTimeoutMs: section.shutdown_timeout * 1000,
    bodyTimeoutMs: section.body_timeout * 1000,
    bodyMinRateBytes: Math.round(section.body_min_rate_kb * 1024),
    maxPendingBodies: section.max_pending_bodies,
    maxMessages: section.limits.max_messages,
    maxInputs: section.limits.max_inputs,
    maxTotalChars: section.limits.max_total_chars,
    modelsDir: section.models_dir,
    ...(adminToken === undefined ? {} : { adminToken }),
    ...(defaultModelSource === undefined ? {} : { defaultModelSource }),
    ...(huggingFaceEndpoint === undefined ? {} : { huggingFaceEndpoint }),
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
