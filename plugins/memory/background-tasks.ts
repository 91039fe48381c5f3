/**
 * Work memory does after a reply is sent (summaries, titles): started without delaying the
 * client, one at a time per key (a conversation is summarized by one task at once), each under
 * a timeout, its failures logged and never thrown, and all awaited when the plugin shuts down.
 */
import type { Logger } from '../../src/index.ts';

/**
 * Tracked background tasks.
 *
 * @example
 * ```ts
 * const tasks = new BackgroundTasks(logger, 120_000);
 * tasks.start(`summary:${id}`, (signal) => summarize(id, signal));
 * await tasks.drain(); // at shutdown
 * ```
 */
export class BackgroundTasks {
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #running = new Map<string, Promise<void>>();
  readonly #stopping = new AbortController();

  constructor(logger: Logger, timeoutMs: number) {
    this.#logger = logger;
    this.#timeoutMs = timeoutMs;
  }

  /** How many tasks run now. */
  get size(): number {
    return this.#running.size;
  }

  /**
   * Starts `task` unless one with the same key is running (it will see the newer state when
   * asked again) or the plugin is stopping. Its signal aborts at the timeout.
   * @returns whether it started
   */
  start(key: string, task: (signal: AbortSignal) => Promise<void>): boolean {
    if (this.#running.has(key) || this.#stopping.signal.aborted) return false;
    const signal = AbortSignal.timeout(this.#timeoutMs);
    const running = task(signal)
      .catch((error: unknown) => {
        this.#logger.warn(
          { task: key.split(':')[0], reason: error instanceof Error ? error.message : String(error) },
          'memory: a background task failed; it is tried again after a later reply',
        );
      })
      .finally(() => this.#running.delete(key));
    this.#running.set(key, running);
    return true;
  }

  /** Refuses new tasks and waits for the running ones (each ends by its timeout at the latest). */
  async drain(): Promise<void> {
    this.#stopping.abort();
    while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()]);
  }

  /** Waits for the running tasks without refusing new ones (tests). */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()]);
  }
}
