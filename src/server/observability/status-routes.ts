import type { FastifyInstance } from 'fastify';
import { listErrorCodes } from '../../core/errors/error-registry.ts';
import type { ServerContext } from '../server-context.ts';
import { configField } from './config-status.ts';

/**
 * `GET /plugins`: every plugin's status (state and its transitions, kinds, priority, breaker,
 * last error) and the files that could not be loaded. `GET /plugins/metrics`: call counts,
 * failures and latency per plugin and per operation or hook, and system-wide counts.
 * Both are the manager's reports as they are (spec §11.1); see docs/api/observability.md.
 * `GET /plugins/errors`: every error code a client or a log may show — the core's, the
 * server's and each plugin's (`defineErrors`) — with its summary, hint, HTTP status and owner.
 */
export function registerStatusRoutes(app: FastifyInstance, context: ServerContext): void {
  // With a configuration file, `config` says what its last reload did (config-status.ts).
  app.get('/plugins', async (_request, reply) =>
    reply
      .header('cache-control', 'no-store')
      .send({ ...context.manager.getPluginStatus(), ...configField(context.admin) }),
  );
  app.get('/plugins/metrics', async (_request, reply) =>
    reply.header('cache-control', 'no-store').send(context.manager.getMetrics()),
  );
  app.get('/plugins/errors', async () => ({ errors: listErrorCodes() }));
}
