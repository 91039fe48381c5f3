/**
 * Measures the durations Ollama reports with every final response. Clients show them (and
 * compute tokens per second from `eval_count / eval_duration`), so they are real
 * measurements of the request through Plugboard, in integer nanoseconds as Go's
 * `time.Duration` expects.
 */

/** Ollama's duration fields, in nanoseconds. */
export interface OllamaDurations {
  readonly total_duration: number;
  /** Resolving the model to a backend: Plugboard's equivalent of loading it. */
  readonly load_duration: number;
  /** From the start of the pipeline to the first streamed output; 0 when not streamed. */
  readonly prompt_eval_duration: number;
  /** From the first output (or the start of the pipeline, unstreamed) to the end. */
  readonly eval_duration: number;
}

/**
 * One request's clock: started when the route is entered, marked when the model is resolved
 * and when the first output arrives.
 *
 * @example
 * ```ts
 * const clock = new RequestClock();
 * const target = await router.resolve(body.model);
 * clock.loaded();
 * // … stream, calling clock.firstOutput() on each piece …
 * const { total_duration } = clock.durations();
 * ```
 */
export class RequestClock {
  readonly #start = process.hrtime.bigint();
  #loaded: bigint | undefined;
  #firstOutput: bigint | undefined;

  /** The model is resolved; the pipeline starts. */
  loaded(): void {
    this.#loaded ??= process.hrtime.bigint();
  }

  /** Output arrived (only the first call counts). */
  firstOutput(): void {
    this.loaded();
    this.#firstOutput ??= process.hrtime.bigint();
  }

  /** The durations so far. */
  durations(): OllamaDurations {
    const now = process.hrtime.bigint();
    const loaded = this.#loaded ?? now;
    const evalStart = this.#firstOutput ?? loaded;
    return {
      total_duration: Number(now - this.#start),
      load_duration: Number(loaded - this.#start),
      prompt_eval_duration: Number(evalStart - loaded),
      eval_duration: Number(now - evalStart),
    };
  }
}
