import { PlugboardError } from '../core/errors/plugboard-error.ts';
import type { PluginManager } from '../core/manager/plugin-manager.ts';
import type { ModelInfo } from '../core/model/reply.ts';

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
 * Resolves the model a client names to a backend. `backend/model` picks the backend
 * directly; a bare name is looked up in the backends' model lists (cached, refreshed once on
 * a miss, so a model pulled a second ago is found). Ollama's implicit `:latest` tag is
 * honoured both ways.
 *
 * @example
 * ```ts
 * const router = new ModelRouter(manager);
 * const { backend, model } = await router.resolve('llama3.2'); // { backend: 'ollama', model: 'llama3.2' }
 * ```
 */
export class ModelRouter {
  readonly #manager: PluginManager;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, CachedList>();
  /** Names resolved through the model lists, by the name the client gave. */
  readonly #resolved = new Map<string, ModelTarget>();

  constructor(manager: PluginManager, options: ModelRouterOptions = {}) {
    this.#manager = manager;
    this.#ttlMs = options.ttlMs ?? 30_000;
  }

  /** Every active backend's models, in backend priority order. */
  async list(options: { readonly refresh?: boolean } = {}): Promise<ModelCatalogue> {
    const backends = this.#manager.backendNames;
    const now = Date.now();
    const results = await Promise.all(
      backends.map(async (backend) => {
        const cached = this.#cache.get(backend);
        if (!options.refresh && cached !== undefined && now - cached.at < this.#ttlMs) {
          return { backend, models: cached.models };
        }
        const handle = this.#manager.getBackendProvider(backend);
        if (handle === undefined) return { backend, models: [] as readonly ListedModel[] };
        const result = await handle.listModels();
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
    const backends = this.#manager.backendNames;
    if (backends.length === 0) throw noBackend(this.#manager);
    const slash = name.indexOf('/');
    if (slash > 0 && backends.includes(name.slice(0, slash))) {
      return { backend: name.slice(0, slash), model: name.slice(slash + 1) };
    }
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
    throw modelNotFound(name, catalogue, this.#manager);
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

function noBackend(manager: PluginManager): PlugboardError {
  const status = manager.getPluginStatus();
  const inactive = Object.values(status.plugins)
    .filter((plugin) => plugin.kinds.includes('backend-provider'))
    .map((plugin) => `${plugin.name} is ${plugin.state}${plugin.lastError ? ` (${plugin.lastError.message})` : ''}`);
  return new PlugboardError(
    'NO_BACKEND',
    inactive.length === 0
      ? 'No backend plugin is configured: enable one under `backends:` in the configuration'
      : `No backend is active: ${inactive.join('; ')}`,
  );
}

function modelNotFound(name: string, catalogue: ModelCatalogue, manager: PluginManager): PlugboardError {
  const available = catalogue.models.map((model) => model.qualifiedId);
  const slash = name.indexOf('/');
  const prefix = slash > 0 ? name.slice(0, slash) : undefined;
  const prefixPlugin = prefix === undefined ? undefined : manager.getPluginStatus().plugins[prefix];
  if (prefixPlugin !== undefined) {
    return new PlugboardError(
      'BACKEND_NOT_FOUND',
      `Backend "${prefix}" is not active (state ${prefixPlugin.state}${
        prefixPlugin.lastError ? `: ${prefixPlugin.lastError.message}` : ''
      })`,
      { status: 503, details: { param: 'model' } },
    );
  }
  const list = available.length === 0 ? 'none' : available.join(', ');
  if (catalogue.failures.length > 0) {
    const failed = catalogue.failures.map((failure) => `${failure.backend} (${failure.error.message})`).join('; ');
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
