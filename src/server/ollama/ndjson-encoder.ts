/**
 * Ollama's streaming format: one JSON object per line (`application/x-ndjson`), the last one
 * with `done: true` and the statistics; an error after the first line becomes a last
 * `{"error": "…"}` line, which Ollama's clients raise as an exception.
 */
import type { PlugboardError } from '../../core/errors/plugboard-error.ts';
import type { ChatChunk, ChatResponse } from '../../core/model/reply.ts';
import { degradedPlugins } from '../degraded.ts';
import type { StreamEncoder } from '../streaming.ts';
import type { RequestClock } from './request-clock.ts';
import { type ResponseShape, statsOf } from './response-bodies.ts';

/** Ollama's in-band error line. */
export function errorLine(error: PlugboardError): string {
  return `${JSON.stringify({ error: error.publicMessage, code: error.code })}\n`;
}

/**
 * The NDJSON lines of a streamed `/api/chat` or `/api/generate` reply, in the given shape.
 *
 * @example
 * ```ts
 * await context.chat.stream(reply, chatContext, 'ollama', new NdjsonEncoder(chatShape(body.model), clock));
 * ```
 */
export class NdjsonEncoder implements StreamEncoder {
  readonly contentType = 'application/x-ndjson';
  readonly #shape: ResponseShape;
  readonly #clock: RequestClock;
  readonly #onComplete: ((response: ChatResponse) => void) | undefined;

  /** @param onComplete runs once the reply is complete, before the final line is sent. */
  constructor(shape: ResponseShape, clock: RequestClock, onComplete?: (response: ChatResponse) => void) {
    this.#shape = shape;
    this.#clock = clock;
    this.#onComplete = onComplete;
  }

  chunk(chunk: ChatChunk): string {
    const line = this.#shape.chunk(chunk);
    if (line === undefined) return '';
    this.#clock.firstOutput();
    return `${JSON.stringify(line)}\n`;
  }

  end(response: ChatResponse): string {
    this.#onComplete?.(response);
    const final = this.#shape.final(response, statsOf(response, this.#clock.durations()));
    // Plugins the reply went without (fail-open failures), named on the last line too.
    const degraded = degradedPlugins(response.steps);
    return `${JSON.stringify(degraded.length === 0 ? final : { ...final, degraded })}\n`;
  }

  error(error: PlugboardError): string {
    return errorLine(error);
  }
}
