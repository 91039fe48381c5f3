import { PlugboardError } from '../errors/plugboard-error.ts';
import type { ModelInfo } from '../model/reply.ts';
import type { PluginResult } from '../result.ts';

/** What the router needs to know about backends: the manager answers. */
export interface BackendDirectory {
  /** Names of the ACTIVE backends, in priority order. */
  readonly backendNames: readonly string[];
  /** Lists one backend's models through its guard (breaker, timeout). */
  listModelsOf(backend: string): Promise<PluginResult<readonly ModelInfo[]>> | undefined;
  /** Why a loaded plugin is not active (its state and last error), for error messages. */
  whyInactive(name: string): string | undefined;
  /** The loaded backend plugins that are not active, with why. */
  inactiveBackends(): readonly string[];
}

/** A model one backend serves. */
export interface ListedModel {
  readonly backend: string;
  /** The id as the backend knows it (`llama3.2:latest`). */
  readonly id: string;
  /** Unambiguous name across backends: `backend/id`. Both forms are accepted in requests. */
  readonly qualifiedId: string;
  readonly details?: ModelInfo['details'];
}

/** The models of every active backend, and the backends that could not list theirs. */
export interface ModelCatalogue {
  readonly models: readonly ListedModel[];
  readonly failures: readonly { readonly backend: string; readonly error: PlugboardError }[];
}

/** Where a request goes: the backend plugin and the model id it should see. */
export interface ModelTarget {
  readonly backend: string;
  readonly model: string;
}

/** Settings of {@link ModelRouter}. */
export interface ModelRouterOptions {
  /** How long a backend's model list is reused before it is asked again (default 30 s). */
  readonly ttlMs?: number;
}

interface CachedList {
  readonly at: number;
  readonly models: readonly ListedModel[];
}

/**
 * Resolves the model a request names to a backend — the one place `backend/model` is parsed. `backend/model` picks the backend
 * directly; a bare name is looked up in the backends' model lists (cached, refreshed once on
 * a miss, so a model pulled a second ago is found). Ollama's implicit `:latest` tag is
 * honoured both ways.
 *
 * @example
 * ```ts
 * const router = manager.models;
 * const { backend, model } = await router.resolve('llama3.2'); // { backend: 'ollama', model: 'llama3.2' }
 * ```
 */
export class ModelRouter {
  readonly #backends: BackendDirectory;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, CachedList>();
  /** Names resolved through the model lists, by the name the client gave. */
  readonly #resolved = new Map<string, ModelTarget>();

  constructor(backends: BackendDirectory, options: ModelRouterOptions = {}) {
    this.#backends = backends;
    this.#ttlMs = options.ttlMs ?? 30_000;
  }

  /** Every active backend's models, in backend priority order. */
  async list(options: { readonly refresh?: boolean } = {}): Promise<ModelCatalogue> {
    const backends = this.#backends.backendNames;
    const now = Date.now();
    const results = await Promise.all(
      backends.map(async (backend) => {
        const cached = this.#cache.get(backend);
        if (!options.refresh && cached !== undefined && now - cached.at < this.#ttlMs) {
          return { backend, models: cached.models };
        }
        const listing = this.#backends.listModelsOf(backend);
        if (listing === undefined) return { backend, models: [] as readonly ListedModel[] };
        const result = await listing;
        if (!result.ok) return { backend, error: result.error };
        const models = result.value.map((info) => ({
          backend,
          id: info.id,
          qualifiedId: `${backend}/${info.id}`,
          ...(info.details === undefined ? {} : { details: info.details }),
        }));
        this.#cache.set(backend, { at: Date.now(), models });
        return { backend, models };
      }),
    );
    const models: ListedModel[] = [];
    const failures: { backend: string; error: PlugboardError }[] = [];
    for (const result of results) {
      if ('error' in result && result.error !== undefined)
        failures.push({ backend: result.backend, error: result.error });
      else if ('models' in result) models.push(...result.models);
    }
    return { models, failures };
  }

  /** The listed model a client's name refers to, if any backend serves it. */
  async find(name: string): Promise<ListedModel | undefined> {
    const first = matchIn((await this.list()).models, name);
    if (first !== undefined) return first;
    return matchIn((await this.list({ refresh: true })).models, name);
  }

  /**
   * The backend and model for a client's model name.
   *
   * @throws PlugboardError `NO_BACKEND` (503) when no backend is active; `MODEL_NOT_FOUND`
   * (404, listing what is available) when no backend serves the model — 503 instead when
   * some backend could not be asked, naming it and why.
   */
  resolve(name: string): ModelTarget | Promise<ModelTarget> {
    const backends = this.#backends.backendNames;
    if (backends.length === 0) throw noBackend(this.#backends);
    const prefixed = splitBackendPrefix(name, backends);
    if (prefixed !== undefined) return prefixed;
    // Every request names a model: answer from the last lookup while that backend's list is fresh.
    const known = this.#resolved.get(name);
    if (known !== undefined && backends.includes(known.backend)) {
      const list = this.#cache.get(known.backend);
      if (list !== undefined && Date.now() - list.at < this.#ttlMs) return known;
    }
    return this.#lookUp(name);
  }

  async #lookUp(name: string): Promise<ModelTarget> {
    let catalogue = await this.list();
    let found = matchIn(catalogue.models, name);
    if (found === undefined) {
      catalogue = await this.list({ refresh: true });
      found = matchIn(catalogue.models, name);
    }
    if (found !== undefined) {
      const target = { backend: found.backend, model: found.id };
      // Bounded: names are client input; forgetting them all only costs one lookup each.
      if (this.#resolved.size >= 1000) this.#resolved.clear();
      this.#resolved.set(name, target);
      return target;
    }
    throw modelNotFound(name, catalogue, this.#backends);
  }

  /** Forgets cached model lists (after a reload, or when an admin asks). */
  invalidate(): void {
    this.#cache.clear();
    this.#resolved.clear();
  }
}

function matchIn(models: readonly ListedModel[], name: string): ListedModel | undefined {
  const candidates = [name, ...(name.includes(':') ? [] : [`${name}:latest`])];
  const stripLatest = name.endsWith(':latest') ? name.slice(0, -':latest'.length) : undefined;
  if (stripLatest !== undefined) candidates.push(stripLatest);
  for (const model of models) {
    if (candidates.includes(model.id) || candidates.includes(model.qualifiedId)) return model;
  }
  return undefined;
}

/**
 * `backend/model` when the part before the first slash names an active backend, else
 * undefined: other slashes belong to the model name (`library/llama3`, `hf.co/org/model`).
 */
export function splitBackendPrefix(name: string, backends: readonly string[]): ModelTarget | undefined {
  const slash = name.indexOf('/');
  if (slash <= 0) return undefined;
  const backend = name.slice(0, slash);
  return backends.includes(backend) ? { backend, model: name.slice(slash + 1) } : undefined;
}

function noBackend(backends: BackendDirectory): PlugboardError {
  const inactive = backends.inactiveBackends();
  return new PlugboardError(
    'NO_BACKEND',
    inactive.length === 0
      ? 'No backend plugin is configured: enable one under `backends:` in the configuration'
      : `No backend is active: ${inactive.join('; ')}`,
  );
}

function modelNotFound(name: string, catalogue: ModelCatalogue, backends: BackendDirectory): PlugboardError {
  const available = catalogue.models.map((model) => model.qualifiedId);
  const slash = name.indexOf('/');
  const prefix = slash > 0 ? name.slice(0, slash) : undefined;
  const why = prefix === undefined ? undefined : backends.whyInactive(prefix);
  if (why !== undefined) {
    return new PlugboardError('BACKEND_NOT_FOUND', `Backend "${prefix}" is not active (${why})`, {
      status: 503,
      details: { param: 'model' },
    });
  }
  const list = available.length === 0 ? 'none' : available.join(', ');
  if (catalogue.failures.length > 0) {
    const failed = catalogue.failures
      .map((failure) => `${failure.backend} (${failure.error.publicMessage})`)
      .join('; ');
    return new PlugboardError(
      'MODEL_NOT_FOUND',
      `Model "${name}" was not found, and some backends could not be asked: ${failed}. Available: ${list}`,
      { status: 503, details: { param: 'model', available } },
    );
  }
  return new PlugboardError('MODEL_NOT_FOUND', `Model "${name}" was not found. Available: ${list}`, {
    details: { param: 'model', available },
  });
}
