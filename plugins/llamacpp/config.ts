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

export const llamaCppConfigSchema = z.strictObject({
  /** Path of the .gguf file: absolute, or relative to the working directory of the process. */
  model_path: z.string().min(1),
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
  /** Load the model in `initialize()` instead of on the first request. */
  preload: z.boolean().default(false),
});

/** The configuration as written (defaults not applied). */
export type LlamaCppConfigInput = z.input<typeof llamaCppConfigSchema>;
/** The configuration with defaults applied. */
export type LlamaCppConfig = z.output<typeof llamaCppConfigSchema>;

/** The configuration with paths and `auto` values resolved where that needs no model. */
export interface ResolvedSettings extends Omit<LlamaCppConfig, 'model_path' | 'model_id' | 'threads'> {
  readonly modelPath: string;
  readonly modelId: string;
  readonly threads: number;
}

/** Resolves `model_path` against the working directory, names the model, picks the thread count. */
export function resolveSettings(config: LlamaCppConfig, cwd = process.cwd()): ResolvedSettings {
  const { model_path, model_id, threads, ...rest } = config;
  const modelPath = resolve(cwd, model_path);
  return {
    ...rest,
    modelPath,
    modelId: model_id ?? basename(modelPath).replace(/\.gguf$/i, ''),
    threads: threads === 'auto' ? defaultThreads() : threads,
  };
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
