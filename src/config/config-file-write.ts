import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, open, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Why the server may not rewrite a configuration file, or undefined when it may. A file with no
 * write permission for anyone (`chmod a-w`) counts as read-only even for root, who could write
 * it anyway: the operator said "do not edit". Writing goes through a temporary file in the
 * same folder (see {@link writeFileAtomically}), so the folder must be writable too.
 *
 * @example
 * ```ts
 * const problem = await fileWriteProblem('/srv/plugboard/config.yaml');
 * if (problem !== undefined) console.log(`not editable: ${problem}`);
 * ```
 */
export async function fileWriteProblem(file: string): Promise<string | undefined> {
  let target: string;
  try {
    target = await realpath(file);
    const { mode } = await stat(target);
    if ((mode & 0o222) === 0) return `${file} is read-only (mode ${(mode & 0o777).toString(8)})`;
    await access(target, constants.W_OK);
  } catch (error) {
    return `${file} ${describe(error)}`;
  }
  try {
    await access(dirname(target), constants.W_OK);
  } catch (error) {
    return `its folder ${dirname(target)} ${describe(error)} (the file is replaced through a temporary file there)`;
  }
  return undefined;
}

/**
 * Replaces a file's content at once: the text goes to a temporary file in the same folder,
 * flushed to disk, which is then renamed over the file. A reader (the hot-reload watcher, an
 * editor) sees the old content or the new one, never half of it. The file keeps its
 * permissions; a symbolic link keeps pointing to it (the file it points to is replaced).
 */
export async function writeFileAtomically(file: string, text: string): Promise<void> {
  const target = await realpath(file);
  const { mode } = await stat(target);
  const temporary = join(dirname(target), `.${basename(target)}.${randomUUID()}.tmp`);
  const handle = await open(temporary, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(text, 'utf8');
      await handle.chmod(mode & 0o7777);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'EACCES' || code === 'EPERM') return 'is not writable by the server process';
  if (code === 'EROFS') return 'is on a read-only file system';
  return `cannot be written (${code ?? String(error)})`;
}
