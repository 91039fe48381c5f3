/**
 * What memory does in a chat: in `extend`, find (or create) the request's conversation, store
 * the new turn, and give the model the system prompt, the summary, the recent turns that fit
 * the budget and the new turn; once the reply is complete (`messageSent`, before the client's
 * stream ends), store it; then, in the background, summarize what fell out of the window and
 * title a new conversation. See README.md for the rules.
 */
import {
  type ChatContext,
  type Conversation,
  isPlugboardError,
  type Message,
  type PluginCall,
  type StoredMessage,
  updateContext,
} from '../../src/index.ts';
import type { BackgroundTasks } from './background-tasks.ts';
import { chooseWindow } from './context-window.ts';
import type { MemoryDeps } from './deps.ts';
import { conversationNotFound, memoryErrors } from './errors.ts';
import { resentHistoryLength, splitRequest } from './new-turn.ts';
import { principalOf } from './principal.ts';
import { summaryMessage } from './prompts.ts';
import { summarize } from './summarizer.ts';
import { writeTitle } from './titles.ts';

/** The request header (and the response header) that names the conversation. */
export const CONVERSATION_HEADER = 'x-conversation-id';

/** The conversation id that asks for a new conversation. */
export const NEW_CONVERSATION = 'new';

/** Longest conversation id looked up (the stores' limit); a longer one is simply not found. */
const MAX_ID_LENGTH = 256;

/** Requests between `extend` and `requestEnd` kept track of at most (a skipped requestEnd must not leak). */
const MAX_PENDING = 10_000;

/** What `extend` learnt about a request, for the reply and the work after it. */
interface PendingRequest {
  readonly principal: string;
  readonly conversationId: string;
  readonly model: string | undefined;
  readonly budget: number;
  /** Summarize through this sequence after the reply, when set. */
  readonly summaryThrough: number | undefined;
  /** The user message a title would be made from, when the conversation has none. */
  readonly titleFrom: string | undefined;
}

/**
 * Conversation memory for chat requests.
 *
 * @example
 * ```ts
 * const memory = new ConversationMemory(deps, tasks);
 * extend: (context, call) => memory.extend(context, call),
 * onMessageSent: ({ message, context }) => memory.replySent(message, context),
 * onRequestEnd: ({ context }) => memory.ended(context.requestId),
 * ```
 */
export class ConversationMemory {
  readonly #deps: MemoryDeps;
  readonly #tasks: BackgroundTasks;
  readonly #pending = new Map<string, PendingRequest>();

  constructor(deps: MemoryDeps, tasks: BackgroundTasks) {
    this.#deps = deps;
    this.#tasks = tasks;
  }

  /**
   * The context the model gets. Unchanged without a conversation id.
   * @throws PlugboardError `memory/NOT_FOUND` (404) for an id the principal does not have;
   *   `memory/STORE_UNAVAILABLE` (503) when the store fails and `on_store_error` is `fail`.
   */
  async extend(context: ChatContext, call: PluginCall): Promise<ChatContext> {
    const requested = context.conversationId;
    if (requested === undefined) return context;
    const { store, config } = this.#deps;
    const principal = principalOf(context.principal);
    const { system, turn } = splitRequest(context.messages);
    let conversation: Conversation;
    let recent: readonly StoredMessage[];
    let newTurn: readonly Message[];
    try {
      conversation = await this.#open(principal, requested);
      recent =
        conversation.messageCount === 0
          ? []
          : await store.messages(principal, conversation.id, { last: config.max_loaded_messages });
      newTurn = turn.slice(resentHistoryLength(turn, recent, conversation.messageCount));
    } catch (error) {
      if (isPlugboardError(error, 'memory/NOT_FOUND')) throw error;
      return this.#storeFailed('load', error, context, call);
    }
    try {
      if (newTurn.length > 0) await store.append(principal, conversation.id, newTurn);
    } catch (error) {
      return this.#storeFailed('append_turn', error, context, call);
    }
    for (const message of newTurn) this.#deps.metrics.messagesStored.inc({ role: message.role });
    call.setResponseHeader(CONVERSATION_HEADER, conversation.id);
    call.setResponseData('memory', { conversation_id: conversation.id });

    const summary = conversation.summary;
    const summarized = summary?.throughSequence ?? 0;
    const fixed = summary === undefined ? system : [...system, summaryMessage(summary.text)];
    const budget = await this.#budget(context);
    const window = chooseWindow({
      fixed,
      history: recent.filter((stored) => stored.sequence > summarized),
      turn: newTurn,
      budget,
      count: await this.#deps.tokens.get(),
    });
    // Messages older than those loaded fell out of the window too.
    const droppedThrough = Math.max(window.droppedThrough, (recent[0]?.sequence ?? 1) - 1);
    const threshold = summary === undefined ? 1 : config.summary_refresh_messages;
    // A request with nothing new (only system messages) is answered with the history; its reply is not stored.
    if (newTurn.length > 0) {
      this.#remember(context.requestId, {
        principal,
        conversationId: conversation.id,
        model: context.model,
        budget,
        summaryThrough: config.summarize && droppedThrough - summarized >= threshold ? droppedThrough : undefined,
        titleFrom:
          config.auto_title && conversation.title === undefined
            ? firstUserText([...recent.map((stored) => stored.message), ...newTurn])
            : undefined,
      });
    }
    return updateContext(context, {
      messages: [...fixed, ...window.included.map((stored) => stored.message), ...newTurn],
    });
  }

  /**
   * Stores the reply of a request `extend` gave a conversation, then starts the work after it.
   * @throws PlugboardError `memory/STORE_UNAVAILABLE` when the store fails and `on_store_error` is `fail`.
   */
  async replySent(message: Message, context: ChatContext): Promise<void> {
    const pending = this.#pending.get(context.requestId);
    if (pending === undefined) return;
    this.#pending.delete(context.requestId);
    const reply: Message = {
      role: 'assistant',
      content: message.content,
      ...(message.toolCalls?.length ? { toolCalls: message.toolCalls } : {}),
      ...(this.#deps.config.store_thinking && message.thinking ? { thinking: message.thinking } : {}),
    };
    try {
      await this.#deps.store.append(pending.principal, pending.conversationId, [reply]);
    } catch (error) {
      this.#countStoreError('append_reply', error);
      if (this.#deps.config.on_store_error === 'fail') throw unavailable(error);
      return;
    }
    this.#deps.metrics.messagesStored.inc({ role: 'assistant' });
    this.#afterReply(pending, reply.content);
  }

  /** Forgets a request (every request ends here, whatever its outcome). */
  ended(requestId: string): void {
    this.#pending.delete(requestId);
  }

  #afterReply(pending: PendingRequest, reply: string): void {
    const { principal, conversationId } = pending;
    const through = pending.summaryThrough;
    if (through !== undefined) {
      this.#tasks.start(`summary:${conversationId}`, async (signal) => {
        try {
          await summarize(
            this.#deps,
            { principal, conversationId, through, model: pending.model, budget: pending.budget },
            signal,
          );
        } catch (error) {
          this.#deps.metrics.summaries.inc({ result: 'failed' });
          throw error;
        }
      });
    }
    const userMessage = pending.titleFrom;
    if (userMessage !== undefined) {
      this.#tasks.start(`title:${conversationId}`, async (signal) => {
        try {
          await writeTitle(this.#deps, { principal, conversationId, userMessage, reply, model: pending.model }, signal);
        } catch (error) {
          this.#deps.metrics.titles.inc({ result: 'failed' });
          throw error;
        }
      });
    }
  }

  async #open(principal: string, requested: string): Promise<Conversation> {
    const { store, metrics } = this.#deps;
    if (requested === NEW_CONVERSATION) {
      const created = await store.create(principal);
      metrics.conversationsCreated.inc({ via: 'chat' });
      return created;
    }
    if (requested === '' || requested.length > MAX_ID_LENGTH) throw conversationNotFound();
    const found = await store.get(principal, requested);
    if (found === undefined) throw conversationNotFound();
    return found;
  }

  /** The prompt's token budget: the configured one, else the model's context less the reply's room. */
  async #budget(context: ChatContext): Promise<number> {
    const { config, models, logger } = this.#deps;
    if (config.max_context_tokens !== undefined) return config.max_context_tokens;
    let length: number | undefined;
    try {
      length = await models.contextLength(context.model);
    } catch (error) {
      logger.debug({ reason: error instanceof Error ? error.message : String(error) }, 'memory: no context length');
    }
    const reserve = Math.max(config.reserve_tokens, context.options.maxTokens ?? 0);
    return Math.max(0, (length ?? config.default_context_tokens) - reserve);
  }

  #storeFailed(operation: string, error: unknown, context: ChatContext, call: PluginCall): ChatContext {
    this.#countStoreError(operation, error, call);
    if (this.#deps.config.on_store_error === 'fail') throw unavailable(error);
    return context;
  }

  #countStoreError(operation: string, error: unknown, call?: PluginCall): void {
    const policy = this.#deps.config.on_store_error;
    this.#deps.metrics.storeErrors.inc({ operation, policy });
    (call?.logger ?? this.#deps.logger).warn(
      { operation, policy, reason: error instanceof Error ? error.message : String(error) },
      policy === 'fail'
        ? 'memory: the conversation store failed; the request is refused'
        : 'memory: the conversation store failed; the request goes on without memory',
    );
  }

  #remember(requestId: string, pending: PendingRequest): void {
    if (this.#pending.size >= MAX_PENDING) this.#pending.delete(this.#pending.keys().next().value!);
    this.#pending.set(requestId, pending);
  }
}

function unavailable(cause: unknown) {
  return memoryErrors.STORE_UNAVAILABLE('The conversation store is unavailable', { cause });
}

function firstUserText(messages: readonly Message[]): string | undefined {
  return messages.find((message) => message.role === 'user' && message.content.trim() !== '')?.content;
}
