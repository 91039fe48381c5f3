import type { PlugboardError } from '../errors/plugboard-error.ts';
import { PluginMetrics } from '../execution/call-metrics.ts';
import type { CallObserver } from '../execution/call-observer.ts';
import { type CircuitBreakerOptions, PluginCircuitBreaker } from '../execution/circuit-breaker.ts';
import type { HookName } from '../hooks/hook-map.ts';
import type { Logger } from '../logger.ts';
import type { AnyPlugin } from './kinds.ts';
import type { PluginConfig, PluginKind } from './metadata.ts';
import { PluginStateMachine } from './state.ts';

/**
 * Everything the runtime keeps about one loaded plugin: the instance, its resolved
 * configuration, state, breaker, metrics and in-flight calls.
 */
export class PluginRecord {
  readonly name: string;
  readonly version: string;
  readonly states: PluginStateMachine;
  readonly metrics = new PluginMetrics();
  readonly breaker: PluginCircuitBreaker;
  readonly logger: Logger;
  /** The most recent error (load, init, call, shutdown), for status reports. */
  lastError: PlugboardError | undefined;
  /** Watches this plugin's calls (tracing); the manager sets it. Undefined: not watched. */
  observer: CallObserver | undefined;
  #inFlight = 0;
  #drainWaiters: (() => void)[] = [];

  constructor(
    readonly plugin: AnyPlugin,
    readonly kinds: ReadonlySet<PluginKind>,
    /** Hooks the plugin handles through `on<Hook>` methods. */
    readonly hookMethods: readonly HookName[],
    public config: PluginConfig,
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
    this.breaker = new PluginCircuitBreaker(breakerOptions);
    this.logger = logger.child({ plugin: this.name });
  }

  get state() {
    return this.states.state;
  }

  get inFlight(): number {
    return this.#inFlight;
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
