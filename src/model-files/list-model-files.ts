import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** A file of the models folder. */
export interface ModelFileEntry {
  /** The file name (`model.gguf`; `model.gguf.part` for an unfinished download). */
  readonly file: string;
  readonly path: string;
  readonly bytes: number;
  readonly modifiedAt: Date;
  /** True for a part file: a download that stopped, which the next pull of it resumes. */
  readonly partial: boolean;
}

/**
 * The GGUF files of a models folder, and the part files of unfinished downloads, by name. A
 * folder that does not exist has none.
 *
 * @example
 * ```ts
 * for (const entry of await listModelFiles('models')) console.log(entry.file, entry.bytes);
 * ```
 */
export async function listModelFiles(dir: string): Promise<ModelFileEntry[]> {
  const folder = resolve(dir);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const entries: ModelFileEntry[] = [];
  for (const file of names.sort()) {
    const partial = /\.gguf\.part$/i.test(file);
    if (!partial && !/\.gguf$/i.test(file)) continue;
    const path = join(folder, file);
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile()) entries.push({ file, path, bytes: info.size, modifiedAt: info.mtime, partial });
  }
  return entries;
}
