/**
 * The models a llamacpp backend serves and which one a request means: the one `model_path`
 * file, or the `*.gguf` files of `models_dir` (re-read as they come and go, see model-folder.ts).
 */
import type { Logger } from '../../src/index.ts';
import { type ModelSettings, modelSettings, type ResolvedSettings } from './config.ts';
import { noModelError, notInFolderError, notTheModelError } from './errors.ts';
import { inspectModelFile, type ModelFileFacts } from './model-file.ts';
import { type FolderScan, ModelFolder, type SkippedFile } from './model-folder.ts';

/** A model the backend serves, with its settings. */
export interface ServedModel {
  readonly id: string;
  readonly path: string;
  readonly settings: ModelSettings;
}

/** A served model and the facts of its GGUF header. */
export interface ListedModel {
  readonly model: ServedModel;
  readonly facts: ModelFileFacts;
}

/** Options of {@link ModelCatalog}. */
export interface ModelCatalogOptions {
  readonly logger: Logger;
  /** Called with every new reading of the folder (e.g. to unload the models whose file went). */
  readonly onScan?: (scan: FolderScan) => void;
  /** How long a reading of the folder is reused (default 1.5 s). */
  readonly folderMaxAgeMs?: number;
}

/**
 * @example
 * ```ts
 * const catalog = new ModelCatalog('llamacpp', settings, { logger });
 * const model = await catalog.resolve('qwen2.5-0.5b-instruct-q4_k_m', undefined); // { id, path, settings }
 * const listed = await catalog.list();                                             // [{ model, facts }]
 * ```
 */
export class ModelCatalog {
  readonly #backend: string;
  readonly #settings: ResolvedSettings;
  readonly #folder: ModelFolder | undefined;
  readonly #options: ModelCatalogOptions;
  /** Folder files whose header was refused, by path: the reason (shown by the health check). */
  readonly #broken = new Map<string, SkippedFile>();

  constructor(backend: string, settings: ResolvedSettings, options: ModelCatalogOptions) {
    this.#backend = backend;
    this.#settings = settings;
    this.#options = options;
    const { location } = settings;
    this.#folder =
      location.kind === 'folder'
        ? new ModelFolder(location.dir, {
            logger: options.logger,
            ...(options.folderMaxAgeMs === undefined ? {} : { maxAgeMs: options.folderMaxAgeMs }),
          })
        : undefined;
  }

  /** The folder's absolute path (`models_dir`), or undefined with `model_path`. */
  get folder(): string | undefined {
    return this.#folder?.dir;
  }

  /** Folder files left out because their header was refused (found by the last listing). */
  get broken(): readonly SkippedFile[] {
    return [...this.#broken.values()];
  }

  /** The folder as it is now (a cached reading, see model-folder.ts); undefined with `model_path`. */
  async scan(options: { readonly fresh?: boolean } = {}): Promise<FolderScan | undefined> {
    if (this.#folder === undefined) return undefined;
    const scan = await this.#folder.scan(options);
    this.#options.onScan?.(scan);
    return scan;
  }

  /**
   * Every model with the facts of its header (read once per file version). The folder is read
   * afresh: the router asks for the list when a request names a model it does not know yet
   * (and caches it itself), so a file that just arrived must be in it. With `model_path`, a
   * file that cannot be served throws its reason; in a folder, such a file is left out (logged
   * once, and in {@link broken}) so that the others are still listed.
   */
  async list(): Promise<ListedModel[]> {
    const location = this.#settings.location;
    if (location.kind === 'file') {
      const model = this.#served(location.id, location.path);
      return [{ model, facts: await inspectModelFile(model.path, this.#backend) }];
    }
    const scan = (await this.scan({ fresh: true }))!;
    const listed: ListedModel[] = [];
    const present = new Set<string>();
    for (const file of scan.models) {
      present.add(file.path);
      try {
        const facts = await inspectModelFile(file.path, this.#backend, 'models_dir');
        this.#broken.delete(file.path);
        listed.push({ model: this.#served(file.id, file.path), facts });
      } catch (error) {
        const reason = firstSentence(error);
        if (this.#broken.get(file.path)?.reason !== reason) {
          this.#options.logger.warn({ modelPath: file.path }, `model file left out of the list: ${reason}`);
        }
        this.#broken.set(file.path, { file: file.path, reason });
      }
    }
    for (const path of this.#broken.keys()) if (!present.has(path)) this.#broken.delete(path);
    return listed;
  }

  /**
   * The model a request names: its id (`id:latest` too), or the default when it names none —
   * with `models_dir`, `preferred` (the model used last) while its file is there, else the
   * first by name. A name not in the last reading of the folder reads it again, so a file
   * that just arrived is found.
   *
   * @throws PlugboardError `MODEL_NOT_FOUND` (404) for a name the backend does not serve;
   * `BACKEND_UNAVAILABLE` (503) for a request naming none when the folder has no model — both
   * saying how to get one.
   */
  async resolve(requested: string | undefined, preferred: string | undefined): Promise<ServedModel> {
    const name = requested === '' ? undefined : requested;
    const location = this.#settings.location;
    if (location.kind === 'file') {
      if (name === undefined || name === location.id || name === `${location.id}:latest`) {
        return this.#served(location.id, location.path);
      }
      throw notTheModelError(this.#backend, location.id, location.path, name);
    }
    let scan = (await this.scan())!;
    let found = pick(scan, name, preferred);
    if (found === undefined && name !== undefined) {
      scan = (await this.scan({ fresh: true }))!;
      found = pick(scan, name, preferred);
    }
    if (found !== undefined) return this.#served(found.id, found.path);
    if (scan.models.length === 0) throw noModelError(this.#backend, scan, name);
    throw notInFolderError(this.#backend, scan, name!);
  }

  #served(id: string, path: string): ServedModel {
    return { id, path, settings: modelSettings(this.#settings, path, id) };
  }
}

function pick(
  scan: FolderScan,
  name: string | undefined,
  preferred: string | undefined,
): { readonly id: string; readonly path: string } | undefined {
  const { models } = scan;
  if (name === undefined) return models.find((model) => model.id === preferred) ?? models[0];
  const bare = name.endsWith(':latest') ? name.slice(0, -':latest'.length) : undefined;
  return models.find((model) => model.id === name) ?? models.find((model) => model.id === bare);
}

/** An error's message without the backend prefix, for a list of reasons. */
function firstSentence(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  return message.replace(/^[\w-]+: /, '');
}
