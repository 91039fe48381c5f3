import { api } from '../api/client.ts';

/** A model download the server runs (`POST /admin/models/pull`; docs/api/admin.md). */
export interface ModelPull {
  readonly id: string;
  readonly source: string;
  /** The file's name in the models folder, e.g. `qwen2.5-0.5b-instruct-q4_k_m.gguf`. */
  readonly file: string;
  readonly state: 'running' | 'done' | 'failed' | 'cancelled';
  readonly received: number;
  readonly total: number | null;
  readonly bytesPerSecond: number;
  readonly error?: { readonly code: string; readonly message: string; readonly hint?: string };
}

/**
 * Starts downloading the server's default small model (body `{}`); answers the pull's state
 * (202). The admin token is needed: a 401 makes the shell ask for it.
 *
 * @example
 * ```ts
 * const pull = await startModelPull();
 * while ((await getModelPull(pull.id)).state === 'running') await sleep(1000);
 * ```
 */
export function startModelPull(): Promise<ModelPull> {
  return api<ModelPull>('/admin/models/pull', { method: 'POST', body: {} });
}

export function getModelPull(id: string, signal?: AbortSignal): Promise<ModelPull> {
  return api<ModelPull>(`/admin/models/pulls/${encodeURIComponent(id)}`, signal === undefined ? {} : { signal });
}

/**
 * The server's model downloads, running and recently ended (`GET /admin/models/pulls`). Asked in
 * passing (a page that finds a download already running): a refusal does not prompt for a token.
 */
export async function listModelPulls(signal?: AbortSignal): Promise<readonly ModelPull[]> {
  const answer = await api<{ readonly pulls?: readonly ModelPull[] }>('/admin/models/pulls', {
    announce: false,
    ...(signal === undefined ? {} : { signal }),
  });
  return answer?.pulls ?? [];
}

export function cancelModelPull(id: string): Promise<ModelPull> {
  return api<ModelPull>(`/admin/models/pulls/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

/** The model id llama.cpp lists for a file of the models folder: `llamacpp/<name without .gguf>`. */
export function modelIdOfFile(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  return `llamacpp/${base.replace(/\.gguf$/i, '')}`;
}
