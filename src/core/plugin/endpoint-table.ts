import { ENDPOINT_METHODS, type EndpointMethod, type PluginEndpoint } from './endpoints.ts';
import type { PluginRecord } from './plugin-record.ts';

/** A literal segment (not `.` or `..`), or a `:name` parameter. */
const SEGMENT = /^(?:(?!\.\.?$)[A-Za-z0-9._-]+|:[A-Za-z_][A-Za-z0-9_]*)$/;
/** Endpoints live under the OpenAI-style API prefix, where clients already send their key. */
const PREFIX = '/v1/';

/**
 * The problems of a plugin's `endpoints` member (empty when it is valid), for the
 * structural check at load.
 *
 * @example
 * ```ts
 * endpointProblems([{ method: 'GET', path: '/conversations', handle }]); // ['endpoints[0].path: must start with /v1/ …']
 * ```
 */
export function endpointProblems(endpoints: unknown): string[] {
  if (!Array.isArray(endpoints)) return [`endpoints: must be an array, found ${typeof endpoints}`];
  const problems: string[] = [];
  const seen = new Set<string>();
  endpoints.forEach((endpoint: Partial<PluginEndpoint> | null, index) => {
    const where = `endpoints[${index}]`;
    if (typeof endpoint !== 'object' || endpoint === null) {
      problems.push(`${where}: must be an object { method, path, handle }`);
      return;
    }
    if (!ENDPOINT_METHODS.includes(endpoint.method as EndpointMethod)) {
      problems.push(
        `${where}.method: must be one of ${ENDPOINT_METHODS.join(', ')}, found ${JSON.stringify(endpoint.method)}`,
      );
    }
    const path = endpoint.path;
    if (typeof path !== 'string' || !path.startsWith(PREFIX) || !segmentsOf(path).every((part) => SEGMENT.test(part))) {
      problems.push(
        `${where}.path: must start with ${PREFIX} and have segments of letters, digits, ".", "_", "-" or :name parameters, found ${JSON.stringify(path)}`,
      );
    } else {
      const names = segmentsOf(path).filter((part) => part.startsWith(':'));
      if (new Set(names).size !== names.length)
        problems.push(`${where}.path: a parameter name appears twice in ${path}`);
      const key = `${endpoint.method} ${shapeOf(path)}`;
      if (seen.has(key)) problems.push(`${where}: another endpoint of this plugin already answers ${key}`);
      seen.add(key);
    }
    if (typeof endpoint.handle !== 'function') problems.push(`${where}.handle: must be a function`);
    if (endpoint.scope !== undefined && (typeof endpoint.scope !== 'string' || endpoint.scope === '')) {
      problems.push(`${where}.scope: must be a non-empty string`);
    }
    if (endpoint.bodyLimit !== undefined && !(Number.isInteger(endpoint.bodyLimit) && endpoint.bodyLimit > 0)) {
      problems.push(`${where}.bodyLimit: must be a positive whole number of bytes`);
    }
  });
  return problems;
}

/** A request matched to an endpoint. */
export interface EndpointMatch {
  readonly record: PluginRecord;
  readonly endpoint: PluginEndpoint;
  readonly params: Readonly<Record<string, string>>;
}

interface Route {
  readonly record: PluginRecord;
  readonly endpoint: PluginEndpoint;
  readonly parts: readonly string[];
}

/**
 * The endpoints of the ACTIVE plugins of one snapshot. Two plugins declaring the same method
 * and path shape: the first in priority order answers, and the other is reported in
 * `conflicts` (the table is rebuilt with every snapshot, so a plugin disabled takes its
 * endpoints with it).
 */
export class EndpointTable {
  readonly #routes: Route[] = [];
  /** `plugin: METHOD /path` of endpoints another plugin already answers. */
  readonly conflicts: string[] = [];

  constructor(records: readonly PluginRecord[]) {
    const taken = new Map<string, string>();
    for (const record of records) {
      for (const endpoint of record.plugin.endpoints ?? []) {
        const key = `${endpoint.method} ${shapeOf(endpoint.path)}`;
        const holder = taken.get(key);
        if (holder !== undefined) {
          this.conflicts.push(`${record.name}: ${endpoint.method} ${endpoint.path} (answered by "${holder}")`);
          continue;
        }
        taken.set(key, record.name);
        this.#routes.push({ record, endpoint, parts: segmentsOf(endpoint.path) });
      }
    }
  }

  get size(): number {
    return this.#routes.length;
  }

  /**
   * The endpoint answering `method` at `path` (decoded parameters); else the methods other
   * endpoints answer at that path (for a 405), empty when no endpoint has the path.
   */
  match(method: string, path: string): EndpointMatch | { readonly allowed: readonly EndpointMethod[] } {
    const requested = segmentsOf(path);
    const allowed = new Set<EndpointMethod>();
    // Literal segments win over parameters (`/v1/conversations/search` before `/v1/conversations/:id`).
    let best: { route: Route; params: Record<string, string>; literals: number } | undefined;
    for (const route of this.#routes) {
      const params = matchParts(route.parts, requested);
      if (params === undefined) continue;
      if (route.endpoint.method !== method) {
        allowed.add(route.endpoint.method);
        continue;
      }
      const literals = route.parts.filter((part) => !part.startsWith(':')).length;
      if (best === undefined || literals > best.literals) best = { route, params, literals };
    }
    if (best !== undefined) return { record: best.route.record, endpoint: best.route.endpoint, params: best.params };
    return { allowed: [...allowed].sort() };
  }

  /** Every endpoint, for listings: plugin, method, path, scope, description. */
  list(): { plugin: string; method: EndpointMethod; path: string; scope: string; description?: string }[] {
    return this.#routes.map(({ record, endpoint }) => ({
      plugin: record.name,
      method: endpoint.method,
      path: endpoint.path,
      scope: endpoint.scope ?? 'chat',
      ...(endpoint.description === undefined ? {} : { description: endpoint.description }),
    }));
  }
}

function segmentsOf(path: string): string[] {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed.split('/').slice(1);
}

/** `/v1/conversations/:id` → `/v1/conversations/:` (parameter names do not make two paths differ). */
function shapeOf(path: string): string {
  return `/${segmentsOf(path)
    .map((part) => (part.startsWith(':') ? ':' : part))
    .join('/')}`;
}

function matchParts(parts: readonly string[], requested: readonly string[]): Record<string, string> | undefined {
  if (parts.length !== requested.length) return undefined;
  const params: Record<string, string> = {};
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index]!;
    const value = requested[index]!;
    if (part.startsWith(':')) {
      if (value === '') return undefined;
      let decoded: string;
      try {
        decoded = decodeURIComponent(value);
      } catch {
        return undefined;
      }
      params[part.slice(1)] = decoded;
    } else if (part !== value) {
      return undefined;
    }
  }
  return params;
}
