import { EventSourceParserStream } from 'eventsource-parser/stream';
import { send } from './client.ts';

/** One chunk of an OpenAI chat completion stream, as Plugboard sends it (the parts the UI reads). */
export interface ChatChunk {
  readonly id?: string;
  readonly model?: string;
  readonly choices?: readonly {
    readonly index: number;
    readonly delta?: {
      readonly role?: string;
      readonly content?: string | null;
      /** Thinking, where the backend reports it apart from the content. */
      readonly reasoning_content?: string | null;
      readonly reasoning?: string | null;
      readonly tool_calls?: readonly unknown[];
    };
    readonly finish_reason?: string | null;
  }[];
  readonly usage?: { readonly prompt_tokens?: number; readonly completion_tokens?: number };
  /** Plugboard's additions: citations, tool results … (see docs/API.md, "The plugboard object"). */
  readonly plugboard?: Readonly<Record<string, unknown>>;
}

/**
 * Streams `POST /v1/chat/completions` with `stream: true`: yields each parsed chunk as it
 * arrives. Aborting `signal` closes the connection, which the server passes on to the backend
 * (generation stops). An error the server sends inside the stream (`data: {"error": …}`) is
 * thrown as it came. Returns the response headers (e.g. `x-conversation-id`) via `onHeaders`.
 *
 * @example
 * ```ts
 * for await (const chunk of streamChat({ model, messages }, controller.signal)) render(chunk);
 * ```
 */
export async function* streamChat(
  body: Readonly<Record<string, unknown>>,
  signal: AbortSignal,
  options: { readonly headers?: Record<string, string>; readonly onHeaders?: (headers: Headers) => void } = {},
): AsyncGenerator<ChatChunk> {
  const response = await send('/v1/chat/completions', {
    body: { ...body, stream: true, stream_options: { include_usage: true } },
    signal,
    headers: { accept: 'text/event-stream', ...options.headers },
  });
  options.onHeaders?.(response.headers);
  if (response.body === null) return;
  const events = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  const reader = events.getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      if (value.data === '[DONE]') return;
      const parsed = JSON.parse(value.data) as ChatChunk & {
        error?: { message?: string; code?: string; hint?: string };
      };
      if (parsed.error !== undefined)
        throw new StreamError(
          parsed.error.message ?? 'The stream failed',
          parsed.error.code?.toUpperCase(),
          parsed.error.hint,
        );
      yield parsed;
    }
  } finally {
    reader.releaseLock();
    await events.cancel().catch(() => undefined);
  }
}

/** An error the server reported in the middle of a stream (after the 200 was sent). */
export class StreamError extends Error {
  override readonly name = 'StreamError';
  constructor(
    message: string,
    readonly code?: string,
    /** What to do about it, when the server says (the in-stream error carries the same hint as a status error). */
    readonly hint?: string,
  ) {
    super(message);
  }
}
