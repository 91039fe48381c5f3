import type OpenAI from 'openai';

/** What a streamed OpenAI chat completion delivered, read to its end. */
export interface ReadChatStream {
  /** The content deltas joined. */
  readonly text: string;
  /** How many chunks carried content (a real stream has several, a replay may have one). */
  readonly deltas: number;
  readonly finish: string | null | undefined;
  readonly usage: OpenAI.CompletionUsage | null | undefined;
}

/**
 * Reads a stream of the official `openai` client to its end: the text, how many content
 * deltas it came in, the finish reason and the usage (with `stream_options.include_usage`).
 *
 * @example
 * ```ts
 * const { text, finish } = await readChatStream(await openai.chat.completions.create({ …, stream: true }));
 * ```
 */
export async function readChatStream(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<ReadChatStream> {
  let text = '';
  let deltas = 0;
  let finish: string | null | undefined;
  let usage: OpenAI.CompletionUsage | null | undefined;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (choice?.delta.content) {
      text += choice.delta.content;
      deltas++;
    }
    if (choice?.finish_reason) finish = choice.finish_reason;
    if (chunk.usage) usage = chunk.usage;
  }
  return { text, deltas, finish, usage };
}
