import { api } from '../../api/client.ts';
import type { ReloadReport } from '../types.ts';
import type { JsonSchema } from './json-schema.ts';

/** `GET /admin/plugins/:name/config`: what the form is built from. */
export interface PluginConfigView {
  readonly plugin: string;
  readonly kind?: string;
  /** The JSON Schema (draft 2020-12) of the plugin's `config`; null when the plugin declares none. */
  readonly schema: JsonSchema | null;
  /** The config in effect, secrets shown as `[redacted]` (sent back unchanged, they are kept). */
  readonly config: Readonly<Record<string, unknown>>;
  /** The configuration file the change is written to. */
  readonly file?: string | null;
  /** False when the server cannot write the file (`reason` says why): the form is read-only. */
  readonly writable: boolean;
  readonly reason?: string;
}

/** `PUT /admin/plugins/:name/config`'s answer: what was written, and the reload's report. */
export interface ConfigApplied {
  readonly report: ReloadReport | undefined;
  readonly file: string | undefined;
  /** False when the file already said this: nothing written, nothing reloaded. */
  readonly changed: boolean;
  /** What the reload did to the plugin: `applied`, `refused` (the running version stays), `unchanged`. */
  readonly outcome: 'applied' | 'refused' | 'unchanged';
}

const pathOf = (plugin: string) => `/admin/plugins/${encodeURIComponent(plugin)}/config`;

/**
 * Reads a plugin's config and schema.
 *
 * @example
 * ```ts
 * const { schema, config, writable } = await fetchPluginConfig('content_filter');
 * ```
 */
export function fetchPluginConfig(plugin: string, signal?: AbortSignal): Promise<PluginConfigView> {
  return api<PluginConfigView>(pathOf(plugin), signal === undefined ? {} : { signal });
}

/**
 * Sends a new config: the server validates it with the plugin's schema, writes it into the
 * configuration file (comments kept) and reloads. A 400 carries `issues` per key; 409 says
 * the file cannot be written.
 */
export async function applyPluginConfig(plugin: string, config: unknown): Promise<ConfigApplied> {
  const body = await api<unknown>(pathOf(plugin), { method: 'PUT', body: { config } });
  const fields = (body ?? {}) as { changed?: unknown; outcome?: unknown };
  const report = findReport(body);
  const outcome =
    fields.outcome === 'applied' || fields.outcome === 'refused' || fields.outcome === 'unchanged'
      ? fields.outcome
      : (report?.refused.length ?? 0) > 0
        ? 'refused'
        : 'applied';
  return { report, file: findFile(body), changed: fields.changed !== false, outcome };
}

function findReport(body: unknown): ReloadReport | undefined {
  if (isReport(body)) return body;
  if (body !== null && typeof body === 'object') {
    for (const key of ['report', 'reload']) {
      const inner = (body as Record<string, unknown>)[key];
      if (isReport(inner)) return inner;
    }
  }
  return undefined;
}

function findFile(body: unknown): string | undefined {
  const file = (body as { file?: unknown } | null)?.file;
  return typeof file === 'string' ? file : undefined;
}

function isReport(value: unknown): value is ReloadReport {
  return (
    value !== null &&
    typeof value === 'object' &&
    Array.isArray((value as { applied?: unknown }).applied) &&
    Array.isArray((value as { refused?: unknown }).refused)
  );
}
