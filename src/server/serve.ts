import { ConfigRuntime } from '../config/config-runtime.ts';
import type { Logger } from '../core/logger.ts';
import { configAdminControl } from './admin/config-admin-control.ts';
import { createServer, type PlugboardServer } from './create-server.ts';
import { installProcessGuards } from './process-guards.ts';
import { type ServerOverrides, serverSettingsFrom } from './settings.ts';
import { createDevAdminToken, devAdminTokenDecision, webUiAddress } from './ui/dev-admin-token.ts';

/** Settings of {@link serve}. */
export interface ServeOptions extends ServerOverrides {
  /** Configuration file; default `PLUGBOARD_CONFIG`, then plugins/config.yaml. */
  readonly configFile?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly logger?: Logger;
  /** Stop on SIGTERM/SIGINT and reload on SIGHUP (default true; tests turn it off). */
  readonly handleSignals?: boolean;
  /**
   * Survive errors that escape every call (see `installProcessGuards`): default as
   * `handleSignals`, since both make this server the owner of the process.
   */
  readonly guardProcess?: boolean;
  /**
   * In `development` mode with no admin token configured (and the web UI on), make one for this
   * run, so that the UI's dashboard works: the start-up log line `Web UI: …/#token=…` carries
   * it. `plugboard serve` sets it; other modes are never given one.
   */
  readonly devAdminToken?: boolean;
  /** The web UI's build folder (default: this package's dist/ui); tests point it elsewhere. */
  readonly uiFolder?: string;
}

/** Exit codes of `plugboard serve`. */
export const EXIT_CODES = {
  /** Stopped cleanly: every request and stream finished. */
  ok: 0,
  /** Could not start: invalid configuration, port in use … */
  startFailed: 1,
  /** Wrong command-line usage. */
  usage: 2,
  /** Stopped, but the shutdown deadline cut requests or streams short (or a second signal forced it). */
  forced: 3,
  /** Stopped because an exception escaped Plugboard's own code: the process state was unknown (see installProcessGuards). */
  unknownState: 4,
} as const;

/** A running server with its configuration runtime. */
export interface RunningPlugboard {
  readonly url: string;
  readonly server: PlugboardServer;
  readonly runtime: ConfigRuntime;
  /** Graceful stop (idempotent). Resolves with the exit code. */
  stop(reason?: string): Promise<number>;
  /** Settles with the exit code once the server has stopped, however it was stopped. */
  readonly stopped: Promise<number>;
}

/**
 * Starts Plugboard the way `plugboard serve` does: loads the configuration, starts the
 * plugins, listens, and on SIGTERM/SIGINT stops gracefully — no new requests, in-flight
 * requests and open streams finish (up to `server.shutdown_timeout`), then plugins shut
 * down in reverse dependency order. SIGHUP reloads the configuration.
 *
 * @example
 * ```ts
 * const running = await serve({ configFile: 'plugins/config.yaml', port: 0, handleSignals: false });
 * console.log(running.url);
 * await running.stop();
 * ```
 */
export async function serve(options: ServeOptions = {}): Promise<RunningPlugboard> {
  const env = options.env ?? process.env;
  const runtime = await ConfigRuntime.start({
    ...(options.configFile === undefined ? {} : { file: options.configFile }),
    env,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  let server: PlugboardServer;
  let url: string;
  let devToken: string | undefined;
  try {
    const configured = serverSettingsFrom(runtime.config.server, env, options);
    const uiOn = runtime.config.server.ui;
    const decision = devAdminTokenDecision({
      wanted: options.devAdminToken === true,
      ui: uiOn,
      mode: runtime.config.mode,
      configured: configured.adminToken !== undefined,
      host: configured.host,
    });
    devToken = decision === 'make' ? createDevAdminToken() : undefined;
    if (decision === 'not-loopback') {
      runtime.logger.warn(
        { operation: 'web_ui', host: configured.host, generated_admin: false },
        `No development admin token: the server listens on ${configured.host}, which the network can reach; the admin API (and the dashboard's admin actions) stays closed until server.admin_token (or PLUGBOARD_ADMIN_TOKEN) is set`,
      );
    }
    const settings = {
      ...configured,
      ...(devToken === undefined ? {} : { adminToken: devToken }),
      metricsEnabled: runtime.config.observability.metrics.enabled,
    };
    server = await createServer({
      manager: runtime.manager,
      settings,
      logger: runtime.logger,
      admin: configAdminControl(runtime),
      // OpenTelemetry tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set in this environment.
      tracing: { env },
      ui: uiOn ? { ...(options.uiFolder === undefined ? {} : { folder: options.uiFolder }) } : false,
    });
    url = await server.listen().catch((error: unknown) => {
      throw listenError(error, settings.host, settings.port);
    });
    if (uiOn) {
      // The token only in the message (a field named so would be redacted): it is meant to be read.
      runtime.logger.info(
        { operation: 'web_ui', url: webUiAddress(url), generated_admin: devToken !== undefined },
        `Web UI: ${webUiAddress(url, devToken)}`,
      );
    }
  } catch (error) {
    await runtime.close('start failed');
    throw error;
  }

  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => {
    resolveStopped = resolve;
  });
  const removers: (() => void)[] = [];
  let stopping: Promise<number> | undefined;
  let unknownState = false;
  const stop = (reason = 'shutdown'): Promise<number> => {
    stopping ??= (async () => {
      runtime.logger.info({ operation: 'shutdown', reason }, 'shutting down: finishing in-flight requests');
      const finished = await server.close();
      await runtime.close(reason);
      for (const remove of removers) remove();
      const code = unknownState ? EXIT_CODES.unknownState : finished ? EXIT_CODES.ok : EXIT_CODES.forced;
      runtime.logger.info({ operation: 'shutdown', exit_code: code }, 'stopped');
      resolveStopped(code);
      return code;
    })();
    return stopping;
  };

  if (options.guardProcess ?? options.handleSignals ?? true) {
    removers.push(
      installProcessGuards(runtime.manager, runtime.logger, () => {
        unknownState = true;
        void stop('an exception escaped Plugboard’s own code');
      }),
    );
  }
  if (options.handleSignals ?? true) {
    removers.push(runtime.reloadOnSignal('SIGHUP'));
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const handler = (): void => {
        if (stopping !== undefined) {
          // A second signal: the operator does not want to wait.
          runtime.logger.warn({ operation: 'shutdown', signal }, 'second signal: stopping now');
          process.exit(EXIT_CODES.forced);
        }
        void stop(signal);
      };
      process.on(signal, handler);
      removers.push(() => process.off(signal, handler));
    }
  }
  return { url, server, runtime, stop, stopped };
}

function listenError(error: unknown, host: string, port: number): Error {
  const code = (error as { code?: string }).code;
  if (code === 'EADDRINUSE') {
    return new Error(
      `Port ${port} on ${host} is already in use. Stop the other process, or pick another port with --port or PORT.`,
      { cause: error },
    );
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new Error(`Cannot listen on ${host}: no such local address. Use --host 127.0.0.1 or 0.0.0.0.`, {
      cause: error,
    });
  }
  if (code === 'EACCES') {
    return new Error(`Not allowed to listen on port ${port}: ports below 1024 need privileges. Pick another port.`, {
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}
