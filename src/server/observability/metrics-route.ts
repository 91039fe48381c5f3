import type { FastifyInstance } from 'fastify';
import { metricsRef, PrometheusMetrics } from '../../core/metrics/metrics-service.ts';
import type { ServerContext } from '../server-context.ts';

/**
 * `GET /metrics`: every metric in Prometheus' text exposition format, for a Prometheus
 * scrape: the server's own, then those plugins record through the default `metricsRef`
 * service (their names cannot clash: `plugboard_`, `process_` and `nodejs_` are the
 * server's). Not registered when `settings.metricsEnabled` is false (config
 * `observability.metrics.enabled`): the URL then answers 404.
 */
export function registerMetricsRoute(app: FastifyInstance, context: ServerContext): void {
  if (context.settings.metricsEnabled === false) return;
  const registry = context.metrics.registry;
  app.get('/metrics', async (_request, reply) => {
    let text = await registry.metrics();
    const plugins = context.manager.defaultService(metricsRef);
    if (plugins instanceof PrometheusMetrics) {
      const theirs = await plugins.registry.metrics();
      if (theirs !== '') text = `${text.endsWith('\n') ? text : `${text}\n`}${theirs}`;
    }
    return reply.type(registry.contentType).header('cache-control', 'no-store').send(text);
  });
}
