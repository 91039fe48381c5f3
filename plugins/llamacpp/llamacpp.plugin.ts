/**
 * The llamacpp backend: runs GGUF models in the server's own process with llama.cpp (through
 * node-llama-cpp), on the CPU unless configured otherwise. No other service needed.
 *
 * - One model file (`model_path`), or every `*.gguf` file of a folder (`models_dir`), read
 *   again as files come and go (model-folder.ts, model-catalog.ts).
 * - A model loads on its first request (or at start with `preload: true`), once, however many
 *   requests arrive together; at most `max_loaded_models` stay loaded, the least recently used
 *   idle one making room (model-residency.ts). `initialize()` only reads the configuration, and
 *   node-llama-cpp itself is imported on first use (a header read, or a load), not with this file.
 * - Before llama.cpp sees a file, its header is checked (see model-file.ts): some broken
 *   files would otherwise abort the whole process.
 * - `sequences` requests generate at once per model, each on its own context sequence; more
 *   wait in line (engine.ts).
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
// engine.ts (and node-llama-cpp with it) is imported when a model loads: see #load.
import type { GenerationResult, LlamaCppEngine } from './engine.ts';
import { abortedError, shuttingDownError } from './errors.ts';
import { folderHealth } from './folder-health.ts';
import { ModelCatalog, type ServedModel } from './model-catalog.ts';
import { modelDetails } from './model-details.ts';
import { inspectModelFile } from './model-file.ts';
import { type ModelLease, ModelResidency } from './model-residency.ts';
import type { LlamaLease } from './shared-llama.ts';

export { type LlamaCppConfig, type LlamaCppConfigInput, llamaCppConfigSchema } from './config.ts';
export { parameterSize } from './model-details.ts';

/** Options of {@link createLlamaCppBackend}. */
export interface LlamaCppBackendOptions {
  /** The plugin's name (default `llamacpp`): give each instance its own to run several side by side. */
  readonly name?: string;
  /**
   * How long a reading of `models_dir` is reused by requests and the health check (default
   * 1.5 s; listing models always reads it again). Tests set 0.
   */
  readonly folderMaxAgeMs?: number;
}

/** What one initialization of the plugin set up. */
interface Running {
  readonly settings: ResolvedSettings;
  readonly logger: Logger;
  readonly catalog: ModelCatalog;
  readonly residency: ModelResidency<ServedModel, LlamaCppEngine>;
  /** The last load failure of each model, until it loads: the health check reports it. */
  readonly loadErrors: Map<string, PlugboardError>;
  /**
   * A hold on the llama.cpp binding from the first load until shutdown. Without it, unloading
   * the only loaded model would free the binding, and the next model would wait ~3 s for a new
   * one: switching models with `max_loaded_models: 1` must cost only the model's own load.
   */
  llama: Promise<LlamaLease> | undefined;
}

/** The llamacpp backend plugin: one model file, or a folder of them. */
export class LlamaCppBackend implements BackendProvider<LlamaCppConfig> {
  readonly metadata: PluginMetadata<LlamaCppConfig>;
  readonly #folderMaxAgeMs: number | undefined;
  #running: Running | undefined;

  constructor(options: LlamaCppBackendOptions = {}) {
    this.#folderMaxAgeMs = options.folderMaxAgeMs;
    this.metadata = {
      name: options.name ?? 'llamacpp',
      version: '1.1.0',
      description: 'Runs local GGUF models in-process with llama.cpp (node-llama-cpp)',
      kinds: ['backend-provider'],
      configSchema: llamaCppConfigSchema,
      // The first request loads the model, and a long prompt on a CPU takes a while before its first token.
      timeoutMs: 120_000,
    };
  }

  /** Whether a model is loaded (models load on their first request, or at start with `preload`). */
  get loaded(): boolean {
    return this.#running?.residency.residents.some((resident) => resident.state === 'ready') ?? false;
  }

  async initialize(config: PluginConfig<LlamaCppConfig>, call: PluginCall): Promise<void> {
    const settings = resolveSettings(config.config);
    const backend = this.metadata.name;
    const logger = call.logger;
    const loadErrors = new Map<string, PlugboardError>();
    // Loads belong to this initialization, even if another one follows (a reload).
    let running: Running | undefined;
    const residency = new ModelResidency<ServedModel, LlamaCppEngine>({
      maxLoaded: settings.location.kind === 'file' ? 1 : settings.max_loaded_models,
      load: (model) => this.#load(running!, model),
      onUnloaded: (model, error) => {
        if (error === undefined) logger.info({ modelPath: model.path }, `model ${model.id} unloaded`);
        else logger.warn({ modelPath: model.path, err: error }, `model ${model.id}: unloading failed`);
      },
      closedError: () => shuttingDownError(backend),
    });
    const catalog = new ModelCatalog(backend, settings, {
      logger,
      ...(this.#folderMaxAgeMs === undefined ? {} : { folderMaxAgeMs: this.#folderMaxAgeMs }),
      // A model whose file was removed is unloaded as soon as nobody uses it.
      onScan: (scan) => {
        const present = new Set(scan.models.map((model) => model.id));
        residency.unloadIdle((id) => present.has(id));
      },
    });
    running = { settings, logger, catalog, residency, loadErrors, llama: undefined };
    this.#running = running;
    if (settings.preload) await this.#preload(running, call.signal);
  }

  async chat(context: ChatContext, call: PluginCall): Promise<ChatCompletion | AsyncIterable<ChatChunk>> {
    const running = this.#configured();
    const model = await running.catalog.resolve(context.model, running.residency.lastUsed);
    this.#checkRequest(context, model.id);
    const history = toChatHistory(context.messages);
    const lease = await running.residency.acquire(model, call.signal);
    if (!context.stream) {
      try {
        const result = await lease.engine.generate(history, context.options, call.signal, ignore);
        noteShortened(result, call);
        return {
          message: createMessage({
            role: 'assistant',
            content: result.content,
            ...(result.thinking === '' ? {} : { thinking: result.thinking }),
          }),
          usage: { promptTokens: result.promptTokens, completionTokens: result.completionTokens },
          finishReason: result.finishReason,
          model: model.id,
        };
      } finally {
        lease.release();
      }
    }
    return this.#stream(lease, history, context, call);
  }

  async listModels(): Promise<readonly ModelInfo[]> {
    const { catalog, residency } = this.#configured();
    const listed = await catalog.list();
    return listed.map(({ model, facts }) => ({
      id: model.id,
      details: modelDetails(facts, model.settings, residency.engineOf(model.id) !== undefined),
    }));
  }

  async embed(request: EmbeddingRequest, call: PluginCall): Promise<EmbeddingResult> {
    const running = this.#configured();
    const model = await running.catalog.resolve(request.model, running.residency.lastUsed);
    if (!model.settings.embeddings) {
      throw new PlugboardError(
        'REQUEST_INVALID',
        `${this.metadata.name}: embeddings are turned off for model "${model.id}" — set embeddings: true in its config`,
        { plugin: this.metadata.name },
      );
    }
    const lease = await running.residency.acquire(model, call.signal);
    try {
      const { embeddings, promptTokens } = await lease.engine.embed(request.input, call.signal);
      return { model: model.id, embeddings, promptTokens };
    } finally {
      lease.release();
    }
  }

  async healthCheck(): Promise<HealthReport> {
    const running = this.#configured();
    const { settings, residency, loadErrors } = running;
    const location = settings.location;
    if (location.kind === 'folder') return folderHealth(running.catalog, residency, settings, loadErrors);
    const engine = residency.engineOf(location.id);
    if (engine !== undefined) {
      return {
        status: 'healthy',
        message: `model ${location.id} loaded`,
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
      await inspectModelFile(location.path, this.metadata.name);
    } catch (error) {
      return { status: 'unhealthy', message: (error as Error).message, details: { loaded: false } };
    }
    const loadError = loadErrors.get(location.id);
    if (loadError !== undefined) return { status: 'unhealthy', message: loadError.message, details: { loaded: false } };
    const loading = residency.residents.length > 0;
    return {
      status: 'healthy',
      message: `model ${location.id} ${loading ? 'loading' : 'loads on the first request'}`,
      details: { loaded: false, modelPath: location.path },
    };
  }

  async shutdown(): Promise<void> {
    const running = this.#running;
    if (running === undefined) return;
    await running.residency.close(); // waits for loads under way: their hold is set by then
    const llama = running.llama;
    running.llama = undefined;
    await (await llama?.catch(() => undefined))?.release();
  }

  // ——— internals ———

  #configured(): Running {
    if (this.#running === undefined) {
      throw new PlugboardError('PLUGIN_NOT_ACTIVE', `${this.metadata.name}: not initialized`, {
        plugin: this.metadata.name,
      });
    }
    return this.#running;
  }

  /** `preload: true`: the model (with a folder: the first by name) loads now; an empty folder waits for a file. */
  async #preload(running: Running, signal: AbortSignal): Promise<void> {
    const { catalog, residency, logger } = running;
    let model: ServedModel;
    try {
      model = await catalog.resolve(undefined, undefined);
    } catch (error) {
      if (catalog.folder === undefined) throw error;
      logger.warn({ modelsDir: catalog.folder }, `preload: nothing to load yet: ${(error as Error).message}`);
      return;
    }
    (await residency.acquire(model, signal)).release();
  }

  /** Loads a model: its header checked first, then node-llama-cpp imported (once) and the model loaded. */
  async #load(running: Running, model: ServedModel): Promise<LlamaCppEngine> {
    const { logger, loadErrors, catalog } = running;
    const backend = this.metadata.name;
    try {
      const facts = await inspectModelFile(
        model.path,
        backend,
        catalog.folder === undefined ? 'model_path' : 'models_dir',
      );
      const started = performance.now();
      // Only now: node-llama-cpp and its dependencies cost ~300 ms and ~20 MB to import, which a
      // server that names this backend but never uses it (or leaves it off) should not pay.
      const [{ LlamaCppEngine }, { acquireLlama }] = await Promise.all([
        import('./engine.ts'),
        import('./shared-llama.ts'),
      ]);
      if (running.llama === undefined) {
        // No threads of its own, no log: it only keeps the binding alive. A failure is the
        // engine's to report (it asks for the same binding), and the next load tries again.
        const hold = acquireLlama(model.settings.gpu, { threads: 0, log: ignore });
        running.llama = hold;
        hold.catch(() => {
          if (running.llama === hold) running.llama = undefined;
        });
      }
      const engine = await LlamaCppEngine.load(backend, model.settings, facts, logger);
      loadErrors.delete(model.id);
      logger.info(
        {
          modelPath: model.path,
          durationMs: Math.round(performance.now() - started),
          gpu: engine.gpu,
          contextSize: engine.contextSize,
          sequences: model.settings.sequences,
          threads: model.settings.threads,
          chatWrapper: engine.chatWrapperName,
        },
        `model ${model.id} loaded`,
      );
      return engine;
    } catch (error) {
      if (error instanceof PlugboardError) loadErrors.set(model.id, error);
      throw error;
    }
  }

  /** A streamed reply; the lease is held until generation has ended, however it ends. */
  #stream(
    lease: ModelLease<LlamaCppEngine>,
    history: ReturnType<typeof toChatHistory>,
    context: ChatContext,
    call: PluginCall,
  ): AsyncIterable<ChatChunk> {
    // Stopped by the caller's signal, or by the consumer leaving the stream early.
    const controller = new AbortController();
    const abort = () => controller.abort(call.signal.reason ?? abortedError(this.metadata.name));
    call.signal.addEventListener('abort', abort, { once: true });
    if (call.signal.aborted) abort();
    const channel = new ChunkChannel(() => controller.abort(abortedError(this.metadata.name)));
    lease.engine
      .generate(history, context.options, controller.signal, (chunk) => channel.push(chunk))
      .then(
        (result) => {
          noteShortened(result, call);
          channel.push({
            usage: { promptTokens: result.promptTokens, completionTokens: result.completionTokens },
            finishReason: result.finishReason,
          });
          channel.end();
        },
        (error: unknown) => channel.fail(error),
      )
      .finally(() => {
        call.signal.removeEventListener('abort', abort);
        lease.release();
      });
    return channel;
  }

  #checkRequest(context: ChatContext, modelId: string): void {
    const { tools, toolChoice } = context.options;
    if (tools !== undefined && tools.length > 0 && toolChoice !== 'none') {
      throw new PlugboardError(
        'REQUEST_INVALID',
        `${this.metadata.name}: model "${modelId}" is not offered tools by this backend — send the request without tools, or use another backend for tool calling`,
        { plugin: this.metadata.name, details: { param: 'tools' } },
      );
    }
    if (context.messages.some((message) => message.images !== undefined && message.images.length > 0)) {
      throw new PlugboardError(
        'REQUEST_INVALID',
        `${this.metadata.name}: model "${modelId}" does not read images (this backend serves text models only)`,
        { plugin: this.metadata.name, details: { param: 'messages' } },
      );
    }
  }
}

/** A new llamacpp backend (the plugin file's default export: the loader calls it). */
export function createLlamaCppBackend(options: LlamaCppBackendOptions = {}): LlamaCppBackend {
  return new LlamaCppBackend(options);
}

export default createLlamaCppBackend;

function noteShortened(result: GenerationResult, call: PluginCall): void {
  if (result.droppedMessages === 0) return;
  call.logger.warn(
    { droppedMessages: result.droppedMessages, promptTokens: result.promptTokens },
    'conversation too long for the context: its oldest turns were left out',
  );
}

function ignore(): void {}
