import type { FastifyReply } from 'fastify';
import { PlugboardError } from '../core/errors/plugboard-error.ts';

/** The cancellation signal of one HTTP request, and how to release it. */
export interface RequestSignal {
  readonly signal: AbortSignal;
  /** Stops watching the connection and the clock (call when the response is complete). */
  dispose(): void;
}

/**
 * A signal that aborts when the client disconnects before the response is complete, when
 * the request outlives `timeoutMs`, or when `shutdown` aborts (a forced shutdown). The
 * pipeline passes it to every plugin and to the backend, so a closed tab stops the model.
 */
export function requestSignal(reply: FastifyReply, timeoutMs: number, shutdown: AbortSignal): RequestSignal {
  const controller = new AbortController();
  const response = reply.raw;
  const onClose = (): void => {
    if (!response.writableFinished) {
      controller.abort(
        new PlugboardError('REQUEST_ABORTED', 'The client disconnected before the response was complete'),
      );
    }
  };
  const onShutdown = (): void =>
    controller.abort(
      new PlugboardError('SERVER_SHUTTING_DOWN', 'The server shut down before the response was complete'),
    );
  const timer = setTimeout(
    () =>
      controller.abort(
        new PlugboardError('REQUEST_TIMEOUT', `The request did not finish within ${Math.round(timeoutMs / 1000)} s`),
      ),
    timeoutMs,
  );
  timer.unref();
  response.once('close', onClose);
  if (shutdown.aborted) onShutdown();
  else shutdown.addEventListener('abort', onShutdown, { once: true });
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      response.off('close', onClose);
      shutdown.removeEventListener('abort', onShutdown);
    },
  };
}

/**
 * The error to report for an aborted request: the signal's reason when it is one of ours
 * (timeout, shutdown, disconnect), else `fallback`.
 */
export function abortReason(signal: AbortSignal, fallback: unknown): unknown {
  return signal.aborted && signal.reason instanceof PlugboardError ? signal.reason : fallback;
}
