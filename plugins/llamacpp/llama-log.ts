/**
 * llama.cpp's log, as one model's load and use sees it: its warnings and errors go to the
 * plugin's logger, and the latest error lines are kept to explain a failed load.
 */
import { LlamaLogLevel } from 'node-llama-cpp';
import { type Logger, PlugboardError } from '../../src/index.ts';

/** llama.cpp log lines kept to explain a failed load. */
const KEPT_LOG_LINES = 40;

/**
 * llama.cpp's log: warnings and errors go to the plugin's logger, and the latest lines are
 * kept so that a failed load can say why (node-llama-cpp's error says only "Failed to load
 * model"; the reason, e.g. "tensor 'blk.0.attn_q.weight' not found", is in the log).
 */
export class LlamaLog {
  readonly #lines: string[] = [];
  /** Lines written since the start, kept or not. */
  #written = 0;
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  readonly write = (level: LlamaLogLevel, message: string): void => {
    const text = message.trim();
    if (text === '') return;
    if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) {
      this.#lines.push(text);
      this.#written++;
      if (this.#lines.length > KEPT_LOG_LINES) this.#lines.shift();
      this.#logger.error({ llamaCpp: text }, 'llama.cpp error');
    } else if (level === LlamaLogLevel.warn) {
      this.#logger.warn({ llamaCpp: text }, 'llama.cpp warning');
    }
  };

  /** Runs `action`; on failure, throws `BACKEND_UNAVAILABLE` with llama.cpp's reason. */
  async explain<T>(action: () => Promise<T>, describe: (reason: string) => string, backend: string): Promise<T> {
    const before = this.#written;
    try {
      return await action();
    } catch (error) {
      // The binding's log lines arrive on the event loop, possibly after the rejection.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const lines = this.#lines.slice(Math.max(0, this.#lines.length - (this.#written - before)));
      // Another attempt would fail the same way: the file or the settings must change.
      throw new PlugboardError('BACKEND_UNAVAILABLE', describe(reasonFrom(lines) ?? firstLine(error)), {
        plugin: backend,
        cause: error,
        details: { retryable: false, ...(lines.length > 0 ? { llamaCppLog: lines } : {}) },
      });
    }
  }
}

/**
 * The most telling line of llama.cpp's error log: the reason after "error loading model:",
 * else the first specific line ("failed to load model" alone says nothing).
 */
export function reasonFrom(lines: readonly string[]): string | undefined {
  const specific = lines.filter((line) => !/failed to load model( from .*)?$/.test(line));
  for (const line of specific) {
    const match = /error loading model:\s*(.+)$/.exec(line);
    if (match?.[1] !== undefined) return match[1].trim();
  }
  const first = specific[0];
  return first?.replace(/^[a-z_]+:\s*/, '');
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
