import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../server-context.ts';

/**
 * `GET /metrics`: every metric in Prometheus' text exposition format, for a Prometheus
 * scrape. Not registered when `settings.metricsEnabled` is false (config
 * `observability.metrics.enabled`): the URL then answers 404.
 */
export function registerMetricsRoute(app: FastifyInstance, context: ServerContext): void {
  if (context.settings.metricsEnabled === false) return;
  const registry = context.metrics.registry;
  app.get('/metrics', async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).header('cache-control', 'no-store').send(text);
  });
}
