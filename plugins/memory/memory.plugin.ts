/**
 * The memory feature extension: conversations persisted per principal. A request that names
 * a conversation (`x-conversation-id`, or the body's conversation id) gets its stored history
 * under a token budget — system prompt, summary of older turns, the recent turns that fit —
 * and its new messages and reply are stored; summaries and titles are made in the background;
 * the conversation API (`/v1/conversations`) lists, reads, renames, deletes and exports them.
 * Without a conversation id a request is stateless, as if the plugin were not there. See README.md.
 */
import {
  type ConversationStore,
  conversationStoreRef,
  defineFeatureExtension,
  type FeatureExtension,
  MemoryConversationStore,
  metricsRef,
  modelAccessRef,
} from '../../src/index.ts';
import { BackgroundTasks } from './background-tasks.ts';
import { type MemoryConfig, memoryConfigSchema } from './config.ts';
import { conversationEndpoints } from './conversation-api.ts';
import { ConversationMemory } from './conversation-memory.ts';
import { memoryErrors } from './errors.ts';
import { defineMemoryMetrics, type MemoryMetrics } from './memory-metrics.ts';
import { TokenCounter } from './token-count.ts';

/** What a test may reach of a running memory plugin. */
export interface MemoryPlugin extends FeatureExtension<MemoryConfig> {
  /** Resolves once the summaries and titles started so far are done. */
  settled(): Promise<void>;
}

/**
 * A fresh memory plugin (a config reload makes a new one next to the running one; the
 * conversations live in the store, not in the instance).
 *
 * Fail-closed: a message the user believes saved must be saved, so a failure of the plugin
 * (a timeout, a bug, the store with `on_store_error: fail`) refuses the request rather than
 * answering it without storing it. Requests without a conversation id never touch the store.
 *
 * @example
 * ```ts
 * // plugins/config.yaml: features: { memory: { config: { auto_title: false } } }
 * const manager = await startManager([backend, [createMemoryPlugin, { config: { auto_title: false } }]]);
 * await manager.chat(chatRequest('Hi', { conversationId: 'new' }));
 * ```
 */
export function createMemoryPlugin(): MemoryPlugin {
  let memory: ConversationMemory | undefined;
  let tasks: BackgroundTasks | undefined;
  let api: { store: ConversationStore; metrics: MemoryMetrics } | undefined;
  let inMemoryStore = false;
  const plugin = defineFeatureExtension<MemoryConfig>({
    metadata: {
      name: 'memory',
      version: '1.0.0',
      description: 'Conversations persisted per principal: history under a token budget, summaries, titles, an API',
      configSchema: memoryConfigSchema,
      consumes: [conversationStoreRef, modelAccessRef, metricsRef],
      errors: memoryErrors,
      failurePolicy: 'closed',
      // Before other extensions: retrieval and tools then work on the whole conversation.
      priority: 'HIGH',
    },
    // Fail-closed for conversations only: while memory is down, a request with a conversation
    // id is refused (its messages would not be kept), a stateless one goes on without it.
    concerns: (context) => context.conversationId !== undefined,
    initialize(config, call) {
      const settings = config.config;
      const store = call.services.get(conversationStoreRef);
      const metrics = defineMemoryMetrics(call.services.get(metricsRef));
      inMemoryStore = store instanceof MemoryConversationStore;
      if (inMemoryStore) {
        call.logger.warn(
          {},
          'memory: the conversation store is the in-memory one: conversations are lost on restart (sql_store keeps them in SQLite or PostgreSQL)',
        );
      }
      tasks = new BackgroundTasks(call.logger, settings.background_timeout_seconds * 1000);
      memory = new ConversationMemory(
        {
          store,
          models: call.services.get(modelAccessRef),
          config: settings,
          metrics,
          logger: call.logger,
          tokens: new TokenCounter(settings.tokenizer, call.logger),
        },
        tasks,
      );
      api = { store, metrics };
    },
    extend: (context, call) => (memory === undefined ? context : memory.extend(context, call)),
    async onMessageSent({ message, context }) {
      await memory?.replySent(message, context);
    },
    onRequestEnd({ context }) {
      memory?.ended(context.requestId);
    },
    endpoints: conversationEndpoints(() => api),
    healthCheck: () => ({
      status: 'healthy',
      ...(inMemoryStore ? { message: 'conversations are kept in memory only (lost on restart)' } : {}),
      details: { background_tasks: tasks?.size ?? 0, persistent: !inMemoryStore },
    }),
    async shutdown() {
      await tasks?.drain();
    },
  });
  return Object.assign(plugin, { settled: () => tasks?.settled() ?? Promise.resolve() });
}

export default createMemoryPlugin;
