import type { ErrorCode } from './errors/catalogue.ts';
import { PlugboardError } from './errors/plugboard-error.ts';

/** A successful plugin operation. */
export interface PluginSuccess<T> {
  readonly ok: true;
  readonly value: T;
  /** Wall time of the call in milliseconds (0 when the plugin built the result itself). */
  readonly durationMs: number;
}

/** A failed plugin operation: the error says why, with a catalogue code. */
export interface PluginFailure {
  readonly ok: false;
  readonly error: PlugboardError;
  readonly durationMs: number;
}

/**
 * The typed result of a plugin operation: the TypeScript form of the spec's `PluginResult` monad.
 * Plugins may return a bare value or a result; the runtime always hands callers a result.
 */
export type PluginResult<T> = PluginSuccess<T> | PluginFailure;

/**
 * A success result.
 *
 * @example
 * ```ts
 * async processMessage(message) {
 *   return ok(withContent(message, message.content.trim()));
 * }
 * ```
 */
export function ok<T>(value: T, durationMs = 0): PluginSuccess<T> {
  return { ok: true, value, durationMs };
}

/**
 * A failure result. Pass a catalogue code and a message, or an existing PlugboardError.
 *
 * @example
 * ```ts
 * async healthCheck() {
 *   return reachable ? ok({ status: 'healthy' }) : fail('BACKEND_FAILED', 'upstream unreachable');
 * }
 * ```
 */
export function fail(codeOrError: ErrorCode | PlugboardError, message?: string, durationMs = 0): PluginFailure {
  const error =
    codeOrError instanceof PlugboardError ? codeOrError : new PlugboardError(codeOrError, message ?? codeOrError);
  return { ok: false, error, durationMs };
}

/**
 * True when `value` looks like a PluginResult (`{ ok: true, value }` or `{ ok: false, error }`).
 * Messages, contexts and responses never have an `ok` key, so the two cannot be confused.
 */
export function isPluginResult(value: unknown): value is PluginResult<unknown> {
  if (typeof value !== 'object' || value === null || !('ok' in value)) return false;
  const candidate = value as { ok: unknown; value?: unknown; error?: unknown };
  return (candidate.ok === true && 'value' in candidate) || (candidate.ok === false && 'error' in candidate);
}
