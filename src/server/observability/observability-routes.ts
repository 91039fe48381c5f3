import type { FastifyPluginAsync } from 'fastify';
import { installErrorFormat } from '../error-format.ts';
import { plugboardErrorBody } from '../http-errors.ts';
import type { ApiOptions } from '../server-context.ts';
import { registerHealthRoutes } from './health-routes.ts';
import { registerMetricsRoute } from './metrics-route.ts';
import { registerStatusRoutes } from './status-routes.ts';

/**
 * The observability endpoints (docs/api/observability.md) as an encapsulated Fastify plugin:
 * `GET /plugins`, `GET /plugins/metrics`, `GET /plugins/errors`, `GET /health`,
 * `GET /health/live`, `GET /health/ready` and `GET /metrics` (Prometheus). Errors on these
 * routes come in Plugboard's own format.
 */
export const observabilityApi: FastifyPluginAsync<ApiOptions> = async (app, { context }) => {
  // Its paths live at the root (no prefix): unknown paths are the root's to answer.
  installErrorFormat(app, plugboardErrorBody, context.routes, { notFound: false });
  registerStatusRoutes(app, context);
  registerHealthRoutes(app, context);
  registerMetricsRoute(app, context);
};
