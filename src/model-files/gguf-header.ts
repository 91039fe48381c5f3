import { open } from 'node:fs/promises';
import { modelFileErrors } from './model-file-errors.ts';

/** The fixed start of a GGUF file. */
export interface GgufHeader {
  /** 2 or 3 (version 1 files are obsolete: llama.cpp no longer reads them). */
  readonly version: number;
  readonly tensorCount: number;
  readonly metadataCount: number;
}

/** Magic, version (u32), tensor count (u64), metadata key-value count (u64); little-endian. */
export const GGUF_HEADER_BYTES = 24;
/** Far above any real model (the largest have a few thousand tensors and ~50 metadata keys). */
const MAX_COUNT = 1_000_000n;

/**
 * Reads and checks the header of a GGUF file: the magic `GGUF`, a version llama.cpp reads (2 or
 * 3), and tensor and metadata counts within reason. It does not load the model: a file that
 * passes may still be truncated or broken further on (the SHA-256 check covers that when the
 * server gives one).
 *
 * @example
 * ```ts
 * const header = await readGgufHeader('models/model.gguf'); // { version: 3, tensorCount: 291, metadataCount: 24 }
 * ```
 * @throws PlugboardError `MODEL_NOT_GGUF` saying what was found instead.
 */
export async function readGgufHeader(path: string, shownAs = path): Promise<GgufHeader> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(GGUF_HEADER_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, GGUF_HEADER_BYTES, 0);
    return parseGgufHeader(buffer.subarray(0, bytesRead), shownAs);
  } finally {
    await handle.close();
  }
}

/** {@link readGgufHeader} on bytes already in memory (at least the first 24 of the file). */
export function parseGgufHeader(bytes: Buffer, shownAs: string): GgufHeader {
  const notGguf = (why: string) =>
    modelFileErrors.MODEL_NOT_GGUF(`${shownAs} is not a GGUF model: ${why}`, { details: { file: shownAs } });
  if (bytes.length < 4 || bytes.toString('latin1', 0, 4) !== 'GGUF') {
    throw notGguf(`it starts with ${describeStart(bytes)} instead of "GGUF"`);
  }
  if (bytes.length < GGUF_HEADER_BYTES) throw notGguf(`it is only ${bytes.length} bytes long`);
  const version = bytes.readUInt32LE(4);
  if (version !== 2 && version !== 3) {
    throw notGguf(
      version === 1
        ? 'it is GGUF version 1, which llama.cpp no longer reads'
        : `unknown GGUF version ${version} (a big-endian file, or a damaged one)`,
    );
  }
  const tensorCount = bytes.readBigUInt64LE(8);
  const metadataCount = bytes.readBigUInt64LE(16);
  if (tensorCount > MAX_COUNT || metadataCount > MAX_COUNT || metadataCount === 0n) {
    throw notGguf(`its header is damaged (${tensorCount} tensors, ${metadataCount} metadata keys)`);
  }
  return { version, tensorCount: Number(tensorCount), metadataCount: Number(metadataCount) };
}

/** The first bytes, as text when they are printable (an HTML page, a JSON error), else hex. */
function describeStart(bytes: Buffer): string {
  if (bytes.length === 0) return 'nothing (the file is empty)';
  const head = bytes.subarray(0, Math.min(bytes.length, 16));
  const text = head.toString('latin1');
  return /^[\x20-\x7e\t\r\n]+$/.test(text) ? JSON.stringify(text) : `bytes ${head.toString('hex')}`;
}
