import { stat } from 'node:fs/promises';
import type { Logger } from '../../src/index.ts';
import { type KeyRecord, readKeysFile } from './key-file.ts';

/**
 * Keeps the keys file's content current: on a request, at most once per `intervalMs`, the
 * file's stat is compared with the one last read, and a changed file is read again.
 *
 * Why a stat on the request path rather than a chokidar watcher: a revoke takes effect within
 * the interval *by construction*, whatever the file system — inotify misses changes on network
 * and some container mounts, and a Kubernetes Secret or ConfigMap is updated by swapping a
 * symlink, which `stat` (it follows links) sees as a new inode. There is no watcher to leak when
 * a reload replaces the plugin, no event racing a half-written file, and tests need no waiting
 * for events. The cost is one `stat` per interval (1 s by default) under traffic, and a request
 * that arrives when the file changed waits for it to be read.
 *
 * A file that becomes unreadable or invalid while running does not lock everyone out and does
 * not empty the key set: the last good keys stay in force, the problem is logged once and
 * reported by the health check until the file is fixed.
 *
 * @example
 * ```ts
 * const reloader = new KeyFileReloader('keys.yaml', 1000, (records) => install(records));
 * await reloader.load(); // throws if the file is missing or invalid
 * await reloader.refresh(call.logger); // on a request: re-reads the file if it changed
 * ```
 */
export class KeyFileReloader {
  #stamp: string | undefined;
  #checkedAt = Number.NEGATIVE_INFINITY;
  #pending: Promise<void> | undefined;
  #problem: string | undefined;

  constructor(
    readonly path: string,
    private readonly intervalMs: number,
    /** Installs freshly read records; may throw (a duplicate id), which counts as an invalid file. */
    private readonly install: (records: readonly KeyRecord[]) => void,
  ) {}

  /** The first read, at initialize: a missing or invalid file throws (the plugin must not start). */
  async load(): Promise<void> {
    const stamp = await this.#stat();
    this.install(await readKeysFile(this.path));
    this.#stamp = stamp;
    this.#checkedAt = Date.now();
  }

  /** Why the last re-read failed, while the file stays broken. */
  get problem(): string | undefined {
    return this.#problem;
  }

  /**
   * Checks the file if the interval has passed: `undefined` when nothing needs doing (the
   * caller goes on synchronously), else a promise settled once any change is installed.
   * Never rejects: a failed re-read keeps the last good keys.
   */
  refresh(logger: Logger, now: number = Date.now()): Promise<void> | undefined {
    if (this.#pending !== undefined) return this.#pending;
    if (now - this.#checkedAt < this.intervalMs) return undefined;
    this.#checkedAt = now;
    this.#pending = this.#check(logger).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #check(logger: Logger): Promise<void> {
    try {
      const stamp = await this.#stat();
      if (stamp === this.#stamp) return;
      const records = await readKeysFile(this.path);
      this.install(records);
      this.#stamp = stamp;
      this.#problem = undefined;
      logger.info({ operation: 'keys_file', keys: records.length }, `auth: reloaded ${this.path}`);
    } catch (error) {
      const problem = `${(error as Error).message}; the keys read before stay in force`;
      if (problem !== this.#problem) logger.error({ operation: 'keys_file' }, `auth: ${problem}`);
      this.#problem = problem;
    }
  }

  /** What identifies one version of the file: a rename over it changes the inode, an edit the times. */
  async #stat(): Promise<string> {
    const stats = await stat(this.path).catch((error: NodeJS.ErrnoException) => {
      throw new Error(
        `${this.path}: cannot read the keys file (${error.code === 'ENOENT' ? 'no such file' : error.message})`,
      );
    });
    return `${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
  }
}
