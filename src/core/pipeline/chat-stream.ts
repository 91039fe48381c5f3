import { PlugboardError } from '../errors/plugboard-error.ts';
import type { ChatChunk, ChatResponse, PluginStep } from '../model/reply.ts';

/**
 * A streamed chat reply: iterate it for chunks; `response` settles with the final
 * ChatResponse once the stream ends (or rejects with the error that ended it).
 *
 * @example
 * ```ts
 * const stream = manager.stream(createChatContext({ stream: true, messages }));
 * for await (const chunk of stream) process.stdout.write(chunk.content ?? '');
 * const { usage } = await stream.response;
 * ```
 */
export interface ChatStream extends AsyncIterable<ChatChunk> {
  readonly response: Promise<ChatResponse>;
  /**
   * The plugin steps of the request so far, growing as it runs: what a server can tell a
   * client before the stream ends (a fail-open plugin bypassed while preparing the request).
   */
  readonly steps: readonly PluginStep[];
}

/**
 * Wraps the pipeline generator: chunks for the consumer, the return value as `response`.
 *
 * A class, not an object literal with an `async *[Symbol.asyncIterator]()` method: such a
 * literal creates a new async generator function per request, and V8 gives each one its own
 * prototype and instance map. The map lives in old space and points back to the function and
 * its closure, so every request's chunks and promises survived minor GCs and were promoted
 * (~0.5 MB per scavenge at full load): the scavenges grew to milliseconds and set the p99.
 */
export function toChatStream(
  pipeline: AsyncGenerator<ChatChunk, ChatResponse, undefined>,
  steps: readonly PluginStep[] = [],
): ChatStream {
  return new PipelineStream(pipeline, steps);
}

class PipelineStream implements ChatStream {
  readonly response: Promise<ChatResponse>;
  readonly steps: readonly PluginStep[];
  readonly #pipeline: AsyncGenerator<ChatChunk, ChatResponse, undefined>;
  #resolve!: (response: ChatResponse) => void;
  #reject!: (error: unknown) => void;
  #started = false;

  constructor(pipeline: AsyncGenerator<ChatChunk, ChatResponse, undefined>, steps: readonly PluginStep[]) {
    this.#pipeline = pipeline;
    this.steps = steps;
    this.response = new Promise<ChatResponse>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Nobody may await `response`; its rejection is also thrown to the iterating consumer.
    this.response.catch(() => undefined);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ChatChunk, void, undefined> {
    if (this.#started) throw new Error('A ChatStream can be iterated only once');
    this.#started = true;
    let settled = false;
    try {
      const final = yield* this.#pipeline;
      settled = true;
      this.#resolve(final);
    } catch (error) {
      settled = true;
      this.#reject(error);
      throw error;
    } finally {
      if (!settled) this.#reject(new PlugboardError('REQUEST_ABORTED', 'The stream was closed before it ended'));
    }
  }
}

/** Runs the pipeline to its end without streaming and returns the response. */
export async function collectResponse(
  pipeline: AsyncGenerator<ChatChunk, ChatResponse, undefined>,
): Promise<ChatResponse> {
  while (true) {
    const next = await pipeline.next();
    if (next.done) return next.value;
  }
}
