import { serviceNotDeclared, serviceNotProvided } from '../errors/core-errors.ts';
import { PlugboardError } from '../errors/plugboard-error.ts';
import type { ServiceAccess, ServiceRef } from './service-ref.ts';

/** Where one consumed service comes from. */
export type ServiceBinding =
  /** A plugin provides it (what that plugin passed to `call.provide`). */
  | {
      readonly kind: 'plugin';
      readonly provider: string;
      readonly record: { readonly provided: ReadonlyMap<string, unknown> };
    }
  /** Nobody provides it: the ref's default (e.g. an in-memory store), shared by every consumer. */
  | { readonly kind: 'default' }
  /** An optional service nobody provides. */
  | { readonly kind: 'absent' };

/** `call.services` of one plugin instance: its bindings, fixed when it started. */
export class BoundServices implements ServiceAccess {
  readonly #plugin: string;
  readonly #bindings: ReadonlyMap<string, ServiceBinding>;
  readonly #defaults: (id: string) => unknown;

  constructor(plugin: string, bindings: ReadonlyMap<string, ServiceBinding>, defaults: (id: string) => unknown) {
    this.#plugin = plugin;
    this.#bindings = bindings;
    this.#defaults = defaults;
  }

  get<T>(ref: ServiceRef<T>): T {
    const found = this.find(ref);
    if (found === undefined) {
      throw new PlugboardError(
        'SERVICE_UNAVAILABLE',
        `Plugin "${this.#plugin}": optional service "${ref.id}" has no provider (use call.services.find)`,
        { plugin: this.#plugin, details: { service: ref.id } },
      );
    }
    return found;
  }

  find<T>(ref: ServiceRef<T>): T | undefined {
    const binding = this.#bindings.get(ref.id);
    if (binding === undefined) throw serviceNotDeclared(this.#plugin, ref.id);
    if (binding.kind === 'absent') return undefined;
    if (binding.kind === 'default') return this.#defaults(ref.id) as T;
    if (!binding.record.provided.has(ref.id)) throw serviceNotProvided(this.#plugin, ref.id, [binding.provider]);
    return binding.record.provided.get(ref.id) as T;
  }
}
