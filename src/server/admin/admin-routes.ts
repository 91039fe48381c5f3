import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../create-server.ts';

// PLACEHOLDER — the admin API is being written.
export function registerAdminRoutes(_app: FastifyInstance, _context: ServerContext, _token: string): void {}
