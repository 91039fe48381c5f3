import type { Logger } from '../core/logger.ts';
import type { PluginManager } from '../core/manager/plugin-manager.ts';
import type { AdminControl } from './admin/admin-control.ts';
import type { ChatRunner } from './chat-runner.ts';
import type { InFlightRequests } from './in-flight-requests.ts';
import type { ServerMetrics } from './observability/server-metrics.ts';
import type { Tracing } from './observability/tracing.ts';
import type { RouteTable } from './route-table.ts';
import type { ServerSettings } from './settings.ts';
import type { WebUi } from './ui/web-ui.ts';

/**
 * What every API of the server gets: the manager and the server's shared services. A leaf
 * module (types only), so that route modules and `createServer` do not import each other.
 */
export interface ServerContext {
  readonly manager: PluginManager;
  readonly chat: ChatRunner;
  readonly metrics: ServerMetrics;
  readonly settings: ServerSettings;
  readonly logger: Logger;
  /** Present when the server runs from a configuration file (reload, effective config). */
  readonly admin: AdminControl | undefined;
  /** The requests with a pipeline running, each with its cancellation signal. */
  readonly inFlight: InFlightRequests;
  /** Every route by path, for 405 answers with `Allow`. */
  readonly routes: RouteTable;
  /** True from the moment a graceful shutdown starts (readiness turns 503). */
  readonly shuttingDown: () => boolean;
  readonly version: string;
  readonly startedAt: Date;
  /** OpenTelemetry tracing, when on (see `ServerOptions.tracing`). */
  readonly tracing: Tracing | undefined;
  /** The web UI, when on (see `ServerOptions.ui`): `GET /` answers browsers with its page. */
  readonly ui?: WebUi;
}

/** The options every API plugin is registered with. */
export interface ApiOptions {
  readonly context: ServerContext;
}
