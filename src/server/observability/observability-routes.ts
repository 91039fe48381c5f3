import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../create-server.ts';

// PLACEHOLDER — observability routes are being written.
export function registerObservabilityRoutes(_app: FastifyInstance, _context: ServerContext): void {}
