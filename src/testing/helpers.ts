import { createSilentLogger } from '../core/logger.ts';
import { PluginManager, type PluginManagerOptions } from '../core/manager/plugin-manager.ts';
import { type ChatContext, type ChatContextInput, createChatContext } from '../core/model/context.ts';
import type { MessageInput } from '../core/model/message.ts';
import type { ChatChunk, ChatResponse } from '../core/model/reply.ts';
import type { ChatStream } from '../core/pipeline/chat-stream.ts';
import type { PluginSettings } from '../core/plugin/metadata.ts';

/**
 * Builds a chat context from a user message (or a list of messages) for tests.
 *
 * @example
 * ```ts
 * const context = chatRequest('hello', { stream: true, model: 'scripted/scripted-model' });
 * ```
 */
export function chatRequest(
  content: string | readonly MessageInput[],
  overrides: Partial<ChatContextInput> = {},
): ChatContext {
  const messages = typeof content === 'string' ? [{ role: 'user' as const, content }] : [...content];
  return createChatContext({ messages, ...overrides });
}

/** Reads a stream to its end: the chunks, the concatenated text and the final response. */
export async function collectStream(
  stream: ChatStream,
): Promise<{ chunks: ChatChunk[]; text: string; response: ChatResponse }> {
  const chunks: ChatChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return { chunks, text: chunks.map((chunk) => chunk.content ?? '').join(''), response: await stream.response };
}

/**
 * A running manager with the given plugins registered (a plugin, or `[plugin, settings]`),
 * silent unless a logger is given.
 *
 * @example
 * ```ts
 * const manager = await startManager([createScriptedBackend(), [myFilter, { priority: 'HIGH' }]]);
 * ```
 */
export async function startManager(
  plugins: readonly (unknown | readonly [unknown, PluginSettings])[],
  options: PluginManagerOptions = {},
): Promise<PluginManager> {
  const manager = new PluginManager({ logger: createSilentLogger(), ...options });
  for (const entry of plugins) {
    if (
      Array.isArray(entry) &&
      entry.length === 2 &&
      typeof entry[1] === 'object' &&
      !('metadata' in (entry[1] as object))
    ) {
      await manager.register(entry[0], entry[1] as PluginSettings);
    } else {
      await manager.register(entry);
    }
  }
  await manager.initialize();
  return manager;
}
