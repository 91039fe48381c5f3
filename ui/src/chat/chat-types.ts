/**
 * The chat page's own model of a conversation: what the user sees, not the wire format.
 * request-messages.ts turns it into OpenAI messages; reply-accumulator.ts builds an assistant
 * message from a stream's chunks; memory-api.ts reads stored conversations into it.
 */

/** An error as the UI shows it: the server's words and what to do. */
export interface ErrorInfo {
  readonly message: string;
  readonly hint?: string;
  readonly code?: string;
}

/** A tool call the model made (`delta.tool_calls`, or `tool_calls` of a stored message). */
export interface ToolCallView {
  readonly id?: string;
  readonly name: string;
  /** The arguments as the model wrote them (JSON text, possibly invalid). */
  readonly arguments: string;
}

/** A tool the server ran in its tool loop (`plugboard.tools` of the reply; plugins/tools/README.md). */
export interface ToolRun {
  readonly round?: number;
  readonly id?: string;
  readonly name: string;
  readonly arguments?: unknown;
  readonly ok?: boolean;
  readonly outcome?: string;
  readonly duration_ms?: number;
  readonly output?: string;
}

/** A source the rag plugin gave the model (`plugboard.citations`; plugins/rag/README.md). */
export interface Citation {
  readonly source: number;
  readonly collection?: string;
  readonly document?: string;
  readonly name: string;
  readonly chunk?: number;
  readonly page?: number;
  readonly section?: string;
  readonly excerpt: string;
  readonly score?: number;
}

/** Where an assistant message is in its life. */
export type ReplyStatus = 'streaming' | 'done' | 'stopped' | 'failed';

export interface ChatMessage {
  /** Local id (stable across re-renders; not the server's). */
  readonly id: string;
  readonly role: 'user' | 'assistant';
  /** The text as sent or received (an assistant's may hold `<think>…</think>`). */
  readonly content: string;
  /** Attached images, as data URLs. */
  readonly images?: readonly string[];
  /** Reasoning the backend reported apart from the content. */
  readonly thinking?: string;
  readonly toolCalls?: readonly ToolCallView[];
  readonly toolRuns?: readonly ToolRun[];
  readonly citations?: readonly Citation[];
  /** The model that answered (assistant) or was asked (user). */
  readonly model?: string;
  /** Plugins bypassed while serving the reply (`plugboard.degraded`). */
  readonly degraded?: readonly string[];
  /** Assistant messages only: `done` when absent. */
  readonly status?: ReplyStatus;
  /** Why the reply failed (status `failed`), or what went wrong after it stopped. */
  readonly error?: ErrorInfo;
}

let counter = 0;

/** A fresh local message id. */
export function newMessageId(): string {
  counter += 1;
  return `m${Date.now().toString(36)}-${counter}`;
}
