import { readFile, unlink, writeFile } from 'node:fs/promises';
import { modelFileErrors } from './model-file-errors.ts';

/** Target files this process is pulling. */
const held = new Set<string>();

/**
 * Takes the lock of one target file, so that one pull at a time writes its part file: within
 * this process (a Set), and across processes (the server and a `plugboard models pull` on the
 * same folder) with a lock file `<target>.lock` holding the owner's pid. A lock file whose
 * process is gone (a crash, a kill -9), or that names this process although it does not hold
 * it (a pid reused after a restart), is taken over. Returns the release function.
 *
 * @example
 * ```ts
 * const release = await lockTarget('/srv/models/model.gguf');
 * try { … } finally { await release(); }
 * ```
 * @throws PlugboardError `MODEL_PULL_IN_PROGRESS` when another pull holds it.
 */
export async function lockTarget(target: string): Promise<() => Promise<void>> {
  if (held.has(target)) throw busy(target, process.pid);
  held.add(target);
  const lockFile = `${target}.lock`;
  try {
    await createLockFile(lockFile, target);
  } catch (error) {
    held.delete(target);
    throw error;
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    held.delete(target);
    await unlink(lockFile).catch(() => undefined);
  };
}

async function createLockFile(lockFile: string, target: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lockFile, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt(await readFile(lockFile, 'utf8').catch(() => ''), 10);
    // A lock naming this very process is not held by it (`held` said so): it is left from an
    // earlier process that had the same pid (pid 1 in a container after every restart).
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) throw busy(target, owner);
    // Stale: its owner died. Remove it and try once more (another process may win that race).
    await unlink(lockFile).catch(() => undefined);
  }
  throw busy(target, undefined);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function busy(target: string, pid: number | undefined) {
  const who = pid === process.pid ? 'this process' : pid === undefined ? 'another process' : `process ${pid}`;
  return modelFileErrors.MODEL_PULL_IN_PROGRESS(
    `Another pull (${who}) is already downloading ${target}; wait for it or cancel it first (if no pull runs, delete ${target}.lock)`,
    { details: { file: target } },
  );
}
