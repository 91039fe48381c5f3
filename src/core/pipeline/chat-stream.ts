import { PlugboardError } from '../errors/plugboard-error.ts';
import type { ChatChunk, ChatResponse } from '../model/reply.ts';

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
}

/** Wraps the pipeline generator: chunks for the consumer, the return value as `response`. */
export function toChatStream(pipeline: AsyncGenerator<ChatChunk, ChatResponse, undefined>): ChatStream {
  let settle!: { resolve: (response: ChatResponse) => void; reject: (error: unknown) => void };
  const response = new Promise<ChatResponse>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // Nobody may await `response`; its rejection is also thrown to the iterating consumer.
  response.catch(() => undefined);
  let started = false;
  return {
    response,
    async *[Symbol.asyncIterator]() {
      if (started) throw new Error('A ChatStream can be iterated only once');
      started = true;
      let settled = false;
      try {
        const final = yield* pipeline;
        settled = true;
        settle.resolve(final);
      } catch (error) {
        settled = true;
        settle.reject(error);
        throw error;
      } finally {
        if (!settled) settle.reject(new PlugboardError('REQUEST_ABORTED', 'The stream was closed before it ended'));
      }
    },
  };
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
