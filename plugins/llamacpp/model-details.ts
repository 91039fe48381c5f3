/**
 * A model's entry in model lists (`GET /v1/models`, `/api/tags`, `/api/show`): facts from the
 * GGUF header, written the way Ollama writes them.
 */
import type { ModelSettings } from './config.ts';
import type { ModelFileFacts } from './model-file.ts';

/**
 * The `details` of a listed model.
 *
 * @example
 * ```ts
 * modelDetails(facts, settings, false);
 * // { format: 'gguf', family: 'qwen2', parameter_size: '494M', context_length: 32768, loaded: false, … }
 * ```
 */
export function modelDetails(facts: ModelFileFacts, settings: ModelSettings, loaded: boolean): Record<string, unknown> {
  return {
    format: 'gguf',
    family: facts.architecture,
    families: [facts.architecture],
    ...(facts.name === undefined ? {} : { name: facts.name }),
    parameter_count: facts.parameterCount,
    parameter_size: parameterSize(facts.parameterCount),
    ...(facts.quantization === undefined ? {} : { quantization_level: facts.quantization }),
    size: facts.fileSize,
    modified_at: facts.modifiedAt.toISOString(),
    context_length: facts.contextLength,
    ...(facts.embeddingLength === undefined ? {} : { embedding_length: facts.embeddingLength }),
    capabilities: settings.embeddings ? ['completion', 'embedding'] : ['completion'],
    path: settings.modelPath,
    loaded,
  };
}

/**
 * `1.2B`, `350M`, `74.1K`: Ollama's way of writing a parameter count.
 *
 * @example
 * ```ts
 * parameterSize(7_241_732_096); // '7.2B'
 * ```
 */
export function parameterSize(count: number): string {
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [size, unit] of units) {
    if (count >= size) return `${Number((count / size).toFixed(count >= size * 100 ? 0 : 1))}${unit}`;
  }
  return String(count);
}
