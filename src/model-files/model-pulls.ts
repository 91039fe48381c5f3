import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { isPlugboardError } from '../core/errors/plugboard-error.ts';
import type { Logger } from '../core/logger.ts';
import { modelFileErrors, PULL_CANCELLED } from './model-file-errors.ts';
import { type ModelSource, parseModelSource, shownSource } from './model-source.ts';
import { type PullResult, pullModelFile } from './pull-model-file.ts';

/** The model `POST /admin/models/pull` downloads when the body names none. */
export const DEFAULT_MODEL_SOURCE = 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf';

/** A pull as the admin API shows it. */
export interface ModelPullState {
  readonly id: string;
  readonly source: string;
  readonly file: string;
  readonly state: 'running' | 'done' | 'failed' | 'cancelled';
  readonly received: number;
  /** The file's size; null until (unless) the server says it. */
  readonly total: number | null;
  readonly bytesPerSecond: number;
  /** Bytes a part file from an earlier pull already had. */
  readonly resumedFrom: number;
  readonly startedAt: string;
  readonly finishedAt?: string;
  /** Done only: downloaded now, or the file was already in the folder (nothing downloaded). */
  readonly outcome?: PullResult['outcome'];
  /** Done and downloaded only: the file's SHA-256 (hex). */
  readonly sha256?: string;
  /** Failed or cancelled: what happened and what to do. */
  readonly error?: { readonly code: string; readonly message: string; readonly hint?: string };
}

/** Settings of {@link ModelPulls}. */
export interface ModelPullsOptions {
  /** The models folder (relative to the working directory). */
  readonly dir: string;
  /** What a pull without a source downloads (default {@link DEFAULT_MODEL_SOURCE}). */
  readonly defaultSource?: string;
  /** The Hugging Face endpoint for `hf:` sources (default: `HF_ENDPOINT` of `env`, else the Hub). */
  readonly endpoint?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly logger?: Logger;
  /** Finished pulls kept for listing (default 20; the oldest go first). */
  readonly keepFinished?: number;
  /**
   * Called when a pull has put a model file in the folder: the server forgets its cached model
   * lists, so the new model is listed at once (not after the router's cache time).
   */
  readonly onModelAdded?: (file: string) => void;
}

interface Pull {
  state: ModelPullState;
  readonly url: string;
  readonly controller: AbortController;
  settled: Promise<void>;
}

/**
 * Model downloads that run in the server, not in the HTTP request that started them: a client
 * starts one, polls it, and may cancel it; the server's close aborts those still running (their
 * part files stay for the next pull). One running pull per target file: starting the same
 * source again answers the running pull.
 *
 * @example
 * ```ts
 * const pulls = new ModelPulls({ dir: 'models' });
 * const { id } = pulls.start('hf:owner/repo/model.gguf');
 * pulls.get(id).state; // 'running'
 * await pulls.close();
 * ```
 */
export class ModelPulls {
  readonly dir: string;
  readonly defaultSource: string;
  readonly #options: ModelPullsOptions;
  readonly #pulls = new Map<string, Pull>();
  #closed = false;

  constructor(options: ModelPullsOptions) {
    this.#options = options;
    this.dir = resolve(options.dir);
    this.defaultSource = options.defaultSource ?? DEFAULT_MODEL_SOURCE;
  }

  /**
   * Starts a pull of `source` (default: the default source), or answers the running pull of
   * the same source.
   *
   * @throws PlugboardError `MODEL_SOURCE_INVALID`; `MODEL_PULL_IN_PROGRESS` when a running pull
   *   writes the same file from another source; `MODEL_PULL_CANCELLED` once closed.
   */
  start(source: string = this.defaultSource): ModelPullState {
    if (this.#closed) throw modelFileErrors.MODEL_PULL_CANCELLED('The server is shutting down; pull again later');
    const parsed = parseModelSource(source, this.#options);
    for (const pull of this.#pulls.values()) {
      if (pull.state.state !== 'running' || pull.state.file !== parsed.file) continue;
      if (pull.url === parsed.url.href) return pull.state;
      throw modelFileErrors.MODEL_PULL_IN_PROGRESS(
        `Pull ${pull.state.id} is already writing ${parsed.file} (from ${pull.state.source}); wait for it or cancel it (DELETE /admin/models/pulls/${pull.state.id})`,
        { details: { file: parsed.file, pull: pull.state.id } },
      );
    }
    const pull: Pull = {
      state: {
        id: randomUUID(),
        // A presigned URL's token (its query) is for the fetch only, not for pull lists.
        source: shownSource(parsed.source),
        file: parsed.file,
        state: 'running',
        received: 0,
        total: null,
        bytesPerSecond: 0,
        resumedFrom: 0,
        startedAt: new Date().toISOString(),
      },
      url: parsed.url.href,
      controller: new AbortController(),
      settled: Promise.resolve(),
    };
    this.#pulls.set(pull.state.id, pull);
    pull.settled = this.#run(pull, parsed);
    return pull.state;
  }

  /** Every pull kept, oldest first. */
  list(): ModelPullState[] {
    return [...this.#pulls.values()].map((pull) => pull.state);
  }

  /** @throws PlugboardError `MODEL_PULL_NOT_FOUND`. */
  get(id: string): ModelPullState {
    return this.#find(id).state;
  }

  /**
   * Cancels a running pull and resolves with its state once it has stopped (`cancelled`, or
   * `done` when it finished first). A finished pull is answered as it is.
   *
   * @throws PlugboardError `MODEL_PULL_NOT_FOUND`.
   */
  async cancel(id: string): Promise<ModelPullState> {
    const pull = this.#find(id);
    pull.controller.abort();
    await pull.settled;
    return pull.state;
  }

  /** Aborts the running pulls (their part files stay) and waits for them to stop. */
  async close(): Promise<void> {
    this.#closed = true;
    const running = [...this.#pulls.values()].filter((pull) => pull.state.state === 'running');
    for (const pull of running) pull.controller.abort();
    await Promise.all(running.map((pull) => pull.settled));
  }

  async #run(pull: Pull, source: ModelSource): Promise<void> {
    const logger = this.#options.logger;
    logger?.info(
      {
        operation: 'model_pull',
        pull: pull.state.id,
        source: shownSource(source.source),
        file: source.file,
        url: shownSource(source.url),
      },
      `model pull started: ${shownSource(source.source)}`,
    );
    try {
      const result = await pullModelFile({
        source,
        dir: this.dir,
        signal: pull.controller.signal,
        onProgress: (progress) => {
          pull.state = {
            ...pull.state,
            received: progress.received,
            total: progress.total ?? null,
            bytesPerSecond: progress.bytesPerSecond,
            resumedFrom: progress.resumedFrom,
          };
        },
      });
      pull.state = {
        ...pull.state,
        state: 'done',
        received: result.bytes,
        total: result.bytes,
        bytesPerSecond: 0,
        finishedAt: new Date().toISOString(),
        outcome: result.outcome,
        ...(result.sha256 === undefined ? {} : { sha256: result.sha256 }),
      };
      this.#options.onModelAdded?.(result.path);
      logger?.info(
        {
          operation: 'model_pull',
          pull: pull.state.id,
          file: result.path,
          outcome: result.outcome,
          bytes: result.bytes,
          verified: result.verified,
          success: true,
        },
        `model pull ${result.outcome === 'downloaded' ? 'finished' : 'skipped: the file is already there'}: ${result.path}`,
      );
    } catch (error) {
      const cancelled = isPlugboardError(error, PULL_CANCELLED);
      const shown = isPlugboardError(error)
        ? { code: error.code, message: error.publicMessage, ...(error.hint === undefined ? {} : { hint: error.hint }) }
        : { code: 'INTERNAL_ERROR', message: 'The pull failed unexpectedly; the server log has the cause' };
      pull.state = {
        ...pull.state,
        state: cancelled ? 'cancelled' : 'failed',
        bytesPerSecond: 0,
        finishedAt: new Date().toISOString(),
        error: shown,
      };
      logger?.[cancelled ? 'info' : 'warn'](
        {
          operation: 'model_pull',
          pull: pull.state.id,
          file: source.file,
          outcome: pull.state.state,
          error: shown.code,
          success: false,
          ...(isPlugboardError(error) ? {} : { cause: String(error) }),
        },
        `model pull ${pull.state.state}: ${isPlugboardError(error) ? error.message : String(error)}`,
      );
    }
    this.#forgetOldest();
  }

  #find(id: string): Pull {
    const pull = this.#pulls.get(id);
    if (pull === undefined) {
      throw modelFileErrors.MODEL_PULL_NOT_FOUND(`No model pull has the id "${id}"`, { details: { id } });
    }
    return pull;
  }

  /** Keeps the newest finished pulls; running ones always stay. */
  #forgetOldest(): void {
    const keep = this.#options.keepFinished ?? 20;
    const finished = [...this.#pulls.values()].filter((pull) => pull.state.state !== 'running');
    for (const pull of finished.slice(0, Math.max(0, finished.length - keep))) this.#pulls.delete(pull.state.id);
  }
}
