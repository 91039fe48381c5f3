/**
 * The models of a `models_dir` folder: every `*.gguf` file directly in it, named after its file.
 * The folder is read again when a listing is older than a moment (a readdir and a stat per
 * file, no header read), so a file downloaded while the server runs is served without a
 * restart, and a removed one disappears.
 *
 * Left out, with the reason in `skipped` (and logged once): files still being downloaded
 * (`x.gguf` next to `x.gguf.part` or `x.gguf.ipull`), hidden files, folders, and a second file
 * that would get an id already taken. Files that do not end in `.gguf` (`*.part`, `*.ipull`,
 * `*.lock` …) are not models and are ignored without a word. Split models
 * (`name-00001-of-00003.gguf` …) are one model, `name`, served from their first part.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../src/index.ts';

/** A model file found in the folder. */
export interface ModelFile {
  /** The model's name in lists and requests: the file name without `.gguf`, made valid. */
  readonly id: string;
  /** Absolute path of the file (the first part of a split model). */
  readonly path: string;
  /** Bytes on disk (of this file; a split model's first part only). */
  readonly size: number;
  readonly modifiedAt: Date;
}

/** A `.gguf` file the folder has that is not served, and why. */
export interface SkippedFile {
  readonly file: string;
  readonly reason: string;
}

/** What one reading of the folder found. */
export interface FolderScan {
  /** The folder, absolute. */
  readonly dir: string;
  /** `missing`: not there (yet); `unreadable`: there but not a readable folder (see `problem`). */
  readonly state: 'ok' | 'missing' | 'unreadable';
  readonly problem?: string;
  /** The models, sorted by id. */
  readonly models: readonly ModelFile[];
  readonly skipped: readonly SkippedFile[];
}

/** Options of {@link ModelFolder}. */
export interface ModelFolderOptions {
  /** How long a reading is reused (default 1.5 s): listing and routing read it on every request. */
  readonly maxAgeMs?: number;
  /** Told once about each file left out, with the reason. */
  readonly logger?: Logger;
}

/** Suffixes of files a downloader writes next to (or instead of) the file it is downloading. */
const DOWNLOADING_SUFFIXES = ['.part', '.ipull'];
/** `name-00001-of-00003.gguf`: a part of a split model. */
const SPLIT_PART = /^(.*)-(\d{5})-of-(\d{5})$/;

/**
 * A `models_dir` folder, read on demand and cached briefly.
 *
 * @example
 * ```ts
 * const folder = new ModelFolder('/srv/plugboard/models');
 * const { models } = await folder.scan();            // [{ id: 'qwen2.5-0.5b-instruct-q4_k_m', path: … }]
 * const fresh = await folder.scan({ fresh: true });  // read again now, e.g. for a name not yet known
 * ```
 */
export class ModelFolder {
  readonly dir: string;
  readonly #maxAgeMs: number;
  readonly #logger: Logger | undefined;
  /** Skipped files already logged (file and reason), so that each is said once. */
  readonly #told = new Set<string>();
  #last: { readonly at: number; readonly scan: FolderScan } | undefined;
  #reading: Promise<FolderScan> | undefined;

  constructor(dir: string, options: ModelFolderOptions = {}) {
    this.dir = dir;
    this.#maxAgeMs = options.maxAgeMs ?? 1500;
    this.#logger = options.logger;
  }

  /** The folder's models: the last reading while it is recent (unless `fresh`), else a new one. */
  scan(options: { readonly fresh?: boolean } = {}): Promise<FolderScan> {
    const last = this.#last;
    if (!options.fresh && last !== undefined && performance.now() - last.at < this.#maxAgeMs) {
      return Promise.resolve(last.scan);
    }
    // Requests arriving together share one reading.
    if (this.#reading === undefined) {
      const started = performance.now();
      this.#reading = readFolder(this.dir)
        .then((scan) => {
          this.#last = { at: started, scan };
          this.#tell(scan.skipped);
          return scan;
        })
        .finally(() => {
          this.#reading = undefined;
        });
    }
    return this.#reading;
  }

  #tell(skipped: readonly SkippedFile[]): void {
    for (const { file, reason } of skipped) {
      const key = `${file}\u0000${reason}`;
      if (this.#told.has(key)) continue;
      if (this.#told.size >= 1000) this.#told.clear();
      this.#told.add(key);
      this.#logger?.warn({ modelsDir: this.dir, file }, `model file ${file} is not served: ${reason}`);
    }
  }
}

/**
 * The model id of a file name, or undefined for a name that is not a model's (not `.gguf`,
 * hidden). Whitespace becomes `-` (ids name models in URLs and requests: no spaces, no `/`).
 *
 * @example
 * ```ts
 * modelIdOf('Qwen2.5 0.5B Q4.gguf'); // 'Qwen2.5-0.5B-Q4'
 * modelIdOf('model.gguf.part');      // undefined
 * ```
 */
export function modelIdOf(fileName: string): string | undefined {
  if (fileName.startsWith('.') || !/\.gguf$/i.test(fileName)) return undefined;
  const id = fileName
    .slice(0, -'.gguf'.length)
    .trim()
    .replace(/[\s/\\]+/g, '-');
  return /[\p{L}\p{N}]/u.test(id) ? id : undefined;
}

async function readFolder(dir: string): Promise<FolderScan> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') return { dir, state: 'missing', models: [], skipped: [] };
    const problem = code === 'ENOTDIR' ? 'it is not a folder' : `it cannot be read (${String(code ?? error)})`;
    return { dir, state: 'unreadable', problem, models: [], skipped: [] };
  }
  const present = new Set(names);
  const models: ModelFile[] = [];
  const skipped: SkippedFile[] = [];
  const taken = new Map<string, string>();
  for (const name of names) {
    if (name.startsWith('.')) {
      if (/\.gguf$/i.test(name)) skipped.push({ file: name, reason: 'hidden file (its name starts with a dot)' });
      continue;
    }
    let id = modelIdOf(name);
    if (id === undefined) {
      if (/\.gguf$/i.test(name)) skipped.push({ file: name, reason: 'its name gives no usable model id' });
      continue;
    }
    const downloading = DOWNLOADING_SUFFIXES.find((suffix) => present.has(`${name}${suffix}`));
    if (downloading !== undefined) {
      skipped.push({ file: name, reason: `still being downloaded (${name}${downloading} is next to it)` });
      continue;
    }
    const split = SPLIT_PART.exec(id);
    if (split !== null) {
      if (split[2] !== '00001') continue; // served with its first part
      id = split[1]!;
    }
    const path = join(dir, name);
    const stats = await stat(path).catch(() => undefined);
    if (stats === undefined) continue; // removed meanwhile, or a broken link
    if (!stats.isFile()) {
      skipped.push({ file: name, reason: 'not a file' });
      continue;
    }
    const holder = taken.get(id);
    if (holder !== undefined) {
      skipped.push({
        file: name,
        reason: `its model id "${id}" is already the model of ${holder}: rename one of them`,
      });
      continue;
    }
    taken.set(id, name);
    models.push({ id, path, size: stats.size, modifiedAt: stats.mtime });
  }
  models.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { dir, state: 'ok', models, skipped };
}
