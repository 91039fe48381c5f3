import type { PlugboardError } from '../errors/plugboard-error.ts';
import { PluginMetrics } from '../execution/call-metrics.ts';
import type { CallObserver } from '../execution/call-observer.ts';
import type { CircuitBreakerOptions } from '../execution/circuit-breaker.ts';
import { PluginBreakers } from '../execution/plugin-breakers.ts';
import type { HookName } from '../hooks/hook-map.ts';
import type { Logger } from '../logger.ts';
import { BoundServices, type ServiceBinding } from '../services/bound-services.ts';
import type { ServiceAccess } from '../services/service-ref.ts';
import type { AnyPlugin } from './kinds.ts';
import type { PluginConfig, PluginKind, PluginSettings } from './metadata.ts';
import { PluginStateMachine } from './state.ts';

/**
 * Everything the runtime keeps about one loaded plugin: the instance, its resolved
 * configuration, state, breakers, metrics, services and in-flight calls.
 */
export class PluginRecord {
  readonly name: string;
  readonly version: string;
  readonly states: PluginStateMachine;
  readonly metrics = new PluginMetrics();
  /** One circuit breaker per operation (see PluginBreakers). */
  readonly breakers: PluginBreakers;
  readonly logger: Logger;
  /** The most recent error (load, init, call, shutdown), for status reports. */
  lastError: PlugboardError | undefined;
  /** Watches this plugin's calls (tracing); the manager sets it. Undefined: not watched. */
  observer: CallObserver | undefined;
  /** What this plugin provided in `initialize`, by service id. */
  readonly provided = new Map<string, unknown>();
  #bindings: ReadonlyMap<string, ServiceBinding> = new Map();
  #services: ServiceAccess;
  #inFlight = 0;
  #drainWaiters: (() => void)[] = [];
  /** The last failure message logged with its stack, per operation. */
  readonly #loggedFailures = new Map<string, string>();

  constructor(
    readonly plugin: AnyPlugin,
    readonly kinds: ReadonlySet<PluginKind>,
    /** Hooks the plugin handles through `on<Hook>` methods. */
    readonly hookMethods: readonly HookName[],
    public config: PluginConfig,
    /** The settings it was loaded with (to build a fresh instance with the same ones). */
    public settings: PluginSettings,
    /** The file it came from, when loaded from disk. */
    readonly source: string | undefined,
    /** Order of loading: ties within a priority run in this order. */
    readonly loadOrder: number,
    breakerOptions: CircuitBreakerOptions,
    logger: Logger,
  ) {
    this.name = plugin.metadata.name;
    this.version = plugin.metadata.version;
    this.states = new PluginStateMachine(this.name);
    this.breakers = new PluginBreakers(breakerOptions);
    this.logger = logger.child({ plugin: this.name });
    this.#services = new BoundServices(this.name, this.#bindings, () => undefined);
  }

  get state() {
    return this.states.state;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** The provider of each service it consumes, by service id (resolved before it starts). */
  get bindings(): ReadonlyMap<string, ServiceBinding> {
    return this.#bindings;
  }

  /** What `call.services` answers for this plugin. */
  get services(): ServiceAccess {
    return this.#services;
  }

  /** Sets the providers of its services (before it starts; fixed for the life of the instance). */
  bindServices(bindings: ReadonlyMap<string, ServiceBinding>, defaults: (id: string) => unknown): void {
    this.#bindings = bindings;
    this.#services = new BoundServices(this.name, bindings, defaults);
  }

  /**
   * What it must start after and stop before: the plugins named in `metadata.dependencies`
   * (with their semver range) and the providers of the services it consumes (any version).
   */
  get dependencies(): Readonly<Record<string, string>> {
    const declared = this.plugin.metadata.dependencies ?? {};
    let providers: Record<string, string> | undefined;
    for (const binding of this.#bindings.values()) {
      if (binding.kind !== 'plugin' || binding.provider === this.name || binding.provider in declared) continue;
      providers ??= {};
      providers[binding.provider] = '*';
    }
    return providers === undefined ? declared : { ...declared, ...providers };
  }

  /**
   * True the first time `message` fails `operation` (since another failure of it): the
   * failure is then logged with its stack; repeats of the same failure are logged without.
   */
  isNewFailure(operation: string, message: string): boolean {
    if (this.#loggedFailures.get(operation) === message) return false;
    this.#loggedFailures.set(operation, message);
    return true;
  }

  /** Marks work in progress that unloading must wait for. Pair with {@link release}. */
  hold(): void {
    this.#inFlight++;
  }

  release(): void {
    this.#inFlight--;
    if (this.#inFlight === 0 && this.#drainWaiters.length > 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Resolves when no call is in flight, or after `timeoutMs`; true if drained. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.#inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#drainWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
