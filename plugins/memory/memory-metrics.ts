import type { MetricCounter, MetricsService } from '../../src/index.ts';

/** Memory's Prometheus metrics (shown by `GET /metrics`); names start with the plugin's name. */
export interface MemoryMetrics {
  /** `via`: `chat` (`x-conversation-id: new`) or `api` (`POST /v1/conversations`). */
  readonly conversationsCreated: MetricCounter<'via'>;
  readonly messagesStored: MetricCounter<'role'>;
  /** `result`: `made` or `failed`. */
  readonly summaries: MetricCounter<'result'>;
  /** `result`: `generated` (by the model), `fallback` (first words) or `failed`. */
  readonly titles: MetricCounter<'result'>;
  /** `operation`: `load`, `append_turn`, `append_reply`; `policy`: what on_store_error did. */
  readonly storeErrors: MetricCounter<'operation' | 'policy'>;
}

/**
 * Defines (or, after a reload, finds again) memory's metrics.
 *
 * @example
 * ```ts
 * const metrics = defineMemoryMetrics(call.services.get(metricsRef));
 * metrics.summaries.inc({ result: 'made' });
 * ```
 */
export function defineMemoryMetrics(metrics: MetricsService): MemoryMetrics {
  return {
    conversationsCreated: metrics.counter({
      name: 'memory_conversations_created_total',
      help: 'Conversations created, by how (chat: x-conversation-id new; api: POST /v1/conversations)',
      labelNames: ['via'],
    }),
    messagesStored: metrics.counter({
      name: 'memory_messages_stored_total',
      help: 'Messages appended to conversations, by role',
      labelNames: ['role'],
    }),
    summaries: metrics.counter({
      name: 'memory_summaries_total',
      help: 'Summaries of older turns, by result (made, failed)',
      labelNames: ['result'],
    }),
    titles: metrics.counter({
      name: 'memory_titles_total',
      help: 'Automatic titles, by result (generated, fallback, failed)',
      labelNames: ['result'],
    }),
    storeErrors: metrics.counter({
      name: 'memory_store_errors_total',
      help: 'Failed conversation store operations during chats, by operation and what on_store_error did (fail, stateless)',
      labelNames: ['operation', 'policy'],
    }),
  };
}
