/**
 * The liveness answer at `/` and `GET /api/version`, as Ollama serves them.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../server-context.ts';

/**
 * The Ollama version Plugboard reports. Clients gate features on it (tools ≥ 0.3, structured
 * outputs ≥ 0.5, tool-call streaming ≥ 0.8, `think` ≥ 0.9), and refuse or degrade below
 * what they need; Plugboard's Ollama API covers the 0.12 request and response shapes.
 */
export const EMULATED_OLLAMA_VERSION = '0.12.0';

/** The text of `GET /`, in the spirit of Ollama's "Ollama is running". */
export const ROOT_TEXT = 'Plugboard is running (Ollama-compatible API)';

/** Registers `GET /` (and `HEAD /`): the liveness answer Ollama's clients probe. */
export function registerRootRoute(app: FastifyInstance): void {
  // Fastify answers HEAD for every GET route (`exposeHeadRoutes`): `HEAD /` works as in Ollama.
  app.get('/', async (_request, reply) => reply.type('text/plain; charset=utf-8').send(ROOT_TEXT));
}

/** Registers `GET /api/version` (relative to the `/api` prefix). */
export function registerVersionRoute(app: FastifyInstance, context: ServerContext): void {
  app.get('/version', async () => ({ version: EMULATED_OLLAMA_VERSION, plugboard: context.version }));
}
