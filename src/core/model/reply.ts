import type { JsonValue } from '../stores/json.ts';
import type { Message, ToolCall } from './message.ts';

/** Token counts of one model call or of a whole request. */
export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/** Why the model stopped. */
/** Why a reply ended, as both APIs can say it. */
export const FINISH_REASONS = ['stop', 'length', 'tool_calls', 'content_filter', 'error'] as const;
export type FinishReason = (typeof FINISH_REASONS)[number];

/**
 * A piece of a streamed reply. Backends yield these; the pipeline yields them to the caller.
 * `toolCalls` are always complete calls (backends assemble the deltas of their wire format).
 */
export interface ChatChunk {
  readonly content?: string;
  readonly thinking?: string;
  readonly toolCalls?: readonly ToolCall[];
  /** Set on the last chunk by backends that report usage. */
  readonly usage?: Usage;
  readonly finishReason?: FinishReason;
}

/** A whole reply from a backend that did not stream. */
export interface ChatCompletion {
  readonly message: Message;
  readonly usage?: Usage;
  readonly finishReason?: FinishReason;
  /** The model that actually answered, when the backend knows it. */
  readonly model?: string;
}

/** What a backend's `chat` returns: a whole completion, or a stream of chunks. */
export type BackendReply = ChatCompletion | AsyncIterable<ChatChunk>;

/** A model a backend can serve. */
export interface ModelInfo {
  readonly id: string;
  /** Backend-specific facts (size, family, quantization, context length …). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** How one plugin step of a request ended. */
export type StepOutcome = 'ok' | 'bypassed' | 'skipped';

/** One plugin step of a request, for debugging and tests (`ChatResponse.steps`). */
export interface PluginStep {
  readonly plugin: string;
  /** The method or hook that ran (`processMessage`, `hook:messageReceived` …). */
  readonly operation: string;
  readonly outcome: StepOutcome;
  readonly durationMs: number;
  /** Error code when the step was bypassed or skipped. */
  readonly errorCode?: string;
}

/** The final result of a chat request. For streams, it is known once the stream ends. */
export interface ChatResponse {
  readonly requestId: string;
  readonly message: Message;
  /** The backend that produced the reply (absent when a middleware answered). */
  readonly backend?: string;
  readonly model?: string;
  readonly usage?: Usage;
  readonly finishReason?: FinishReason;
  /** How many model calls the request took (more than one with tool loops). */
  readonly turns: number;
  /** Version of the plugin snapshot the request ran on. */
  readonly snapshotVersion: number;
  readonly steps: readonly PluginStep[];
  readonly metadata: Readonly<Record<string, unknown>>;
  /**
   * What plugins set for the client with `call.setResponseData` (citations, the tools that
   * ran …), by key; absent when none did. The server sends it as the reply's `plugboard` object.
   */
  readonly data?: Readonly<Record<string, JsonValue>>;
}
