import type { Logger } from '../logger.ts';
import type { ServiceAccess, ServiceRef } from '../services/service-ref.ts';
import type { JsonValue } from '../stores/json.ts';

/**
 * What the runtime passes to every plugin method besides its payload.
 *
 * @example
 * ```ts
 * async chat(context, call) {
 *   const response = await fetch(url, { signal: call.signal });
 *   call.logger.debug({ status: response.status }, 'upstream answered');
 * }
 * ```
 */
export interface PluginCall {
  /** The plugin being called. */
  readonly plugin: string;
  /** The request being served, when the call belongs to one. */
  readonly requestId: string | undefined;
  /** Aborted when the caller cancels or the call times out: pass it to any I/O. */
  readonly signal: AbortSignal;
  /** A logger bound to the plugin and request. */
  readonly logger: Logger;
  /** The services the plugin declared in `metadata.consumes`, from their providers. */
  readonly services: ServiceAccess;
  /**
   * Sets a header on the response to the request being served (over HTTP: the reply's
   * header; a streamed reply sends its head with the first chunk, so only what is set before
   * then — in `processRequest`, `answerRequest`, input processors, extensions — gets out).
   * The server refuses the headers that frame the response (`content-type`, `content-length`,
   * `connection` …) and malformed ones. To refuse a request with headers, use `reject(…, {
   * headers })` instead.
   *
   * @returns false when the header cannot be sent: no request, no HTTP response, its head
   *   already sent, or a name the server does not allow.
   * @example
   * ```ts
   * processRequest(context, call) {
   *   call.setResponseHeader('x-quota-remaining', String(remaining));
   *   return context;
   * }
   * ```
   */
  setResponseHeader(name: string, value: string): boolean;
  /**
   * Adds data for the client to the response of the request being served: the server sends
   * what plugins set as the `plugboard` object of the reply — on the OpenAI API in the
   * completion (and in the last chunk of a stream), on the Ollama API in the reply (the `done`
   * line of a stream). RAG puts its citations there, the tool loop the tools it ran. Keys are
   * the plugin's to choose (say its name); setting a key again replaces its value. Set it
   * before the reply ends (a stream's last chunk carries it).
   *
   * @returns false when there is no request, the key is empty or `degraded` (the server's
   *   own), or the value is not JSON (`undefined`, functions, non-finite numbers, cycles).
   * @example
   * ```ts
   * extend(context, call) {
   *   call.setResponseData('citations', hits.map((hit, n) => ({ source: n + 1, document: hit.metadata.document })));
   *   return withSources(context, hits);
   * }
   * ```
   */
  setResponseData(key: string, value: JsonValue): boolean;
}

/**
 * What `initialize` gets: a {@link PluginCall} that can also provide the services the plugin
 * declares in `metadata.provides`.
 *
 * @example
 * ```ts
 * initialize(config, call) {
 *   call.provide(keyValueStoreRef, new RedisKeyValueStore(call.services.get(connectionsRef).redis('cache')));
 * }
 * ```
 */
export interface InitializeCall extends PluginCall {
  /**
   * Provides a service declared in `metadata.provides`; consumers get it through
   * `call.services`. @throws PlugboardError `SERVICE_NOT_DECLARED` for an undeclared ref,
   * `SERVICE_INVALID` for a value missing a member the ref requires.
   */
  provide<T>(ref: ServiceRef<T>, value: T): void;
}
