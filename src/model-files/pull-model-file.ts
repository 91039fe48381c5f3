// Downloads go through Node's own fetch (undici), not node-llama-cpp's `createModelDownloader`.
// That downloader (ipull underneath) renames the finished file into the folder itself, before
// any check of ours could run, so a corrupt or non-GGUF file would land where llama.cpp looks;
// it verifies no checksum (the Hub's `x-linked-etag`), keeps its resume state in its own
// `.ipull` files, deletes them on cancel by default, reads Hugging Face tokens from the
// environment and ~/.cache on its own, and loading it pulls in all of node-llama-cpp.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, rename, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isPlugboardError } from '../core/errors/plugboard-error.ts';
import { contentRangeOf, fetchModelFile, httpStatusError, networkCause } from './fetch-model-file.ts';
import { parseGgufHeader, readGgufHeader } from './gguf-header.ts';
import { modelFileErrors } from './model-file-errors.ts';
import { type ModelSource, type ModelSourceOptions, parseModelSource, shownSource } from './model-source.ts';
import { cameFrom, type PartOrigin, readPartOrigin, removePart, validatorOf, writePartOrigin } from './part-origin.ts';
import { lockTarget } from './pull-lock.ts';
import { TransferRate } from './transfer-rate.ts';

/** How far a pull is. */
export interface PullProgress {
  /** Bytes of the file on disk so far (a resumed pull starts at `resumedFrom`). */
  readonly received: number;
  /** The file's size, when the server said it. */
  readonly total: number | undefined;
  /** Recent download speed (0 until it can be measured). */
  readonly bytesPerSecond: number;
  /** Bytes the part file already had when this pull started (0: from the start). */
  readonly resumedFrom: number;
}

/** Options of {@link pullModelFile}. */
export interface PullModelFileOptions extends ModelSourceOptions {
  /** `hf:owner/repo/file.gguf`, a URL, or a source already parsed. */
  readonly source: string | ModelSource;
  /** The models folder (created when missing); relative to the working directory. */
  readonly dir: string;
  /** Stops the download; the part file is kept, and the next pull of the file resumes it. */
  readonly signal?: AbortSignal;
  /** Called as bytes arrive (per chunk: throttle the drawing yourself). */
  readonly onProgress?: (progress: PullProgress) => void;
}

/** What a pull did. */
export interface PullResult {
  /** `already-present`: the file was in the folder; nothing was downloaded. */
  readonly outcome: 'downloaded' | 'already-present';
  readonly file: string;
  /** Absolute path of the file in the models folder. */
  readonly path: string;
  readonly bytes: number;
  /** The file's SHA-256 (hex), computed while downloading; undefined when already present. */
  readonly sha256: string | undefined;
  /** `sha256`: matched the Hub's checksum; `size`: only a size was given, and matched; `none`: neither was given. */
  readonly verified: 'sha256' | 'size' | 'none';
  readonly resumedFrom: number;
}

/**
 * Downloads a GGUF model file into the models folder: as `<file>.part`, resumed with an HTTP
 * Range request when a part file is there (a server that ignores Range starts it over), checked
 * — the SHA-256 the Hub advertises (`x-linked-etag`), the size, and a GGUF header — and only
 * then renamed to `<file>`: a file that fails a check is deleted and never appears in the folder.
 * A file already in the folder is not downloaded again (`outcome: 'already-present'`). One pull
 * per target file at a time, across processes.
 *
 * @example
 * ```ts
 * const result = await pullModelFile({
 *   source: 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf',
 *   dir: 'models',
 *   onProgress: ({ received, total }) => console.log(received, total),
 * });
 * console.log(result.path); // /…/models/qwen2.5-0.5b-instruct-q4_k_m.gguf
 * ```
 * @throws PlugboardError `MODEL_SOURCE_INVALID`, `MODEL_DOWNLOAD_FAILED`,
 *   `MODEL_DOWNLOAD_INTERRUPTED` (part kept), `MODEL_CHECKSUM_MISMATCH` and `MODEL_NOT_GGUF`
 *   (part deleted), `MODEL_PULL_IN_PROGRESS`, `MODEL_PULL_CANCELLED` (part kept), `MODEL_DIR_UNWRITABLE`.
 */
export async function pullModelFile(options: PullModelFileOptions): Promise<PullResult> {
  const source = typeof options.source === 'string' ? parseModelSource(options.source, options) : options.source;
  const dir = resolve(options.dir);
  const target = join(dir, source.file);
  cancelledCheck(options.signal, target);
  await mkdir(dir, { recursive: true }).catch((error: unknown) => {
    throw unwritable(dir, error);
  });
  const release = await lockTarget(target).catch((error: unknown) => {
    throw isPlugboardError(error) ? error : unwritable(dir, error);
  });
  try {
    const existing = await stat(target).catch(() => undefined);
    if (existing?.isFile()) {
      return {
        outcome: 'already-present',
        file: source.file,
        path: target,
        bytes: existing.size,
        sha256: undefined,
        verified: 'none',
        resumedFrom: 0,
      };
    }
    return await download(source, target, options);
  } finally {
    await release();
  }
}

async function download(source: ModelSource, target: string, options: PullModelFileOptions): Promise<PullResult> {
  const part = `${target}.part`;
  const { signal } = options;
  // A part file the server cannot continue (longer than the file, a range it refuses) is
  // started over, once.
  for (let attempt = 0; ; attempt++) {
    let partSize = (await stat(part).catch(() => undefined))?.size ?? 0;
    let origin = partSize > 0 ? await readPartOrigin(part) : undefined;
    if (partSize > 0 && !cameFrom(origin, source.url)) {
      // Bytes of another URL (or of unknown origin) would be spliced with this one's: start over.
      await removePart(part);
      partSize = 0;
      origin = undefined;
    }
    const hash = createHash('sha256');
    // Hashed before the request: a connection left idle for the seconds this takes could time out.
    if (partSize > 0) await hashFile(part, partSize, hash, signal, target);
    const fetched = await fetchModelFile(source.url, partSize, signal, origin?.validator).catch((error: unknown) => {
      throw signal?.aborted ? cancelled(target, partSize) : error;
    });
    const { response, finalUrl } = fetched;
    const range = contentRangeOf(response.headers.get('content-range'));
    const startOver = async (): Promise<boolean> => {
      await response.body?.cancel();
      if (attempt > 0) return false;
      await removePart(part);
      return true;
    };

    if (response.status === 416 && partSize > 0) {
      // The part may already be the whole file (a pull stopped between the last byte and the rename).
      const total = range.total ?? fetched.size;
      if (total === partSize) {
        await response.body?.cancel();
        return finish(source, target, part, hash, partSize, fetched, partSize, total);
      }
      if (await startOver()) continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw httpStatusError(response, finalUrl);
    }
    const resumed = response.status === 206;
    if (resumed && range.start !== partSize) {
      if (await startOver()) continue;
      throw modelFileErrors.MODEL_DOWNLOAD_FAILED(
        `${finalUrl.host} answered bytes from ${range.start ?? 'an unknown offset'} to a request for bytes from ${partSize}`,
        { details: { url: shownSource(finalUrl) } },
      );
    }
    const startAt = resumed ? partSize : 0;
    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    const total = fetched.size ?? range.total ?? (Number.isFinite(length) ? startAt + length : undefined);
    if (resumed && total !== undefined && partSize > total) {
      if (await startOver()) continue;
      throw modelFileErrors.MODEL_DOWNLOAD_FAILED(
        `${finalUrl.host} announced ${total} bytes for a file of which ${partSize} are already here`,
        { details: { url: shownSource(finalUrl) } },
      );
    }
    // A server that ignored the range, or whose file changed (If-Range), sends the whole file:
    // the part is rewritten from byte 0, and its origin recorded anew.
    if (!resumed)
      await recordOrigin(part, { url: source.url.href, validator: validatorOf(response.headers) }, response);
    const fileHash = resumed ? hash : createHash('sha256');
    const shownAs = `${source.file} (from ${source.url.host})`;
    const received = await receive(response, part, startAt, total, fileHash, options, target, shownAs);
    return finish(source, target, part, fileHash, received, fetched, startAt, total);
  }
}

async function recordOrigin(part: string, origin: PartOrigin, response: Response): Promise<void> {
  try {
    await writePartOrigin(part, origin);
  } catch (error) {
    await response.body?.cancel();
    throw unwritable(part, error);
  }
}

/**
 * Writes the body to the part file; returns the part's size once the body has ended. A body
 * from byte 0 whose first 4 bytes are not `GGUF` (a web page, a JSON error) is refused as soon
 * as they arrive, not after the whole download: the part is deleted.
 */
async function receive(
  response: Response,
  part: string,
  startAt: number,
  total: number | undefined,
  hash: Hash,
  options: PullModelFileOptions,
  target: string,
  shownAs: string,
): Promise<number> {
  const rate = new TransferRate();
  let received = startAt;
  const report = () =>
    options.onProgress?.({ received, total, bytesPerSecond: rate.bytesPerSecond(), resumedFrom: startAt });
  let handle: FileHandle;
  try {
    handle = await open(part, startAt > 0 ? 'a' : 'w');
  } catch (error) {
    await response.body?.cancel();
    throw unwritable(part, error);
  }
  let head = startAt === 0 ? Buffer.alloc(0) : undefined;
  let notGguf: unknown;
  try {
    rate.add(received);
    report();
    if (response.body !== null) {
      for await (const chunk of response.body) {
        if (head !== undefined) {
          head = Buffer.concat([head, chunk]);
          if (head.length >= 4) {
            if (head.toString('latin1', 0, 4) !== 'GGUF') {
              try {
                parseGgufHeader(head.subarray(0, 16), shownAs);
              } catch (error) {
                notGguf = error;
              }
              break;
            }
            head = undefined;
          }
        }
        try {
          await handle.write(chunk);
        } catch (error) {
          throw unwritable(part, error);
        }
        hash.update(chunk);
        received += chunk.byteLength;
        rate.add(received);
        report();
      }
    }
    await handle.sync();
  } catch (error) {
    if (isPlugboardError(error)) throw error;
    if (options.signal?.aborted) throw cancelled(target, received);
    throw modelFileErrors.MODEL_DOWNLOAD_INTERRUPTED(
      `The download of ${target} stopped at ${received} of ${total ?? '?'} bytes (${networkCause(error)}); pull again to resume from the part file`,
      { cause: error, details: { file: target, part, received, ...(total === undefined ? {} : { total }) } },
    );
  } finally {
    await handle.close();
  }
  if (notGguf !== undefined) {
    await removePart(part);
    throw notGguf;
  }
  return received;
}

/** Checks the complete part file — size, SHA-256, GGUF header — and renames it into place. */
async function finish(
  source: ModelSource,
  target: string,
  part: string,
  hash: Hash,
  bytes: number,
  fetched: { readonly sha256: string | undefined; readonly size: number | undefined },
  resumedFrom: number,
  total: number | undefined = fetched.size,
): Promise<PullResult> {
  if (total !== undefined && bytes < total) {
    throw modelFileErrors.MODEL_DOWNLOAD_INTERRUPTED(
      `The download of ${target} ended at ${bytes} of ${total} bytes; pull again to resume from the part file`,
      { details: { file: target, part, received: bytes, total } },
    );
  }
  const refuse = async (error: ReturnType<typeof modelFileErrors.MODEL_NOT_GGUF>) => {
    await removePart(part);
    return error;
  };
  if (total !== undefined && bytes > total) {
    throw await refuse(
      modelFileErrors.MODEL_CHECKSUM_MISMATCH(
        `${source.file} is ${bytes} bytes, but its server announced ${total}; the part file was deleted`,
        { details: { file: target, bytes, expected: total } },
      ),
    );
  }
  const sha256 = hash.digest('hex');
  if (fetched.sha256 !== undefined && sha256 !== fetched.sha256) {
    throw await refuse(
      modelFileErrors.MODEL_CHECKSUM_MISMATCH(
        `${source.file} has SHA-256 ${sha256}, but its server announced ${fetched.sha256}; the part file was deleted`,
        { details: { file: target, sha256, expected: fetched.sha256 } },
      ),
    );
  }
  try {
    await readGgufHeader(part, `${source.file} (from ${source.url.host})`);
  } catch (error) {
    throw isPlugboardError(error) ? await refuse(error) : unwritable(part, error);
  }
  await rename(part, target);
  await removePart(part);
  return {
    outcome: 'downloaded',
    file: source.file,
    path: target,
    bytes,
    sha256,
    verified: fetched.sha256 !== undefined ? 'sha256' : total !== undefined ? 'size' : 'none',
    resumedFrom,
  };
}

/** Feeds the first `length` bytes of the part file into the hash (a resume's digest starts there). */
async function hashFile(
  path: string,
  length: number,
  hash: Hash,
  signal: AbortSignal | undefined,
  target: string,
): Promise<void> {
  try {
    const stream = createReadStream(path, { end: length - 1, ...(signal === undefined ? {} : { signal }) });
    for await (const chunk of stream) hash.update(chunk as Buffer);
  } catch (error) {
    if (signal?.aborted) throw cancelled(target, length);
    throw unwritable(path, error);
  }
}

function cancelledCheck(signal: AbortSignal | undefined, target: string): void {
  if (signal?.aborted) throw cancelled(target, 0);
}

function cancelled(target: string, received: number) {
  return modelFileErrors.MODEL_PULL_CANCELLED(
    `The pull of ${target} was cancelled at ${received} bytes; the part file is kept and the next pull resumes it`,
    { details: { file: target, received } },
  );
}

function unwritable(path: string, error: unknown) {
  const code = (error as NodeJS.ErrnoException).code;
  return modelFileErrors.MODEL_DIR_UNWRITABLE(
    `Cannot write ${path}: ${code === 'ENOSPC' ? 'the disk is full' : ((error as Error).message ?? String(error))}`,
    { cause: error, details: { path } },
  );
}
