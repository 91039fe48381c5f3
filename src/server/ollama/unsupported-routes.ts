/**
 * Ollama's model management, which Plugboard cannot honour: it serves models that its
 * backends own. These routes exist so clients get a clear 501 saying where to go, instead of
 * a 404 that looks like a wrong URL.
 */
import type { FastifyInstance, HTTPMethods } from 'fastify';
import { serverErrors } from '../server-errors.ts';

/** A route Plugboard answers with 501, and what the client wanted to do. */
interface UnsupportedRoute {
  readonly method: HTTPMethods | HTTPMethods[];
  readonly url: string;
  readonly operation: string;
}

/** Every model-management route of Ollama's API (relative to `/api`). */
export const UNSUPPORTED_ROUTES: readonly UnsupportedRoute[] = [
  { method: 'POST', url: '/pull', operation: 'Pulling models' },
  { method: 'POST', url: '/push', operation: 'Pushing models' },
  { method: 'POST', url: '/create', operation: 'Creating models' },
  { method: 'POST', url: '/copy', operation: 'Copying models' },
  { method: 'DELETE', url: '/delete', operation: 'Deleting models' },
  { method: ['HEAD', 'POST'], url: '/blobs/:digest', operation: 'Uploading model blobs' },
];

/**
 * Registers the model-management routes, all answering `NOT_IMPLEMENTED` (501). The error
 * is raised in `onRequest`, before the body is parsed: a blob upload is binary, not JSON,
 * and must get the 501 too.
 */
export function registerUnsupportedRoutes(app: FastifyInstance): void {
  for (const route of UNSUPPORTED_ROUTES) {
    app.route({
      method: route.method,
      url: route.url,
      onRequest: async () => {
        throw serverErrors.NOT_IMPLEMENTED(
          `${route.operation} is not supported: Plugboard does not manage models. ` +
            'Manage them on the backend itself, e.g. `ollama pull <model>` against the Ollama server Plugboard uses; ' +
            'new models appear in /api/tags once the backend lists them.',
        );
      },
      handler: async () => undefined,
    });
  }
}
