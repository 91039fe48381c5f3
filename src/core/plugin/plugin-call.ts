import type { Logger } from '../logger.ts';

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
}
