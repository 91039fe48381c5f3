import { PlugboardError } from '../errors/plugboard-error.ts';

declare const serviceType: unique symbol;

/**
 * A typed name for something one plugin provides and others consume (a key-value store, a
 * vector index, a connection registry …), in the spirit of Backstage's service refs.
 *
 * Refs are compared by `id`, never by identity: a plugin that imports Plugboard's modules by a
 * deep path (or through CommonJS `require`) gets its own copy of them, so the
 * `keyValueStoreRef` it imports can be another object than the server's, with the same id.
 * (Imports of the public entry points share the server's modules: see module-loader.ts.)
 *
 * @example
 * ```ts
 * export const quotesRef = createServiceRef<QuoteBook>({
 *   id: 'acme.quotes',
 *   description: 'Quotes of the day',
 *   members: ['random'],
 * });
 * ```
 */
export interface ServiceRef<T> {
  /** Unique, dotted, lower-case: `plugboard.kv-store`, `acme.quotes`. */
  readonly id: string;
  readonly description: string | undefined;
  /** Members a provided value must have; checked when a plugin provides it (the structural check). */
  readonly members: readonly string[];
  /**
   * Builds the service when no plugin provides it (e.g. an in-memory store), so that a
   * consumer works with no configuration. Without it, a consumer of an unprovided service
   * fails to start, with an error that names both.
   */
  readonly defaultFactory: (() => T) | undefined;
  /** Carries `T` for the type checker only. */
  readonly [serviceType]?: T;
}

/** What {@link createServiceRef} takes. */
export interface ServiceRefOptions<T> {
  readonly id: string;
  readonly description?: string;
  readonly members?: readonly (keyof T & string)[];
  readonly defaultFactory?: () => T;
}

const SERVICE_ID = /^[a-z][a-z0-9]*(?:[.-][a-z0-9]+)*$/;

/**
 * Creates a service ref. Declare it once, in the module that defines the service's
 * interface, and import it in the providers and the consumers.
 *
 * @example
 * ```ts
 * export const quotesRef = createServiceRef<QuoteBook>({ id: 'acme.quotes', members: ['random'] });
 *
 * // the provider
 * definePlugin({
 *   metadata: { name: 'quote-book', version: '1.0.0', provides: [quotesRef] },
 *   initialize: (_config, call) => call.provide(quotesRef, { random: () => 'Carpe diem.' }),
 * });
 *
 * // a consumer
 * defineFeatureExtension({
 *   metadata: { name: 'quote-of-the-day', version: '1.0.0', consumes: [quotesRef] },
 *   extend: (context, call) => withSystemNote(context, call.services.get(quotesRef).random()),
 * });
 * ```
 * @throws PlugboardError `SERVICE_INVALID` when the id is not dotted lower-case.
 */
export function createServiceRef<T>(options: ServiceRefOptions<T>): ServiceRef<T> {
  if (!SERVICE_ID.test(options.id)) {
    throw new PlugboardError(
      'SERVICE_INVALID',
      `Service id "${options.id}" must be dotted lower-case words, such as "acme.quotes" or "plugboard.kv-store"`,
    );
  }
  return Object.freeze({
    id: options.id,
    description: options.description,
    members: Object.freeze([...(options.members ?? [])]),
    defaultFactory: options.defaultFactory,
  });
}

/** A consumed service that may be absent: `call.services.find(ref)` is then `undefined`. */
export interface OptionalServiceDependency<T = unknown> {
  readonly ref: ServiceRef<T>;
  readonly optional: true;
}

/** What `metadata.consumes` lists: a ref (required) or `optionalService(ref)`. */
export type ServiceDependency = ServiceRef<unknown> | OptionalServiceDependency;

/**
 * Marks a consumed service as optional: the plugin starts without it, and
 * `call.services.find(ref)` returns `undefined` when no plugin provides it.
 *
 * @example
 * ```ts
 * metadata: { name: 'answer-cache', version: '1.0.0', consumes: [optionalService(keyValueStoreRef)] },
 * ```
 */
export function optionalService<T>(ref: ServiceRef<T>): OptionalServiceDependency<T> {
  return Object.freeze({ ref, optional: true as const });
}

/** The ref and whether it is optional, whichever form the dependency was written in. */
export function dependencyOf(dependency: ServiceDependency): { ref: ServiceRef<unknown>; optional: boolean } {
  return 'ref' in dependency ? { ref: dependency.ref, optional: true } : { ref: dependency, optional: false };
}

/**
 * The services a plugin consumes, as the runtime hands them to it through `call.services`.
 *
 * @example
 * ```ts
 * async initialize(config, call) {
 *   this.store = call.services.get(keyValueStoreRef).withPrefix('rate-limit:');
 * }
 * ```
 */
export interface ServiceAccess {
  /**
   * The service, as provided by the plugin bound to it (or its default).
   * @throws PlugboardError `SERVICE_NOT_DECLARED` when the plugin did not list the ref in
   *   `metadata.consumes` (the runtime orders start-up by what is declared);
   *   `SERVICE_UNAVAILABLE` when an optional service has no provider (use `find`).
   */
  get<T>(ref: ServiceRef<T>): T;
  /** Like `get`, but `undefined` for an optional service that nobody provides. */
  find<T>(ref: ServiceRef<T>): T | undefined;
}
