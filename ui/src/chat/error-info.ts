import { ApiError } from '../api/api-error.ts';
import { StreamError } from '../api/chat-stream.ts';
import type { ErrorInfo } from './chat-types.ts';

/**
 * What the UI shows of any error: the server's message and hint when the server answered
 * (ApiError, or an error sent inside a stream), else the error's own message.
 *
 * @example
 * ```ts
 * errorInfo(new ApiError(503, 'NO_BACKEND', 'No backend is active', 'Start Ollama …'));
 * // { message: 'No backend is active', hint: 'Start Ollama …', code: 'NO_BACKEND' }
 * ```
 */
export function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof ApiError || error instanceof StreamError) {
    return {
      message: error.message,
      ...(error.hint === undefined ? {} : { hint: error.hint }),
      ...(error.code === undefined ? {} : { code: error.code }),
    };
  }
  if (error instanceof Error) return { message: error.message };
  return { message: String(error) };
}

/** The HTTP status of an ApiError (0 when unknown or not one). */
export function statusOf(error: unknown): number {
  return error instanceof ApiError ? error.status : 0;
}

/** An abort of our own (Stop, a newer request), which is no error to show. */
export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}
