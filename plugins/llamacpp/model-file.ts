/**
 * Checks a GGUF file before llama.cpp sees it. llama.cpp reports most problems of a model
 * file as errors, but some it does not survive: a llama model without
 * `llama.attention.head_count` or `llama.feed_forward_length` fails an assertion while its
 * tensors are created, and the assertion aborts the whole process (exit 134). So the file's
 * header is read first with node-llama-cpp's JavaScript GGUF reader (only the header is read),
 * and a file lacking a key its architecture requires is refused with an error that names the
 * file and the key.
 *
 * node-llama-cpp is imported on the first inspection, not with this module: a configuration
 * that names the backend but leaves it off never loads it (~300 ms and ~20 MB).
 */
import { stat } from 'node:fs/promises';
import type { GgufFileInfo, GgufFileType } from 'node-llama-cpp';
import { PlugboardError } from '../../src/index.ts';

/** What the plugin knows of a model file without loading it. */
export interface ModelFileFacts {
  readonly path: string;
  readonly architecture: string;
  /** `general.name`, when the file has one. */
  readonly name?: string;
  /** Tokens the model was trained on (`<arch>.context_length`). */
  readonly contextLength: number;
  readonly embeddingLength?: number;
  readonly blockCount?: number;
  /** Parameters: the number of elements of all tensors. */
  readonly parameterCount: number;
  /** Bytes on disk. */
  readonly fileSize: number;
  readonly modifiedAt: Date;
  /** `F32`, `Q4_K_M` … from `general.file_type`, when present. */
  readonly quantization?: string;
  /** Whether the file carries a chat template (`tokenizer.chat_template`). */
  readonly hasChatTemplate: boolean;
}

/** Unsigned keys (under the architecture's prefix) every model must have, with a value ≥ 1. */
const REQUIRED_FOR_ALL = ['context_length', 'embedding_length', 'block_count'];

/**
 * Keys some architectures need besides. For `llama`: found by removing each key from a
 * small llama model and loading it — without `attention.head_count` or `feed_forward_length`
 * llama.cpp 3.21.1 aborts the process; without the others it throws.
 */
const REQUIRED_BY_ARCHITECTURE: Readonly<Record<string, readonly string[]>> = {
  llama: ['feed_forward_length', 'attention.head_count', 'attention.layer_norm_rms_epsilon'],
};

/** Keys whose value must be a positive number (or a list of them) when they are present. */
const POSITIVE = new Set([
  'context_length',
  'embedding_length',
  'block_count',
  'feed_forward_length',
  'attention.head_count',
]);

/** Keys outside the architecture's prefix that every model needs. */
const REQUIRED_GLOBAL = ['tokenizer.ggml.model', 'tokenizer.ggml.tokens'];

interface CacheEntry {
  readonly size: number;
  readonly mtimeMs: number;
  readonly facts: ModelFileFacts;
}

const cache = new Map<string, CacheEntry>();

/**
 * Reads and checks the header of the GGUF file at `path` (absolute). Cached while the file's
 * size and modification time stay the same. `origin` says where the path came from, for the
 * advice of a missing file.
 *
 * @throws PlugboardError `BACKEND_UNAVAILABLE` naming the file and what is wrong: missing,
 * unreadable, not GGUF, or lacking a required key (`details.missingKeys`); marked
 * `retryable: false`, as only a changed file helps.
 */
export async function inspectModelFile(
  path: string,
  backend: string,
  origin: 'model_path' | 'models_dir' = 'model_path',
): Promise<ModelFileFacts> {
  const stats = await stat(path).catch((error: unknown) => {
    const code = (error as { code?: unknown }).code;
    const what = code === 'ENOENT' ? 'not found' : `not readable (${String(code ?? error)})`;
    throw fileError(
      backend,
      path,
      `model file ${what}`,
      origin === 'model_path'
        ? 'check model_path (a relative path is resolved against the working directory)'
        : 'it is no longer in models_dir: list the models again (GET /v1/models)',
      error,
    );
  });
  if (!stats.isFile()) {
    throw fileError(
      backend,
      path,
      `${origin === 'model_path' ? 'model_path' : 'the model'} is not a file`,
      'point model_path at a .gguf file',
    );
  }
  const cached = cache.get(path);
  if (cached !== undefined && cached.size === stats.size && cached.mtimeMs === stats.mtimeMs) return cached.facts;

  const llamaCpp = await import('node-llama-cpp');
  let info: GgufFileInfo;
  try {
    info = await llamaCpp.readGgufFileInfo(path, {
      sourceType: 'filesystem',
      logWarnings: false,
      spliceSplitFiles: true,
    });
  } catch (error) {
    throw fileError(
      backend,
      path,
      `not a readable GGUF model (${firstLine(error)})`,
      'download or convert the model again',
      error,
    );
  }
  const facts = checkMetadata(info, llamaCpp.GgufFileType, path, backend, stats.size, stats.mtime);
  // Bounded: a models folder whose files keep changing names must not grow it forever.
  if (cache.size >= 1000) cache.clear();
  cache.set(path, { size: stats.size, mtimeMs: stats.mtimeMs, facts });
  return facts;
}

function checkMetadata(
  info: GgufFileInfo,
  fileTypes: typeof GgufFileType,
  path: string,
  backend: string,
  fileSize: number,
  modifiedAt: Date,
): ModelFileFacts {
  const metadata = info.metadata as unknown as Record<string, unknown>;
  const architecture = valueAt(metadata, 'general.architecture');
  if (typeof architecture !== 'string' || architecture === '') {
    throw missing(backend, path, ['general.architecture']);
  }
  const absent: string[] = [];
  const invalid: string[] = [];
  for (const key of [...REQUIRED_FOR_ALL, ...(REQUIRED_BY_ARCHITECTURE[architecture] ?? [])]) {
    if (valueAt(metadata, `${architecture}.${key}`) === undefined) absent.push(`${architecture}.${key}`);
  }
  for (const key of POSITIVE) {
    const value = valueAt(metadata, `${architecture}.${key}`);
    if (value !== undefined && !isPositive(value)) invalid.push(`${architecture}.${key}`);
  }
  for (const key of REQUIRED_GLOBAL) if (valueAt(metadata, key) === undefined) absent.push(key);
  if (absent.length > 0) throw missing(backend, path, absent);
  if (invalid.length > 0) {
    throw new PlugboardError(
      'BACKEND_UNAVAILABLE',
      `${backend}: model file ${path} has invalid metadata: ${invalid.map((key) => `${key} = ${JSON.stringify(String(valueAt(metadata, key)))}`).join(', ')} (must be ≥ 1) — the file is broken; download or convert the model again`,
      { plugin: backend, details: { modelPath: path, invalidKeys: invalid, retryable: false } },
    );
  }
  const number = (key: string) => {
    const value = valueAt(metadata, key);
    return typeof value === 'number' ? value : undefined;
  };
  const name = valueAt(metadata, 'general.name');
  const fileType = number('general.file_type');
  const quantization = fileType === undefined ? undefined : fileTypes[fileType]?.replace(/^(ALL|MOSTLY)_/, '');
  const embeddingLength = number(`${architecture}.embedding_length`);
  const blockCount = number(`${architecture}.block_count`);
  return {
    path,
    architecture,
    ...(typeof name === 'string' ? { name } : {}),
    contextLength: number(`${architecture}.context_length`) ?? 0,
    ...(embeddingLength === undefined ? {} : { embeddingLength }),
    ...(blockCount === undefined ? {} : { blockCount }),
    parameterCount: (info.fullTensorInfo ?? info.tensorInfo ?? []).reduce(
      (sum, tensor) => sum + tensor.dimensions.reduce<number>((product, dim) => product * Number(dim), 1),
      0,
    ),
    fileSize,
    modifiedAt,
    ...(quantization === undefined ? {} : { quantization }),
    hasChatTemplate: typeof valueAt(metadata, 'tokenizer.chat_template') === 'string',
  };
}

/** The value of a dotted GGUF key in node-llama-cpp's nested metadata. */
function valueAt(metadata: Record<string, unknown>, key: string): unknown {
  let current: unknown = metadata;
  for (const part of key.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function isPositive(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0 && value.some(isPositive);
  return (typeof value === 'number' && value >= 1) || (typeof value === 'bigint' && value >= 1n);
}

function missing(backend: string, path: string, keys: readonly string[]): PlugboardError {
  const list = keys.map((key) => `"${key}"`).join(', ');
  return new PlugboardError(
    'BACKEND_UNAVAILABLE',
    `${backend}: model file ${path} lacks required metadata key${keys.length > 1 ? 's' : ''} ${list} — the file is incomplete or broken (llama.cpp would fail or abort loading it); download or convert the model again`,
    { plugin: backend, details: { modelPath: path, missingKeys: [...keys], retryable: false } },
  );
}

function fileError(backend: string, path: string, problem: string, advice: string, cause?: unknown): PlugboardError {
  return new PlugboardError('BACKEND_UNAVAILABLE', `${backend}: ${problem}: ${path} — ${advice}`, {
    plugin: backend,
    details: { modelPath: path, retryable: false },
    ...(cause === undefined ? {} : { cause }),
  });
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
