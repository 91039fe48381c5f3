import type { Citation, ToolCallView, ToolRun } from './chat-types.ts';

/**
 * The parts of an OpenAI stream chunk read here (api/chat-stream.ts's ChatChunk has this
 * shape): declared here so that this file depends on no browser API, and is tested in Node.
 */
export interface StreamedChunk {
  readonly model?: string;
  readonly choices?: readonly {
    readonly index?: number;
    readonly finish_reason?: string | null;
    readonly delta?: {
      readonly role?: string;
      readonly content?: string | null;
      readonly reasoning_content?: string | null;
      readonly reasoning?: string | null;
      readonly tool_calls?: readonly unknown[];
    };
  }[];
  readonly plugboard?: Readonly<Record<string, unknown>>;
}

/** What a stream said so far, as the assistant message shows it. */
export interface ReplySoFar {
  readonly content: string;
  readonly thinking: string;
  readonly toolCalls: readonly ToolCallView[];
  readonly toolRuns: readonly ToolRun[] | undefined;
  readonly citations: readonly Citation[] | undefined;
  readonly model: string | undefined;
  /** `plugboard.memory.conversation_id` of the last chunk, for clients that miss the header. */
  readonly conversationId: string | undefined;
  /** Plugins bypassed while serving the reply (`plugboard.degraded`). */
  readonly degraded: readonly string[] | undefined;
}

interface ToolCallPart {
  id?: string;
  name: string;
  arguments: string;
}

/**
 * Folds the chunks of an OpenAI chat completion stream into one reply: content and reasoning
 * appended, tool calls put together by their `index` (Plugboard sends each whole, other
 * servers in pieces), and the `plugboard` object of the last chunk read.
 *
 * @example
 * ```ts
 * const reply = new ReplyAccumulator();
 * for await (const chunk of streamChat(body, signal)) reply.add(chunk);
 * reply.snapshot().content;
 * ```
 */
export class ReplyAccumulator {
  #content = '';
  #thinking = '';
  readonly #toolCalls: ToolCallPart[] = [];
  #toolRuns: ToolRun[] | undefined;
  #citations: Citation[] | undefined;
  #model: string | undefined;
  #conversationId: string | undefined;
  #degraded: string[] | undefined;

  add(chunk: StreamedChunk): void {
    if (typeof chunk.model === 'string') this.#model = chunk.model;
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta;
      if (delta === undefined) continue;
      if (typeof delta.content === 'string') this.#content += delta.content;
      const reasoning = delta.reasoning_content ?? delta.reasoning;
      if (typeof reasoning === 'string') this.#thinking += reasoning;
      for (const call of delta.tool_calls ?? []) this.#addToolCall(call);
    }
    if (chunk.plugboard !== undefined) this.#readPlugboard(chunk.plugboard);
  }

  snapshot(): ReplySoFar {
    return {
      content: this.#content,
      thinking: this.#thinking,
      toolCalls: this.#toolCalls.map((call) => ({ ...call })),
      toolRuns: this.#toolRuns,
      citations: this.#citations,
      model: this.#model,
      conversationId: this.#conversationId,
      degraded: this.#degraded,
    };
  }

  #addToolCall(call: unknown): void {
    if (call === null || typeof call !== 'object') return;
    const { index, id, function: fn } = call as { index?: unknown; id?: unknown; function?: unknown };
    const position = typeof index === 'number' && index >= 0 && index < 128 ? index : this.#toolCalls.length;
    let part = this.#toolCalls[position];
    if (part === undefined) {
      part = { name: '', arguments: '' };
      this.#toolCalls[position] = part;
    }
    if (typeof id === 'string' && id !== '') part.id = id;
    if (fn !== null && typeof fn === 'object') {
      const { name, arguments: args } = fn as { name?: unknown; arguments?: unknown };
      if (typeof name === 'string') part.name += name;
      if (typeof args === 'string') part.arguments += args;
      else if (args !== undefined) part.arguments += JSON.stringify(args);
    }
  }

  #readPlugboard(plugboard: Readonly<Record<string, unknown>>): void {
    const { citations, tools, memory, degraded } = plugboard;
    if (Array.isArray(citations)) this.#citations = citations.filter(isCitation);
    if (Array.isArray(tools)) this.#toolRuns = tools.filter(isToolRun);
    if (memory !== null && typeof memory === 'object') {
      const id = (memory as { conversation_id?: unknown }).conversation_id;
      if (typeof id === 'string') this.#conversationId = id;
    }
    if (Array.isArray(degraded)) this.#degraded = degraded.filter((name): name is string => typeof name === 'string');
  }
}

function isCitation(value: unknown): value is Citation {
  if (value === null || typeof value !== 'object') return false;
  const { source, name, excerpt } = value as Record<string, unknown>;
  return typeof source === 'number' && typeof name === 'string' && typeof excerpt === 'string';
}

function isToolRun(value: unknown): value is ToolRun {
  return value !== null && typeof value === 'object' && typeof (value as { name?: unknown }).name === 'string';
}
