/**
 * The llamacpp backend's errors a client sees, each saying what to do. (Load failures are
 * made where they happen: engine.ts, model-file.ts.)
 */
import { PlugboardError } from '../../src/index.ts';
import type { FolderScan } from './model-folder.ts';

/** A small chat model to start with: what the advice of an empty models folder suggests. */
export const STARTER_MODEL = 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf';

/**
 * What the folder lacks and how to fill it, in one sentence: the health check and the errors
 * of an empty folder say the same.
 *
 * @example
 * ```ts
 * emptyFolderAdvice(scan);
 * // 'no GGUF model file in /srv/plugboard/models — download one with `plugboard models pull hf:…` …'
 * ```
 */
export function emptyFolderAdvice(scan: FolderScan): string {
  const how = `download one with \`plugboard models pull ${STARTER_MODEL}\` or the web UI's download button, or copy a .gguf file into it`;
  if (scan.state === 'unreadable') {
    return `models_dir ${scan.dir} cannot be used: ${scan.problem ?? 'it is not a readable folder'} — point models_dir (or PLUGBOARD_MODELS_DIR) at a folder of .gguf files`;
  }
  const skipped =
    scan.skipped.length === 0
      ? ''
      : ` (not served: ${scan.skipped.map((file) => `${file.file}: ${file.reason}`).join('; ')})`;
  return `no GGUF model file in ${scan.dir}${scan.state === 'missing' ? ' (the folder does not exist yet)' : ''}${skipped} — ${how}`;
}

/** A request to a backend whose folder holds no model. */
export function noModelError(backend: string, scan: FolderScan, requested: string | undefined): PlugboardError {
  const advice = emptyFolderAdvice(scan);
  if (requested === undefined) {
    // 503, not 404: the request is fine, the server has nothing to answer it with yet.
    return new PlugboardError('BACKEND_UNAVAILABLE', `${backend}: ${advice}`, {
      plugin: backend,
      details: { modelsDir: scan.dir, available: [], retryable: false },
    });
  }
  return new PlugboardError('MODEL_NOT_FOUND', `${backend}: model "${requested}" not found: ${advice}`, {
    plugin: backend,
    details: { param: 'model', requested, modelsDir: scan.dir, available: [] },
  });
}

/** A request naming a model the folder does not have (it has others). */
export function notInFolderError(backend: string, scan: FolderScan, requested: string): PlugboardError {
  const available = scan.models.map((model) => model.id);
  return new PlugboardError(
    'MODEL_NOT_FOUND',
    `${backend}: no model "${requested}" in ${scan.dir} (available: ${available.join(', ')}) — pick one of those, or add ${requested}.gguf to the folder`,
    { plugin: backend, details: { param: 'model', requested, modelsDir: scan.dir, available } },
  );
}

/** A request naming another model than the one `model_path` serves. */
export function notTheModelError(backend: string, id: string, path: string, requested: string): PlugboardError {
  return new PlugboardError(
    'MODEL_NOT_FOUND',
    `${backend} serves only the model "${id}" (${path}), not "${requested}"`,
    {
      plugin: backend,
      details: { param: 'model', requested, available: [id] },
    },
  );
}

/** The caller stopped a generation. */
export function abortedError(backend: string): PlugboardError {
  return new PlugboardError('REQUEST_ABORTED', `${backend}: generation stopped: the request was cancelled`, {
    plugin: backend,
  });
}

/** A request after (or during) shutdown. */
export function shuttingDownError(backend: string): PlugboardError {
  return new PlugboardError('BACKEND_UNAVAILABLE', `${backend}: the backend is shutting down`, { plugin: backend });
}
