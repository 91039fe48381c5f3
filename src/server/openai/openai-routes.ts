import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../create-server.ts';

// PLACEHOLDER — the OpenAI-compatible API is being written.
export function registerOpenAiRoutes(_app: FastifyInstance, _context: ServerContext): void {}
