import { api } from '../api/client.ts';

/**
 * The endpoints the server's running plugins serve, from `GET /plugins` (each plugin lists
 * its own: `GET /v1/conversations` …): the page learns whether memory or rag is there without
 * asking their endpoints — asking an absent one answers 404, which every browser logs as an
 * error in its console. `undefined` when the list cannot be read (the callers then ask the
 * endpoint itself). One request serves the callers of the same moment.
 *
 * @example
 * ```ts
 * const endpoints = await pluginEndpoints();
 * if (endpoints?.has('GET /v1/conversations') === false) return 'off';
 * ```
 */
export function pluginEndpoints(): Promise<ReadonlySet<string> | undefined> {
  pending ??= read().finally(() => {
    setTimeout(() => {
      pending = undefined;
    }, 1000);
  });
  return pending;
}

let pending: Promise<ReadonlySet<string> | undefined> | undefined;

async function read(): Promise<ReadonlySet<string> | undefined> {
  try {
    const answer = await api<{ plugins?: Record<string, { endpoints?: unknown }> }>('/plugins');
    const endpoints = new Set<string>();
    for (const plugin of Object.values(answer?.plugins ?? {})) {
      if (!Array.isArray(plugin.endpoints)) continue;
      for (const endpoint of plugin.endpoints) if (typeof endpoint === 'string') endpoints.add(endpoint);
    }
    return endpoints;
  } catch {
    return undefined;
  }
}
