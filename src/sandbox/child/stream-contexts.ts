/**
 * The chat contexts of streams being transformed in the sandbox. A streamed reply is transformed
 * chunk by chunk, each chunk one call; the request's context (the whole conversation) is sent
 * with the first chunk only and kept here under its key, so a chunk costs its own text, not the
 * conversation's. Kept for the stream's last (`final`) chunk; a stream that never ends (the
 * client went away) is dropped when more than {@link LIMIT} are kept.
 */
export class StreamContexts {
  readonly #contexts = new Map<number, unknown>();

  /** The context for key `key`: `given` when sent with this chunk (then kept), else the kept one. */
  resolve(key: number, given: unknown, final: boolean): unknown {
    let context = given;
    if (given === null || given === undefined) context = this.#contexts.get(key);
    else if (!final) {
      this.#contexts.set(key, given);
      if (this.#contexts.size > LIMIT) this.#contexts.delete(this.#contexts.keys().next().value as number);
    }
    if (final) this.#contexts.delete(key);
    return context;
  }
}

/** Streams transformed at once, at most (more are requests whose stream was abandoned). */
const LIMIT = 256;
