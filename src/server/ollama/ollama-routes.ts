import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../create-server.ts';

// PLACEHOLDER — the Ollama-compatible API is being written.
export function registerOllamaRoutes(_app: FastifyInstance, _context: ServerContext): void {}
