import type { FastifyInstance } from 'fastify';
import type { SystemHealth } from '../../core/manager/health.ts';
import type { PluginManager } from '../../core/manager/plugin-manager.ts';
import { redactSecrets, redactText } from '../../core/util/redact.ts';
import type { ConfigStatusBody } from '../admin/admin-control.ts';
import type { ServerContext } from '../server-context.ts';
import { configField } from './config-status.ts';

/** One plugin in `GET /health` (spec §11.3). */
export interface PluginHealthBody {
  readonly state: string;
  readonly health: {
    readonly status: 'healthy' | 'degraded' | 'unhealthy';
    readonly message?: string;
    readonly custom_metrics: Readonly<Record<string, unknown>>;
  };
}

/** The body of `GET /health`: the shape of the spec's §11.3, plus why and since when. */
export interface HealthBody {
  readonly status: SystemHealth['status'];
  readonly timestamp: string;
  readonly version: string;
  readonly uptime_seconds: number;
  /** Why the status is not `healthy` (empty when it is). */
  readonly reasons: readonly string[];
  readonly plugins: Readonly<Record<string, PluginHealthBody>>;
  /**
   * With a configuration file: it and what its last reload did. A refused reload does not
   * change `status` (the running configuration is intact), it is reported here.
   */
  readonly config?: ConfigStatusBody;
}

/** The body of `GET /health/ready`. */
export interface ReadinessBody {
  readonly status: 'ready' | 'not_ready';
  readonly reasons: readonly string[];
  readonly backends: readonly string[];
}

/**
 * `GET /health` (200 healthy or degraded, 503 unhealthy), `GET /health/live` (200 while the
 * process answers HTTP) and `GET /health/ready` (200 when chat requests can be served, else
 * 503 with the reasons). Not-healthy and not-ready answers are status reports, not errors:
 * they carry the report itself, which is what a person or a probe needs.
 */
export function registerHealthRoutes(app: FastifyInstance, context: ServerContext): void {
  const checkHealth = coalesced(context.manager);

  app.get('/health', async (_request, reply) => {
    const health = await checkHealth();
    const body: HealthBody = {
      status: health.status,
      timestamp: health.timestamp,
      version: context.version,
      uptime_seconds: uptimeSeconds(context.startedAt),
      reasons: health.reasons,
      plugins: Object.fromEntries(
        Object.entries(health.plugins).map(([name, plugin]) => [
          name,
          {
            state: plugin.state,
            health: {
              status: plugin.health.status,
              // Unauthenticated: a plugin's report never shows a credential (`http://user:***@host`).
              ...(plugin.health.message === undefined ? {} : { message: redactText(plugin.health.message) }),
              custom_metrics: redactSecrets(plugin.health.custom_metrics ?? plugin.health.details ?? {}),
            },
          },
        ]),
      ),
      ...configField(context.admin),
    };
    return reply
      .code(health.status === 'unhealthy' ? 503 : 200)
      .header('cache-control', 'no-store')
      .send(body);
  });

  app.get('/health/live', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));

  app.get('/health/ready', async (_request, reply) => {
    const manager = context.manager;
    const backends = manager.backendNames;
    const reasons: string[] = [];
    if (context.shuttingDown()) reasons.push('the server is shutting down');
    if (!manager.running) reasons.push('the plugin manager is not running');
    if (backends.length === 0) reasons.push('no backend provider is active');
    for (const plugin of manager.failedClosedPlugins) {
      reasons.push(`fail-closed plugin "${plugin}" is not running: requests are refused (see GET /plugins)`);
    }
    const body: ReadinessBody = { status: reasons.length === 0 ? 'ready' : 'not_ready', reasons, backends };
    return reply
      .code(reasons.length === 0 ? 200 : 503)
      .header('cache-control', 'no-store')
      .send(body);
  });
}

/**
 * `manager.getHealth()`, shared by the requests that arrive while one runs: a burst of
 * probes runs every plugin's health check once, not once per probe. Each check is bounded
 * by the manager's `healthTimeoutMs`, so a hanging check cannot hang the endpoint.
 */
function coalesced(manager: PluginManager): () => Promise<SystemHealth> {
  let running: Promise<SystemHealth> | undefined;
  return () => {
    running ??= manager.getHealth().finally(() => {
      running = undefined;
    });
    return running;
  };
}

function uptimeSeconds(startedAt: Date): number {
  return Math.round((Date.now() - startedAt.getTime()) / 10) / 100;
}
