/**
 * The llamacpp backend's configuration (the `config` of its entry in plugins/config.yaml).
 * Every key is documented, with its default, in plugins/llamacpp/README.md.
 */
import { availableParallelism } from 'node:os';
import { basename, resolve } from 'node:path';
import { z } from 'zod';

/** GPU back-ends node-llama-cpp can load (`false`: CPU only). */
export const GPU_TYPES = ['auto', 'cuda', 'vulkan', 'metal'] as const;

/** Chat wrappers node-llama-cpp knows by name; `auto` reads the model's template. */
export const CHAT_WRAPPERS = [
  'auto',
  'general',
  'llama3.2-lightweight',
  'llama3.1',
  'llama3',
  'llama2Chat',
  'mistral',
  'chatML',
  'qwen',
  'gemma',
  'gemma4',
  'deepSeek',
  'falconChat',
  'alpacaChat',
  'functionary',
  'harmony',
  'seed',
] as const;

export const llamaCppConfigSchema = z
  .strictObject({
    /** Path of the .gguf file: absolute, or relative to the working directory of the process. */
    model_path: z.string().min(1).optional(),
    /** A folder whose `*.gguf` files are the models (re-read while running); instead of `model_path`. */
    models_dir: z.string().min(1).optional(),
    /** The model's name in model lists and requests (default: the file name without `.gguf`). */
    model_id: z
      .string()
      .min(1)
      .regex(/^[^/\s]+$/, 'no slashes or spaces')
      .optional(),
    /** `false` (CPU only, the default), or a GPU back-end (its binaries must be installed, see README). */
    gpu: z.union([z.literal(false), z.enum(GPU_TYPES)]).default(false),
    /** Layers to put on the GPU: `auto` (as many as fit), or a number. Ignored on the CPU. */
    gpu_layers: z.union([z.literal('auto'), z.number().int().min(0)]).default('auto'),
    /** CPU threads for inference: a number, or `auto` (half the CPU cores, at least 1). */
    threads: z.union([z.literal('auto'), z.number().int().min(1)]).default('auto'),
    /** Tokens each sequence can hold: a number, or `auto` (the model's training context, at most 4096). */
    context_size: z.union([z.literal('auto'), z.number().int().min(16)]).default('auto'),
    /** Requests served at once (context sequences); more wait in line. */
    sequences: z.number().int().min(1).max(64).default(2),
    /** Tokens to generate when the request does not say. */
    max_tokens: z.number().int().min(1).default(1024),
    /** Sampling defaults, used when the request does not set them. */
    temperature: z.number().min(0).max(2).default(0.8),
    top_p: z.number().min(0).max(1).default(0.95),
    top_k: z.number().int().min(0).default(40),
    min_p: z.number().min(0).max(1).default(0.05),
    repeat_penalty: z.number().min(1).default(1.1),
    /** Seed of the sampler when the request gives none (default: random per request). */
    seed: z.number().int().optional(),
    /** Serve embeddings (`/v1/embeddings`, `/api/embed`) from this model; the context is made on first use. */
    embeddings: z.boolean().default(true),
    /** How to turn messages into the model's prompt: `auto` (the model's own template), or a named format. */
    chat_wrapper: z.enum(CHAT_WRAPPERS).default('auto'),
    /** Models loaded at once (`models_dir`); another one first unloads the least recently used idle one. */
    max_loaded_models: z.number().int().min(1).max(64).default(1),
    /** Load the model in `initialize()` instead of on the first request. */
    preload: z.boolean().default(false),
  })
  .superRefine((config, issues) => {
    if ((config.model_path === undefined) === (config.models_dir === undefined)) {
      issues.addIssue({
        code: 'custom',
        path: [config.model_path === undefined ? 'models_dir' : 'model_path'],
        message:
          config.model_path === undefined
            ? 'set models_dir (a folder of .gguf files) or model_path (one .gguf file)'
            : 'set either model_path or models_dir, not both',
      });
    }
    if (config.model_id !== undefined && config.model_path === undefined) {
      issues.addIssue({
        code: 'custom',
        path: ['model_id'],
        message: 'model_id names the model_path file; with models_dir each model is named after its file',
      });
    }
  });

/** The configuration as written (defaults not applied). */
export type LlamaCppConfigInput = z.input<typeof llamaCppConfigSchema>;
/** The configuration with defaults applied. */
export type LlamaCppConfig = z.output<typeof llamaCppConfigSchema>;

/** Where the models come from: one file, or every GGUF file of a folder. */
export type ModelLocation =
  | { readonly kind: 'file'; readonly path: string; readonly id: string }
  | { readonly kind: 'folder'; readonly dir: string };

/** The configuration with paths and `auto` values resolved where that needs no model. */
export interface ResolvedSettings extends Omit<LlamaCppConfig, 'model_path' | 'models_dir' | 'model_id' | 'threads'> {
  readonly location: ModelLocation;
  readonly threads: number;
}

/** The settings of one model: the backend's, with the file and the name it is served under. */
export interface ModelSettings extends Omit<ResolvedSettings, 'location'> {
  readonly modelPath: string;
  readonly modelId: string;
}

/**
 * Resolves `model_path` / `models_dir` against the working directory (not the config file's
 * folder: a path given on the command line means the same), names a single model, picks the
 * thread count.
 */
export function resolveSettings(config: LlamaCppConfig, cwd = process.cwd()): ResolvedSettings {
  const { model_path, models_dir, model_id, threads, ...rest } = config;
  let location: ModelLocation;
  if (model_path !== undefined) {
    const path = resolve(cwd, model_path);
    location = { kind: 'file', path, id: model_id ?? basename(path).replace(/\.gguf$/i, '') };
  } else {
    // The schema lets exactly one of the two through.
    location = { kind: 'folder', dir: resolve(cwd, models_dir ?? '.') };
  }
  return { ...rest, location, threads: threads === 'auto' ? defaultThreads() : threads };
}

/** `settings` for the model in `path`, served as `id`. */
export function modelSettings(settings: ResolvedSettings, path: string, id: string): ModelSettings {
  const { location: _location, ...rest } = settings;
  return { ...rest, modelPath: path, modelId: id };
}

/**
 * Half the CPU cores, at least 1. llama.cpp's threads spin while they wait for each other:
 * with as many threads as cores (or more), any other busy process stalls every token. On a
 * 2-core machine shared with other work, 2 threads were 60× slower than 1 (1.3 s vs 0.02 s
 * for 32 tokens of the test model), and node-llama-cpp's own default (4) worse still.
 */
export function defaultThreads(cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / 2));
}
