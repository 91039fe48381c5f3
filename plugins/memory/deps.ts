import type { ConversationStore, Logger, ModelAccess } from '../../src/index.ts';
import type { MemoryConfig } from './config.ts';
import type { MemoryMetrics } from './memory-metrics.ts';
import type { TokenCounter } from './token-count.ts';

/** What memory's parts share: the services it consumes and its settings. */
export interface MemoryDeps {
  readonly store: ConversationStore;
  readonly models: ModelAccess;
  readonly config: MemoryConfig;
  readonly metrics: MemoryMetrics;
  readonly logger: Logger;
  readonly tokens: TokenCounter;
}
