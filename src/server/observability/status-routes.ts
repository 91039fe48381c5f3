import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../create-server.ts';

/**
 * `GET /plugins`: every plugin's status (state and its transitions, kinds, priority, breaker,
 * last error) and the files that could not be loaded. `GET /plugins/metrics`: call counts,
 * failures and latency per plugin and per operation or hook, and system-wide counts.
 * Both are the manager's reports as they are (spec §11.1); see docs/api/observability.md.
 */
export function registerStatusRoutes(app: FastifyInstance, context: ServerContext): void {
  app.get('/plugins', async (_request, reply) =>
    reply.header('cache-control', 'no-store').send(context.manager.getPluginStatus()),
  );
  app.get('/plugins/metrics', async (_request, reply) =>
    reply.header('cache-control', 'no-store').send(context.manager.getMetrics()),
  );
}
