import { api } from '../api/client.ts';

/** A model of `GET /v1/models`: its qualified id (`backend/model`) and its backend. */
export interface ModelEntry {
  readonly id: string;
  readonly backend: string;
}

/** The models of one backend, for the picker's groups. */
export interface ModelGroup {
  readonly backend: string;
  readonly models: readonly ModelEntry[];
}

/**
 * Every model the server's active backends serve (`GET /v1/models`). Fails with the server's
 * ApiError when no backend could list (502/503: none reachable) — which the page shows as the
 * first-run help, not as "no models".
 *
 * @example
 * ```ts
 * const models = await listModels(); // [{ id: 'echo/echo', backend: 'echo' }, …]
 * ```
 */
export async function listModels(signal?: AbortSignal): Promise<ModelEntry[]> {
  const answer = await api<{ data?: unknown }>('/v1/models', signal === undefined ? {} : { signal });
  const data = Array.isArray(answer?.data) ? answer.data : [];
  const models: ModelEntry[] = [];
  for (const item of data) {
    if (item === null || typeof item !== 'object') continue;
    const { id, owned_by: ownedBy } = item as { id?: unknown; owned_by?: unknown };
    if (typeof id !== 'string' || id === '') continue;
    const backend = typeof ownedBy === 'string' && ownedBy !== '' ? ownedBy : (id.split('/')[0] ?? 'other');
    models.push({ id, backend });
  }
  return models;
}

/**
 * Asks the server for one model (`GET /v1/models/{id}`): a model missing from the server's
 * cached lists makes it list again, so a file just downloaded is found. False when unknown.
 */
export async function findModel(id: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await api(`/v1/models/${encodeURIComponent(id)}`, signal === undefined ? {} : { signal });
    return true;
  } catch {
    return false;
  }
}

/** Models grouped by backend, in the order the server listed them. */
export function groupByBackend(models: readonly ModelEntry[]): ModelGroup[] {
  const groups = new Map<string, ModelEntry[]>();
  for (const model of models) {
    const group = groups.get(model.backend);
    if (group === undefined) groups.set(model.backend, [model]);
    else group.push(model);
  }
  return [...groups].map(([backend, entries]) => ({ backend, models: entries }));
}
