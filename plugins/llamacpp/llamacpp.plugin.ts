/**
 * The llamacpp backend: runs a GGUF model in the server's own process with llama.cpp
 * (through node-llama-cpp), on the CPU unless configured otherwise. No other service needed.
 *
 * - The model loads on the first request (or at start with `preload: true`), once, however
 *   many requests arrive together; `initialize()` only reads the configuration. node-llama-cpp
 *   itself is imported on first use (the model file's check, or the load), not with this file.
 * - Before llama.cpp sees the file, its header is checked (see model-file.ts): some broken
 *   files would otherwise abort the whole process.
 * - `sequences` requests generate at once, each on its own context sequence; more wait in line.
 * - Streaming, cancellation (the sequence is freed after the current token), token usage,
 *   stop sequences, seeds, JSON output (`responseFormat`), thinking segments and embeddings.
 *
 * See plugins/llamacpp/README.md for the configuration.
 */
import {
  type BackendProvider,
  type ChatChunk,
  type ChatCompletion,
  type ChatContext,
  createMessage,
  type EmbeddingRequest,
  type EmbeddingResult,
  type HealthReport,
  type Logger,
  type ModelInfo,
  PlugboardError,
  type PluginCall,
  type PluginConfig,
  type PluginMetadata,
} from '../../src/index.ts';
import { toChatHistory } from './chat-history.ts';
import { ChunkChannel } from './chunk-channel.ts';
import { type LlamaCppConfig, llamaCppConfigSchema, type ResolvedSettings, resolveSettings } from './config.ts';
// engine.ts (and node-llama-cpp with it) is imported when the model loads: see #load.
import type { GenerationResult, LlamaCppEngine } from './engine.ts';
import { inspectModelFile, type ModelFileFacts } from './model-file.ts';

export { type LlamaCppConfig, type LlamaCppConfigInput, llamaCppConfigSchema } from './config.ts';

/** Options of {@link createLlamaCppBackend}. */
export interface LlamaCppBackendOptions {
  /** The plugin's name (default `llamacpp`): give each instance its own to serve several models. */
  readonly name?: string;
}

/** The llamacpp backend plugin. One instance serves one model file. */
export class LlamaCppBackend implements BackendProvider<LlamaCppConfig> {
  readonly metadata: PluginMetadata<LlamaCppConfig>;
  #settings: ResolvedSettings | undefined;
  #logger: Logger | undefined;
  #engine: LlamaCppEngine | undefined;
  #loading: Promise<LlamaCppEngine> | undefined;
  #lastLoadError: PlugboardError | undefined;
  #closed = false;

  constructor(options: LlamaCppBackendOptions = {}) {
    this.metadata = {
      name: options.name ?? 'llamacpp',
      version: '1.0.0',
      description: 'Runs a local GGUF model in-process with llama.cpp (node-llama-cpp)',
      kinds: ['backend-provider'],
      configSchema: llamaCppConfigSchema,
      // The first request loads the model, and a long prompt on a CPU takes a while before its first token.
      timeoutMs: 120_000,
    };
  }

  /** Whether the model is loaded (it loads on the first request, or at start with `preload`). */
  get loaded(): boolean {
    return this.#engine !== undefined;
  }

  async initialize(config: PluginConfig<LlamaCppConfig>, call: PluginCall): Promise<void> {
    this.#settings = resolveSettings(config.config);
    this.#logger = call.logger;
    this.#closed = false;
    if (this.#settings.preload) await this.#ready(call.signal);
  }

  async chat(context: ChatContext, call: PluginCall): Promise<ChatCompletion | AsyncIterable<ChatChunk>> {
    const settings = this.#configured();
    this.#checkModel(context.model, settings);
    this.#checkRequest(context, settings);
    const history = toChatHistory(context.messages);
    const engine = await this.#ready(call.signal);
    if (!context.stream) {
      const result = await engine.generate(history, context.options, call.signal, ignore);
      this.#noteShortened(result, call);
      return {
        message: createMessage({
          role: 'assistant',
          content: result.content,
          ...(result.thinking === '' ? {} : { thinking: result.thinking }),
        }),
        usage: { promptTokens: result.promptTokens, completionTokens: result.completionTokens },
        finishReason: result.finishReason,
        model: settings.modelId,
      };
    }
    // Stopped by the caller's signal, or by the consumer leaving the stream early.
    const controller = new AbortController();
    const abort = () => controller.abort(call.signal.reason ?? aborted(this.metadata.name));
    call.signal.addEventListener('abort', abort, { once: true });
    if (call.signal.aborted) abort();
    const channel = new ChunkChannel(() => controller.abort(aborted(this.metadata.name)));
    engine
      .generate(history, context.options, controller.signal, (chunk) => channel.push(chunk))
      .then(
        (result) => {
          this.#noteShortened(result, call);
          channel.push({
            usage: { promptTokens: result.promptTokens, completionTokens: result.completionTokens },
            finishReason: result.finishReason,
          });
          channel.end();
        },
        (error: unknown) => channel.fail(error),
      )
      .finally(() => call.signal.removeEventListener('abort', abort));
    return channel;
  }

  async listModels(): Promise<readonly ModelInfo[]> {
    const settings = this.#configured();
    const facts = await inspectModelFile(settings.modelPath, this.metadata.name);
    return [{ id: settings.modelId, details: this.#details(facts, settings) }];
  }

  async embed(request: EmbeddingRequest, call: PluginCall): Promise<EmbeddingResult> {
    const settings = this.#configured();
    this.#checkModel(request.model, settings);
    if (!settings.embeddings) {
      throw new PlugboardError(
        'REQUEST_INVALID',
        `${this.metadata.name}: embeddings are turned off for model "${settings.modelId}" — set embeddings: true in its config`,
        { plugin: this.metadata.name },
      );
    }
    const engine = await this.#ready(call.signal);
    const { embeddings, promptTokens } = await engine.embed(request.input, call.signal);
    return { model: settings.modelId, embeddings, promptTokens };
  }

  async healthCheck(): Promise<HealthReport> {
    const settings = this.#configured();
    const engine = this.#engine;
    if (engine !== undefined) {
      return {
        status: 'healthy',
        message: `model ${settings.modelId} loaded`,
        details: {
          loaded: true,
          gpu: engine.gpu,
          contextSize: engine.contextSize,
          chatWrapper: engine.chatWrapperName,
          ...engine.stats,
        },
      };
    }
    try {
      await inspectModelFile(settings.modelPath, this.metadata.name);
    } catch (error) {
      return { status: 'unhealthy', message: (error as Error).message, details: { loaded: false } };
    }
    if (this.#lastLoadError !== undefined) {
      return { status: 'unhealthy', message: this.#lastLoadError.message, details: { loaded: false } };
    }
    return {
      status: 'healthy',
      message: `model ${settings.modelId} ${this.#loading ? 'loading' : 'loads on the first request'}`,
      details: { loaded: false, modelPath: settings.modelPath },
    };
  }

  async shutdown(): Promise<void> {
    this.#closed = true;
    const loading = this.#loading;
    this.#loading = undefined;
    const engine = this.#engine ?? (await loading?.catch(() => undefined));
    this.#engine = undefined;
    await engine?.dispose();
  }

  // ——— internals ———

  #configured(): ResolvedSettings {
    if (this.#settings === undefined) {
      throw new PlugboardError('PLUGIN_NOT_ACTIVE', `${this.metadata.name}: not initialized`, {
        plugin: this.metadata.name,
      });
    }
    return this.#settings;
  }

  /** The loaded engine; the first caller loads it, others wait for the same load. */
  #ready(signal: AbortSignal): Promise<LlamaCppEngine> {
    if (this.#engine !== undefined) return Promise.resolve(this.#engine);
    if (this.#closed) return Promise.reject(shuttingDown(this.metadata.name));
    if (this.#loading === undefined) {
      const loading = this.#load();
      this.#loading = loading;
      loading.then(
        (engine) => {
          if (this.#loading !== loading) return; // shut down meanwhile: shutdown() disposes it
          this.#engine = engine;
          this.#loading = undefined;
          this.#lastLoadError = undefined;
        },
        (error: unknown) => {
          if (this.#loading === loading) this.#loading = undefined; // the next request tries again
          this.#lastLoadError = error instanceof PlugboardError ? error : undefined;
        },
      );
    }
    // One caller giving up does not stop the load the others wait for.
    return untilAborted(this.#loading, signal);
  }

  async #load(): Promise<LlamaCppEngine> {
    const settings = this.#configured();
    const logger = this.#logger!;
    const facts = await inspectModelFile(settings.modelPath, this.metadata.name);
    const started = performance.now();
    // Only now: node-llama-cpp and its dependencies cost ~300 ms and ~20 MB to import, which a
    // server that names this backend but never uses it (or leaves it off) should not pay.
    const { LlamaCppEngine } = await import('./engine.ts');
    const engine = await LlamaCppEngine.load(this.metadata.name, settings, facts, logger);
    logger.info(
      {
        modelPath: settings.modelPath,
        durationMs: Math.round(performance.now() - started),
        gpu: engine.gpu,
        contextSize: engine.contextSize,
        sequences: settings.sequences,
        threads: settings.threads,
        chatWrapper: engine.chatWrapperName,
      },
      `model ${settings.modelId} loaded`,
    );
    return engine;
  }

  #noteShortened(result: GenerationResult, call: PluginCall): void {
    if (result.droppedMessages === 0) return;
    call.logger.warn(
      { droppedMessages: result.droppedMessages, promptTokens: result.promptTokens },
      'conversation too long for the context: its oldest turns were left out',
    );
  }

  #checkModel(model: string | undefined, settings: ResolvedSettings): void {
    if (model === undefined || model === '' || model === settings.modelId || model === `${settings.modelId}:latest`) {
      return;
    }
    throw new PlugboardError(
      'MODEL_NOT_FOUND',
      `${this.metadata.name} serves only the model "${settings.modelId}" (${settings.modelPath}), not "${model}"`,
      { plugin: this.metadata.name, details: { requested: model, available: [settings.modelId] } },
    );
  }

  #checkRequest(context: ChatContext, settings: ResolvedSettings): void {
    const { tools, toolChoice } = context.options;
    if (tools !== undefined && tools.length > 0 && toolChoice !== 'none') {
      throw new PlugboardError(
        'REQUEST_INVALID',
        `${this.metadata.name}: model "${settings.modelId}" is not offered tools by this backend — send the request without tools, or use another backend for tool calling`,
        { plugin: this.metadata.name, details: { param: 'tools' } },
      );
    }
    if (context.messages.some((message) => message.images !== undefined && message.images.length > 0)) {
      throw new PlugboardError(
        'REQUEST_INVALID',
        `${this.metadata.name}: model "${settings.modelId}" does not read images (this backend serves text models only)`,
        { plugin: this.metadata.name, details: { param: 'messages' } },
      );
    }
  }

  #details(facts: ModelFileFacts, settings: ResolvedSettings): Record<string, unknown> {
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
      loaded: this.#engine !== undefined,
    };
  }
}

/** A new llamacpp backend (the plugin file's default export: the loader calls it). */
export function createLlamaCppBackend(options: LlamaCppBackendOptions = {}): LlamaCppBackend {
  return new LlamaCppBackend(options);
}

export default createLlamaCppBackend;

/** `1.2B`, `350M`, `74.1K`: Ollama's way of writing a parameter count. */
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

/** `promise`, or the signal's reason as soon as it is aborted (the promise goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function aborted(backend: string): PlugboardError {
  return new PlugboardError('REQUEST_ABORTED', `${backend}: generation stopped: the request was cancelled`, {
    plugin: backend,
  });
}

function shuttingDown(backend: string): PlugboardError {
  return new PlugboardError('BACKEND_UNAVAILABLE', `${backend}: the backend is shutting down`, { plugin: backend });
}

function ignore(): void {}
