/**
 * Test support: a real PluginManager with a scripted backend, the memory plugin, a conversation
 * store provided by a test plugin (so the test can read and break it) and recording metrics.
 * The backend answers memory's own summary and title requests recognisably, and records every
 * call, chats and those alike.
 */
import {
  type ChatContext,
  type ChatResponse,
  type ConversationStore,
  conversationStoreRef,
  definePlugin,
  MemoryConversationStore,
  type Message,
  type MessageInput,
  type PluginManager,
} from '../../../src/index.ts';
import {
  chatRequest,
  createScriptedBackend,
  type ScriptedBackend,
  type ScriptedBackendOptions,
  startManager,
} from '../../../src/testing/index.ts';
import { metricsProvider, type RecordingMetrics, recordingMetrics } from '../../cache/testing/recording-metrics.ts';
import { createMemoryPlugin, type MemoryPlugin } from '../memory.plugin.ts';
import { SUMMARY_INSTRUCTIONS, TITLE_INSTRUCTIONS } from '../prompts.ts';

/** What kind of request the backend got. */
export type CallKind = 'chat' | 'summary' | 'title';

/** The kind of one backend call, by memory's instructions in its first message. */
export function kindOf(context: ChatContext): CallKind {
  const first = context.messages[0]?.content;
  if (first === SUMMARY_INSTRUCTIONS) return 'summary';
  if (first === TITLE_INSTRUCTIONS) return 'title';
  return 'chat';
}

/** Settings of {@link startMemory}. */
export interface MemoryHarnessOptions {
  /** The memory plugin's config (the harness defaults to `tokenizer: chars`, `auto_title: false`). */
  readonly config?: Record<string, unknown>;
  /** The chat reply (default: `Reply n to: <last user message>`). */
  readonly reply?: (context: ChatContext, call: number) => string;
  /** The summary reply (default: `SUMMARY <n>: <number of transcript lines> lines`). */
  readonly summary?: (context: ChatContext, call: number) => string;
  /** The title reply (default `"Title: A test chat."`). */
  readonly title?: (context: ChatContext) => string;
  /** Makes a backend call fail. */
  readonly fail?: (kind: CallKind, context: ChatContext) => Error | undefined;
  readonly store?: ConversationStore;
  readonly backend?: Partial<ScriptedBackendOptions>;
  /** Context length the backend reports for its model (`details.context_length`). */
  readonly contextLength?: number;
}

/** A running harness. */
export interface MemoryHarness {
  readonly manager: PluginManager;
  readonly backend: ScriptedBackend;
  readonly plugin: MemoryPlugin;
  readonly store: ConversationStore;
  readonly metrics: RecordingMetrics;
  /** The backend's calls of one kind, in order. */
  calls(kind: CallKind): ChatContext[];
  shutdown(): Promise<void>;
}

/** What one chat through the harness gave. */
export interface Exchange {
  readonly response: ChatResponse;
  readonly headers: ReadonlyMap<string, string>;
  /** Whether the reply was already stored when the stream's consumer saw its end (streams only). */
  readonly storedAtStreamEnd?: number;
}

/**
 * Starts the manager.
 *
 * @example
 * ```ts
 * const harness = await startMemory({ config: { max_context_tokens: 200 } });
 * const first = await say(harness, 'Hi', { conversationId: 'new' });
 * ```
 */
export async function startMemory(options: MemoryHarnessOptions = {}): Promise<MemoryHarness> {
  const store = options.store ?? new MemoryConversationStore();
  const metrics = recordingMetrics();
  let chats = 0;
  const backend = createScriptedBackend({
    reply: (context, call) => {
      const kind = kindOf(context);
      if (kind === 'summary') {
        const lines = (context.messages[1]?.content ?? '')
          .split('\n')
          .filter((line) => /^(User|Assistant|Tool)/.test(line));
        return options.summary?.(context, call) ?? `SUMMARY ${call}: ${lines.length} lines`;
      }
      if (kind === 'title') return options.title?.(context) ?? '"Title: A test chat."';
      chats++;
      const last = context.messages.at(-1)?.content ?? '';
      return options.reply?.(context, chats) ?? `Reply ${chats} to: ${last}`;
    },
    fail: (_call, context) => {
      const error = options.fail?.(kindOf(context), context);
      return error === undefined ? undefined : { error };
    },
    ...options.backend,
  });
  if (options.contextLength !== undefined) {
    const length = options.contextLength;
    backend.listModels = () => [{ id: 'scripted-model', details: { context_length: length } }];
  }
  const plugin = createMemoryPlugin();
  const storeProvider = definePlugin({
    metadata: { name: 'test-conversations', version: '1.0.0', provides: [conversationStoreRef] },
    initialize: (_config, call) => call.provide(conversationStoreRef, store),
  });
  const manager = await startManager([
    backend,
    metricsProvider(metrics),
    storeProvider,
    [plugin, { config: { tokenizer: 'chars', auto_title: false, ...options.config } }],
  ]);
  return {
    manager,
    backend,
    plugin,
    store,
    metrics,
    calls: (kind) => backend.calls.filter((context) => kindOf(context) === kind),
    shutdown: () => manager.shutdown(),
  };
}

/**
 * One chat: `messages` (a user message's text, or messages) with a conversation id and a
 * principal, whole or streamed; waits for memory's background work to finish.
 */
export async function say(
  harness: MemoryHarness,
  messages: string | readonly Message[],
  options: { conversationId?: string; principal?: string; stream?: boolean } = {},
): Promise<Exchange> {
  const headers = new Map<string, string>();
  const context = chatRequest(typeof messages === 'string' ? messages : (messages as readonly MessageInput[]), {
    ...(options.conversationId === undefined ? {} : { conversationId: options.conversationId }),
    ...(options.principal === undefined ? {} : { principal: { id: options.principal } }),
    stream: options.stream ?? false,
  });
  const responseHeaders = (name: string, value: string) => {
    headers.set(name, value);
    return true;
  };
  if (!options.stream) {
    const response = await harness.manager.chat(context, { responseHeaders });
    await harness.plugin.settled();
    return { response, headers };
  }
  const stream = harness.manager.stream(context, { responseHeaders });
  for await (const _chunk of stream) {
    // read to the end
  }
  // The pipeline has returned: what a server would now close the stream after.
  const id = headers.get('x-conversation-id');
  const storedAtStreamEnd =
    id === undefined ? undefined : (await harness.store.get(options.principal ?? 'anonymous', id))?.messageCount;
  const response = await stream.response;
  await harness.plugin.settled();
  return { response, headers, ...(storedAtStreamEnd === undefined ? {} : { storedAtStreamEnd }) };
}

/** The stored messages of a conversation as `role: content` lines. */
export async function transcript(harness: MemoryHarness, id: string, principal = 'anonymous'): Promise<string[]> {
  return (await harness.store.messages(principal, id)).map(({ message }) => `${message.role}: ${message.content}`);
}

/** A backend call's messages as `role: content` lines. */
export function sent(context: ChatContext | undefined): string[] {
  return (context?.messages ?? []).map((message) => `${message.role}: ${message.content}`);
}
