/**
 * Which models count as "running" for `GET /api/ps`. Plugboard loads no model itself; the
 * backend does, and keeps it for the request's `keep_alive` (default 5 minutes), which
 * Plugboard forwards. So a model is listed from its last successful request until that
 * keep-alive runs out: an estimate of what an Ollama backend holds in memory, and an honest
 * "recently used" list for other backends.
 */
import type { ModelTarget } from '../../core/routing/model-router.ts';
import { keepAliveMs } from './keep-alive.ts';

/** A model in use, and until when. */
export interface RunningModel {
  readonly backend: string;
  readonly model: string;
  /** `backend/model`, as `/api/tags` names it. */
  readonly qualifiedId: string;
  /** Milliseconds since the epoch; `Infinity` for "kept forever" (negative keep-alive). */
  readonly expiresAt: number;
}

/** How far in the future "forever" is shown: Ollama shows about 292 years (Go's longest duration). */
const FOREVER_MS = 292 * 365.25 * 24 * 3_600_000;

/**
 * The models requests went to, each until its keep-alive expires.
 *
 * @example
 * ```ts
 * running.touch({ backend: 'ollama', model: 'llama3.2' }, '10m');
 * running.list(); // [{ qualifiedId: 'ollama/llama3.2', expiresAt: … }]
 * ```
 */
export class RunningModels {
  readonly #entries = new Map<string, RunningModel>();

  /** A request used `target` with this keep-alive (0 unloads it, as in Ollama). */
  touch(target: ModelTarget, keepAlive: string | number | null | undefined, now = Date.now()): void {
    const qualifiedId = `${target.backend}/${target.model}`;
    const key = identity(qualifiedId);
    const ms = keepAliveMs(keepAlive) ?? 0;
    if (ms <= 0) {
      this.#entries.delete(key);
      return;
    }
    this.#entries.set(key, { backend: target.backend, model: target.model, qualifiedId, expiresAt: now + ms });
  }

  /** The models still running, longest-lived first; expired ones are forgotten. */
  list(now = Date.now()): RunningModel[] {
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
    return [...this.#entries.values()].sort((a, b) => b.expiresAt - a.expiresAt);
  }
}

/**
 * One key for `name` and `name:latest`, which Ollama (and the router) treat as the same
 * model: `ollama/llama3.2` (a prefixed name is not looked up) and `llama3.2:latest` (a bare
 * one resolves to the listed id) must not count as two running models.
 */
function identity(qualifiedId: string): string {
  const slash = qualifiedId.indexOf('/');
  return qualifiedId.slice(slash + 1).includes(':') ? qualifiedId : `${qualifiedId}:latest`;
}

/** An expiry as Ollama's `expires_at`: RFC 3339, with "forever" as a date ~292 years ahead. */
export function expiresAtText(expiresAt: number, now = Date.now()): string {
  return new Date(Number.isFinite(expiresAt) ? expiresAt : now + FOREVER_MS).toISOString();
}
