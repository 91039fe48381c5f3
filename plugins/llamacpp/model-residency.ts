/**
 * Which models are in memory, at most `maxLoaded` at once. A request takes a lease on its
 * model (loading it if needed) and gives it back when done; a model nobody holds is idle.
 *
 * - A model already loaded (or loading) is shared at once: requests arriving during a load
 *   wait for that same load.
 * - Another model, with the bound reached: the least recently used idle model is unloaded
 *   first, and only once it is gone does the new one load (never more than `maxLoaded` in
 *   memory, not even for a moment). When none is idle, the request waits in line, first come
 *   first served; its signal (the caller's cancellation, the call's timeout) takes it out.
 * - So that a busy model cannot keep a waiting request out forever, the least recently used
 *   busy model is then *draining*: it finishes what it has, but new requests for it queue
 *   behind the waiting one. Two models with max 1 therefore take turns instead of one
 *   starving the other; each turn costs a load.
 *
 * Generic over what a loaded model is (the plugin's engine), so the scheduling stands alone.
 */

/** What the residency needs of a loaded model. */
export interface Unloadable {
  dispose(): Promise<void>;
}

/** The model a request wants. */
export interface ModelRef {
  readonly id: string;
  readonly path: string;
}

/** A hold on a loaded model: release it once the request is done with it (once; more is ignored). */
export interface ModelLease<E> {
  readonly engine: E;
  release(): void;
}

/** A model in memory, or on its way in. */
export interface ResidentInfo {
  readonly id: string;
  readonly path: string;
  readonly state: 'loading' | 'ready' | 'unloading';
  /** Requests holding (or waiting for the load of) the model. */
  readonly users: number;
  /** New requests for it wait: a request for another model is waiting for its place. */
  readonly draining: boolean;
}

/** Options of {@link ModelResidency}. */
export interface ModelResidencyOptions<M extends ModelRef, E> {
  /** Models in memory at once (≥ 1). */
  readonly maxLoaded: number;
  /** Loads a model. A rejection fails the requests waiting for it; the next request tries again. */
  readonly load: (model: M) => Promise<E>;
  /** Told when a model was unloaded (or failed to), e.g. to log it. */
  readonly onUnloaded?: (model: M, error?: unknown) => void;
  /** The error for requests after (or waiting at) {@link ModelResidency.close}. */
  readonly closedError: () => Error;
}

interface Resident<M, E> {
  readonly model: M;
  readonly id: string;
  readonly path: string;
  state: 'loading' | 'ready' | 'unloading';
  engine: E | undefined;
  readonly ready: Promise<E>;
  users: number;
  lastUsed: number;
  draining: boolean;
}

interface Waiter<M, E> {
  readonly model: M;
  readonly signal: AbortSignal;
  readonly resolve: (lease: Promise<ModelLease<E>>) => void;
  readonly reject: (error: unknown) => void;
  readonly onAbort: () => void;
}

/**
 * @example
 * ```ts
 * const residency = new ModelResidency<ModelRef, Engine>({ maxLoaded: 1, load: (model) => Engine.load(model.path), closedError });
 * const lease = await residency.acquire({ id: 'qwen', path: '/models/qwen.gguf' }, signal);
 * try { await lease.engine.generate(…); } finally { lease.release(); }
 * ```
 */
export class ModelResidency<M extends ModelRef, E extends Unloadable> {
  readonly #options: ModelResidencyOptions<M, E>;
  /** Loading and loaded models, by id. */
  readonly #residents = new Map<string, Resident<M, E>>();
  /** Models being unloaded: they still hold memory, so they count against the bound. */
  readonly #unloading = new Set<Promise<void>>();
  readonly #line: Waiter<M, E>[] = [];
  #clock = 0;
  #closed = false;

  constructor(options: ModelResidencyOptions<M, E>) {
    if (!Number.isInteger(options.maxLoaded) || options.maxLoaded < 1) throw new RangeError('maxLoaded must be ≥ 1');
    this.#options = options;
  }

  /** The models loading or loaded (not those being unloaded), least recently used first. */
  get residents(): readonly ResidentInfo[] {
    return [...this.#residents.values()]
      .sort((a, b) => a.lastUsed - b.lastUsed)
      .map(({ id, path, state, users, draining }) => ({ id, path, state, users, draining }));
  }

  /** Requests waiting for a model to get a place in memory. */
  get waiting(): number {
    return this.#line.length;
  }

  /** The loaded engine of `id`, if it is loaded. */
  engineOf(id: string): E | undefined {
    const resident = this.#residents.get(id);
    return resident?.state === 'ready' ? resident.engine : undefined;
  }

  /** The id of the model used last (loading or loaded), if any. */
  get lastUsed(): string | undefined {
    return this.residents.at(-1)?.id;
  }

  /**
   * A lease on `model`, loaded if needed. Rejects with the signal's reason when it is aborted
   * while waiting (the load it waits for goes on: others may want it), with the load's error,
   * or with `closedError()` after close.
   */
  acquire(model: M, signal: AbortSignal): Promise<ModelLease<E>> {
    if (this.#closed) return Promise.reject(this.#options.closedError());
    if (signal.aborted) return Promise.reject(signal.reason);
    const resident = this.#residents.get(model.id);
    if (resident !== undefined && !resident.draining) return this.#join(resident, signal);
    if (resident === undefined && this.#line.length === 0 && this.#occupied < this.#options.maxLoaded) {
      return this.#join(this.#startLoad(model), signal);
    }
    return new Promise<ModelLease<E>>((resolve, reject) => {
      const waiter: Waiter<M, E> = {
        model,
        signal,
        resolve,
        reject,
        onAbort: () => {
          const index = this.#line.indexOf(waiter);
          if (index < 0) return;
          this.#line.splice(index, 1);
          reject(signal.reason);
          this.#pump(); // a model drained for this request may serve again
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.#line.push(waiter);
      this.#pump();
    });
  }

  /** Unloads the idle models `keep` says no to (e.g. their file was removed). */
  unloadIdle(keep: (id: string) => boolean): void {
    for (const resident of [...this.#residents.values()]) {
      if (resident.state === 'ready' && resident.users === 0 && !keep(resident.id)) this.#unload(resident);
    }
    this.#pump();
  }

  /** Refuses new requests, fails those in line, and unloads every model (after its load, if loading). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#line.splice(0)) {
      waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.reject(this.#options.closedError());
    }
    const residents = [...this.#residents.values()];
    this.#residents.clear();
    await Promise.all([
      ...this.#unloading,
      ...residents.map(async (resident) => {
        const engine = await resident.ready.catch(() => undefined);
        await engine?.dispose().catch((error: unknown) => this.#options.onUnloaded?.(resident.model, error));
      }),
    ]);
  }

  // ——— internals ———

  /** Models taking memory: loading, loaded, being unloaded. */
  get #occupied(): number {
    return this.#residents.size + this.#unloading.size;
  }

  #startLoad(model: M): Resident<M, E> {
    const ready = this.#options.load(model);
    const resident: Resident<M, E> = {
      model,
      id: model.id,
      path: model.path,
      state: 'loading',
      engine: undefined,
      ready,
      users: 0,
      lastUsed: ++this.#clock,
      draining: false,
    };
    this.#residents.set(model.id, resident);
    ready.then(
      (engine) => {
        resident.engine = engine;
        if (this.#residents.get(model.id) === resident) {
          resident.state = 'ready';
          if (resident.users === 0) this.#pump(); // everyone gave up meanwhile: it is idle
        }
        // Else close() took it out and disposes it.
      },
      () => {
        // Not remembered: the next request tries again (a fixed file is then served).
        if (this.#residents.get(model.id) === resident) this.#residents.delete(model.id);
        this.#pump();
      },
    );
    return resident;
  }

  #join(resident: Resident<M, E>, signal: AbortSignal): Promise<ModelLease<E>> {
    resident.users++;
    resident.lastUsed = ++this.#clock;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      resident.users--;
      resident.lastUsed = ++this.#clock;
      if (resident.users === 0) this.#pump();
    };
    return untilAborted(resident.ready, signal).then(
      (engine): ModelLease<E> => ({ engine, release }),
      (error: unknown) => {
        release();
        throw error;
      },
    );
  }

  #unload(resident: Resident<M, E>): void {
    this.#residents.delete(resident.id);
    resident.state = 'unloading';
    const unloading = (async () => {
      try {
        await resident.engine?.dispose();
        this.#options.onUnloaded?.(resident.model);
      } catch (error) {
        this.#options.onUnloaded?.(resident.model, error);
      }
    })();
    this.#unloading.add(unloading);
    void unloading.then(() => {
      this.#unloading.delete(unloading);
      this.#pump();
    });
  }

  /** Serves the line as far as the bound allows; called after every change. */
  #pump(): void {
    if (this.#closed) return;
    this.#balanceDraining();
    for (let index = 0; index < this.#line.length; ) {
      const waiter = this.#line[index]!;
      const resident = this.#residents.get(waiter.model.id);
      if (resident !== undefined) {
        if (resident.draining) {
          index++; // waits until its model is unloaded (or serves again)
          continue;
        }
        this.#serve(index, resident);
        continue;
      }
      if (this.#occupied < this.#options.maxLoaded) {
        this.#serve(index, this.#startLoad(waiter.model));
        continue;
      }
      const idle = this.#idleVictim();
      if (idle !== undefined) this.#unload(idle); // the next #pump, once it is gone, loads the model
      break; // first come, first served: later requests for other models wait behind this one
    }
    this.#balanceDraining(); // again: what was served above may need fewer (or more) drained
  }

  #serve(index: number, resident: Resident<M, E>): void {
    const [waiter] = this.#line.splice(index, 1);
    waiter!.signal.removeEventListener('abort', waiter!.onAbort);
    waiter!.resolve(this.#join(resident, waiter!.signal));
  }

  /** The idle loaded model to unload: a draining one first, else the least recently used. */
  #idleVictim(): Resident<M, E> | undefined {
    let victim: Resident<M, E> | undefined;
    for (const resident of this.#residents.values()) {
      if (resident.state !== 'ready' || resident.users > 0) continue;
      if (
        victim === undefined ||
        (resident.draining && !victim.draining) ||
        (resident.draining === victim.draining && resident.lastUsed < victim.lastUsed)
      ) {
        victim = resident;
      }
    }
    return victim;
  }

  /**
   * As many busy models draining as the models waiting for a place need: those that will not
   * get one from a free slot, an unload under way, or an idle model. Fewer waiting (a request
   * gave up): models stop draining, most recently used first.
   */
  #balanceDraining(): void {
    const wanted = new Set(this.#line.map((waiter) => waiter.model.id).filter((id) => !this.#residents.has(id)));
    const residents = [...this.#residents.values()].sort((a, b) => a.lastUsed - b.lastUsed);
    const idle = residents.filter(
      (resident) => resident.state === 'ready' && resident.users === 0 && !resident.draining,
    ).length;
    const free = this.#options.maxLoaded - this.#occupied;
    const draining = residents.filter((resident) => resident.draining);
    let excess = draining.length + this.#unloading.size + idle + free - wanted.size;
    for (const resident of draining.reverse()) {
      if (excess <= 0) break;
      resident.draining = false;
      excess--;
    }
    for (const resident of residents) {
      if (excess >= 0) break;
      if (resident.draining || (resident.state === 'ready' && resident.users === 0)) continue;
      resident.draining = true;
      excess++;
    }
  }
}

/** `promise`, or the signal's reason as soon as it is aborted (the promise goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
