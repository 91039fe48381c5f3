import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../create-server.ts';
import { registerHealthRoutes } from './health-routes.ts';
import { registerMetricsRoute } from './metrics-route.ts';
import { registerStatusRoutes } from './status-routes.ts';

/**
 * The observability endpoints (docs/api/observability.md): `GET /plugins`,
 * `GET /plugins/metrics`, `GET /health`, `GET /health/live`, `GET /health/ready` and
 * `GET /metrics` (Prometheus). Errors on these routes come in Plugboard's own format.
 */
export function registerObservabilityRoutes(app: FastifyInstance, context: ServerContext): void {
  registerStatusRoutes(app, context);
  registerHealthRoutes(app, context);
  registerMetricsRoute(app, context);
}
