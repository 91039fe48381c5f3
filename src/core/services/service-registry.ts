import { serviceAmbiguous, serviceNotDeclared, serviceNotProvided } from '../errors/core-errors.ts';
import { PlugboardError } from '../errors/plugboard-error.ts';
import type { Logger } from '../logger.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import type { ServiceBinding } from './bound-services.ts';
import { dependencyOf, type ServiceRef } from './service-ref.ts';

/**
 * The services of one plugin manager: which provider each consumer gets (resolved before it
 * starts, against the plugins that will be running), the default instances of services that
 * nobody provides, and the check of what a provider hands over.
 */
export class ServiceRegistry {
  readonly #defaults = new Map<string, unknown>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /**
   * Installs the runtime's own instance of a service (the manager's model access): consumers
   * bound to no plugin get it, as they would a ref's default.
   */
  install<T>(ref: ServiceRef<T>, value: T): void {
    this.#defaults.set(ref.id, value);
  }

  /** The default instance of a service, once created by {@link resolve}. */
  readonly defaultOf = (id: string): unknown => this.#defaults.get(id);

  /**
   * Binds each service `consumer` declares to its provider among `candidates` (the plugins that
   * will be running with it): the one its settings name, else the only one that provides it,
   * else the ref's default, else nothing for an optional service.
   *
   * @param inactive loaded plugins that cannot serve now (in ERROR, disabled), named in errors
   * @returns the bindings, or the error that keeps the consumer from starting
   */
  resolve(
    consumer: PluginRecord,
    candidates: Iterable<PluginRecord>,
    inactive: Iterable<PluginRecord> = [],
  ): { readonly bindings: ReadonlyMap<string, ServiceBinding> } | { readonly error: PlugboardError } {
    const consumes = consumer.plugin.metadata.consumes ?? [];
    const bindings = new Map<string, ServiceBinding>();
    if (consumes.length === 0) return { bindings };
    const ready = [...candidates].filter((record) => record !== consumer);
    const idle = [...inactive].filter((record) => record !== consumer);
    const chosen = consumer.settings.services ?? {};
    for (const dependency of consumes) {
      const { ref, optional } = dependencyOf(dependency);
      const providers = ready.filter((record) => provides(record, ref.id));
      const boundTo = chosen[ref.id];
      if (boundTo !== undefined) {
        const provider = providers.find((record) => record.name === boundTo);
        if (provider === undefined) {
          const known = idle.filter((record) => record.name === boundTo && provides(record, ref.id));
          return { error: serviceNotProvided(consumer.name, ref.id, known.map(nameOf), boundTo, ref.description) };
        }
        bindings.set(ref.id, { kind: 'plugin', provider: provider.name, record: provider });
        continue;
      }
      if (providers.length > 1) return { error: serviceAmbiguous(consumer.name, ref.id, providers.map(nameOf)) };
      const provider = providers[0];
      if (provider !== undefined) {
        bindings.set(ref.id, { kind: 'plugin', provider: provider.name, record: provider });
      } else if (this.#defaults.has(ref.id) || ref.defaultFactory !== undefined) {
        this.#ensureDefault(ref);
        bindings.set(ref.id, { kind: 'default' });
      } else if (optional) {
        bindings.set(ref.id, { kind: 'absent' });
      } else {
        const known = idle.filter((record) => provides(record, ref.id));
        return { error: serviceNotProvided(consumer.name, ref.id, known.map(nameOf), undefined, ref.description) };
      }
    }
    return { bindings };
  }

  /**
   * The `provide` of one plugin's `initialize`: checks the ref is declared and the value has
   * the members the ref lists, and records it.
   */
  provideFor(record: PluginRecord): <T>(ref: ServiceRef<T>, value: T) => void {
    return (ref, value) => {
      if (!provides(record, ref.id)) throw serviceNotDeclared(record.name, ref.id);
      const missing = ref.members.filter(
        (member) => typeof (value as Record<string, unknown> | null)?.[member] !== 'function',
      );
      if (value === null || typeof value !== 'object' || missing.length > 0) {
        throw new PlugboardError(
          'SERVICE_INVALID',
          `Plugin "${record.name}" provided "${ref.id}" without ${missing.length > 0 ? `the methods ${missing.join(', ')}` : 'an object'}`,
          { plugin: record.name, details: { service: ref.id, missing } },
        );
      }
      record.provided.set(ref.id, value);
    };
  }

  /** The services a plugin declares but did not provide during `initialize`. */
  missingProvisions(record: PluginRecord): readonly string[] {
    return (record.plugin.metadata.provides ?? []).map((ref) => ref.id).filter((id) => !record.provided.has(id));
  }

  /** Closes the default instances that can be closed (at manager shutdown, after every plugin stopped). */
  async close(): Promise<void> {
    const defaults = [...this.#defaults.entries()];
    this.#defaults.clear();
    for (const [id, value] of defaults) {
      const close = (value as { close?: () => unknown } | null)?.close;
      if (typeof close !== 'function') continue;
      try {
        await close.call(value);
      } catch (error) {
        this.#logger.warn(
          { operation: 'shutdown', service: id, cause: String(error) },
          'default service failed to close',
        );
      }
    }
  }

  #ensureDefault(ref: ServiceRef<unknown>): void {
    if (this.#defaults.has(ref.id)) return;
    this.#defaults.set(ref.id, ref.defaultFactory!());
    this.#logger.info(
      { operation: 'services', service: ref.id },
      `no plugin provides service "${ref.id}": using its built-in default (in this process only)`,
    );
  }
}

function provides(record: PluginRecord, id: string): boolean {
  return (record.plugin.metadata.provides ?? []).some((ref) => ref.id === id);
}

function nameOf(record: PluginRecord): string {
  return record.name;
}
