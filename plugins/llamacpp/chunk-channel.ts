import type { ChatChunk } from '../../src/index.ts';

/**
 * Turns node-llama-cpp's callbacks (a text chunk per token or so) into the async iterable of
 * chunks a streaming backend returns. The producer pushes; the consumer reads. When the
 * consumer stops early (`return()`: the client went away, or the pipeline was aborted), the
 * `onCancel` callback runs at once — even while the consumer is not waiting for a chunk —
 * so that generation stops and its sequence is freed promptly.
 */
export class ChunkChannel implements AsyncIterableIterator<ChatChunk> {
  readonly #buffer: ChatChunk[] = [];
  #reader: { resolve: (result: IteratorResult<ChatChunk>) => void; reject: (error: unknown) => void } | undefined;
  #ended = false;
  #failure: { error: unknown } | undefined;
  readonly #onCancel: () => void;

  constructor(onCancel: () => void) {
    this.#onCancel = onCancel;
  }

  /** Adds a chunk (ignored once the channel has ended). */
  push(chunk: ChatChunk): void {
    if (this.#ended) return;
    const reader = this.#reader;
    if (reader !== undefined) {
      this.#reader = undefined;
      reader.resolve({ value: chunk, done: false });
    } else this.#buffer.push(chunk);
  }

  /** Ends the stream after the chunks already pushed. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#settleReader();
  }

  /** Ends the stream with an error, raised after the chunks already pushed. */
  fail(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#failure = { error };
    this.#settleReader();
  }

  next(): Promise<IteratorResult<ChatChunk>> {
    const chunk = this.#buffer.shift();
    if (chunk !== undefined) return Promise.resolve({ value: chunk, done: false });
    if (this.#failure !== undefined) {
      const { error } = this.#failure;
      this.#failure = undefined;
      return Promise.reject(error);
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#reader = { resolve, reject };
    });
  }

  /** The consumer is done: stop the producer, drop what is buffered. */
  return(): Promise<IteratorResult<ChatChunk>> {
    const running = !this.#ended;
    this.#ended = true;
    this.#buffer.length = 0;
    this.#failure = undefined;
    this.#settleReader();
    if (running) this.#onCancel();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #settleReader(): void {
    const reader = this.#reader;
    if (reader === undefined) return;
    this.#reader = undefined;
    if (this.#failure !== undefined) {
      const { error } = this.#failure;
      this.#failure = undefined;
      reader.reject(error);
    } else reader.resolve({ value: undefined, done: true });
  }
}
