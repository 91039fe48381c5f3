import { PlugboardError, toPlugboardError } from '../errors/plugboard-error.ts';
import type { DeadlineScheduler } from '../execution/deadline-scheduler.ts';
import type { RequestScope } from '../execution/request-scope.ts';
import type { BackendReply, ChatChunk } from '../model/reply.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import { validateChunk } from './validators.ts';

/**
 * Reads a backend's reply as chunks, whatever form it came in (a whole completion is one
 * chunk). A stream is read under the backend's fault isolation: each chunk must arrive
 * within the backend's timeout (an idle timeout, so long replies are fine), the request's
 * abort stops it and closes the backend's iterator, and every chunk is validated.
 * The backend stays "in flight" until the stream ends, so it is not unloaded mid-reply.
 */
export async function* readBackendReply(
  reply: BackendReply,
  record: PluginRecord,
  deadlines: DeadlineScheduler,
  scope: RequestScope,
): AsyncGenerator<ChatChunk> {
  if (!(Symbol.asyncIterator in reply)) {
    const { message } = reply;
    yield {
      content: message.content,
      ...(message.thinking === undefined ? {} : { thinking: message.thinking }),
      ...(message.toolCalls === undefined ? {} : { toolCalls: message.toolCalls }),
      ...(reply.usage === undefined ? {} : { usage: reply.usage }),
      ...(reply.finishReason === undefined ? {} : { finishReason: reply.finishReason }),
    };
    return;
  }
  const iterator = reply[Symbol.asyncIterator]();
  const start = performance.now();
  record.hold();
  let finished = false;
  try {
    while (true) {
      const next = await nextWithin(iterator, record, deadlines, scope);
      if (next.done) break;
      yield validateChunk(next.value);
    }
    finished = true;
    record.metrics.record('chat:stream', 'success', performance.now() - start);
  } catch (thrown) {
    finished = true;
    const error = scope.abortError ?? toStreamError(thrown, record);
    if (error.code !== 'REQUEST_ABORTED') {
      record.metrics.record(
        'chat:stream',
        error.code === 'PLUGIN_TIMEOUT' ? 'timeout' : 'failure',
        performance.now() - start,
      );
      record.lastError = error;
      void record.breaker.run(() => Promise.reject(error)).catch(() => undefined);
    }
    throw error;
  } finally {
    // Consumer stopped early (client gone) or we failed: let the backend release its resources.
    if (!finished || scope.abortError) void Promise.resolve(iterator.return?.()).catch(() => undefined);
    record.release();
  }
}

function nextWithin(
  iterator: AsyncIterator<ChatChunk>,
  record: PluginRecord,
  deadlines: DeadlineScheduler,
  scope: RequestScope,
): Promise<IteratorResult<ChatChunk>> {
  if (scope.abortError) return Promise.reject(scope.abortError);
  return new Promise((resolve, reject) => {
    const timeoutMs = record.config.timeoutMs;
    const deadline = deadlines.schedule(timeoutMs, () => {
      stop();
      reject(
        new PlugboardError('PLUGIN_TIMEOUT', `Backend "${record.name}" sent nothing for ${timeoutMs} ms`, {
          plugin: record.name,
          hook: 'chat:stream',
          details: { timeoutMs },
        }),
      );
    });
    const stop = scope.onAbort((error) => {
      deadline.cancel();
      reject(error);
    });
    iterator.next().then(
      (result) => {
        deadline.cancel();
        stop();
        resolve(result);
      },
      (error: unknown) => {
        deadline.cancel();
        stop();
        reject(error);
      },
    );
  });
}

function toStreamError(thrown: unknown, record: PluginRecord): PlugboardError {
  const error = toPlugboardError(thrown, 'BACKEND_FAILED', { plugin: record.name, hook: 'chat:stream' });
  if (error.code === 'PLUGIN_INVALID_RESULT' && error.plugin === undefined) {
    return new PlugboardError(error.code, `Backend "${record.name}": ${error.message}`, {
      plugin: record.name,
      hook: 'chat:stream',
    });
  }
  return error;
}
