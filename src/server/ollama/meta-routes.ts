/**
 * The liveness answer at `/` and `GET /api/version`, as Ollama serves them; `/` is also the
 * web UI's page for browsers.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../server-context.ts';
import { prefersHtml } from '../ui/accept.ts';

/**
 * The Ollama version Plugboard reports. Clients gate features on it (tools ≥ 0.3, structured
 * outputs ≥ 0.5, tool-call streaming ≥ 0.8, `think` ≥ 0.9), and refuse or degrade below
 * what they need; Plugboard's Ollama API covers the 0.12 request and response shapes.
 */
export const EMULATED_OLLAMA_VERSION = '0.12.0';

/** The text of `GET /`, in the spirit of Ollama's "Ollama is running". */
export const ROOT_TEXT = 'Plugboard is running (Ollama-compatible API)';

/**
 * Registers `GET /` (and `HEAD /`): the liveness answer Ollama's clients probe — and, with the
 * web UI on, the UI's page for a browser. The choice is the `Accept` header's (`prefersHtml`):
 * only a client that asks for HTML by name gets it; Ollama's clients, `curl` and health checks
 * keep getting {@link ROOT_TEXT}.
 */
export function registerRootRoute(app: FastifyInstance, context: ServerContext): void {
  const { ui } = context;
  // Fastify answers HEAD for every GET route (`exposeHeadRoutes`): `HEAD /` works as in Ollama.
  app.get('/', async (request, reply) => {
    if (ui === undefined) return reply.type('text/plain; charset=utf-8').send(ROOT_TEXT);
    // One URL, two representations: caches must key on Accept.
    reply.header('vary', 'accept');
    if (prefersHtml(request.headers.accept)) return ui.sendPage(reply);
    return reply.type('text/plain; charset=utf-8').send(ROOT_TEXT);
  });
}

/** Registers `GET /api/version` (relative to the `/api` prefix). */
export function registerVersionRoute(app: FastifyInstance, context: ServerContext): void {
  app.get('/version', async () => ({ version: EMULATED_OLLAMA_VERSION, plugboard: context.version }));
}
