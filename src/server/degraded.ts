import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PluginStep } from '../core/model/reply.ts';

/** The response header that names the plugins a response went without. */
export const DEGRADED_HEADER = 'x-plugboard-degraded';

/**
 * The plugins a request went without: those whose step was bypassed (a fail-open plugin that
 * failed) or skipped (its circuit open), each once, in the order they happened.
 */
export function degradedPlugins(steps: readonly PluginStep[]): string[] {
  const plugins: string[] = [];
  for (const step of steps) {
    if (step.outcome !== 'ok' && !plugins.includes(step.plugin)) plugins.push(step.plugin);
  }
  return plugins;
}

const degradedRequests = new WeakMap<FastifyRequest, readonly string[]>();

/**
 * Says that a response was served without some plugins: the `x-plugboard-degraded` header
 * (when headers can still be sent) and the request's log line (see {@link degradedOf}).
 */
export function markDegraded(reply: FastifyReply, steps: readonly PluginStep[]): void {
  const plugins = degradedPlugins(steps);
  if (plugins.length === 0) return;
  degradedRequests.set(reply.request, plugins);
  if (!reply.raw.headersSent) reply.header(DEGRADED_HEADER, plugins.join(', '));
}

/** The plugins a request's response went without, for its log line. */
export function degradedOf(request: FastifyRequest): readonly string[] | undefined {
  return degradedRequests.get(request);
}
