/**
 * One loaded model and what serves it: node-llama-cpp's Llama (the llama.cpp binding), the
 * model, a context with one sequence per concurrent request (each with its LlamaChat), and,
 * on first use, an embedding context. The plugin creates one per model when a request first
 * needs it, and disposes of it when the model is unloaded (model-residency.ts) or at shutdown.
 */
import {
  type ChatHistoryItem,
  type ChatWrapper,
  type LLamaChatGenerateResponseOptions,
  type Llama,
  LlamaChat,
  type LlamaChatResponseChunk,
  type LlamaContext,
  type LlamaEmbeddingContext,
  type LlamaGrammar,
  type LlamaModel,
  resolveChatWrapper,
} from 'node-llama-cpp';
import {
  type ChatChunk,
  type FinishReason,
  type GenerationOptions,
  type Logger,
  PlugboardError,
  type ResponseFormat,
} from '../../src/index.ts';
import type { ModelSettings } from './config.ts';
import { fitToContext } from './context-fit.ts';
import { LlamaLog } from './llama-log.ts';
import type { ModelFileFacts } from './model-file.ts';
import { acquireLlama, type LlamaLease } from './shared-llama.ts';
import { SlotPool } from './slot-pool.ts';

/** One context sequence and the LlamaChat that generates on it. */
interface Slot {
  readonly chat: LlamaChat;
}

/** What the health check reports of a loaded engine. */
export interface EngineStats {
  readonly busy: number;
  readonly waiting: number;
  readonly sequences: number;
  /** Generations started since the model loaded (finished, failed or stopped). */
  readonly generations: number;
  /** Tokens generated since the model loaded, including those of stopped generations. */
  readonly generatedTokens: number;
}

/** What one generation produced. */
export interface GenerationResult {
  readonly content: string;
  readonly thinking: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Oldest messages left out because the conversation did not fit the context. */
  readonly droppedMessages: number;
  readonly finishReason: FinishReason;
}

/** Context sizes never exceed this by default: the KV cache grows with it, per sequence. */
const DEFAULT_MAX_CONTEXT = 4096;

export class LlamaCppEngine {
  readonly #backend: string;
  readonly #settings: ModelSettings;
  readonly #lease: LlamaLease;
  readonly #llama: Llama;
  readonly #model: LlamaModel;
  readonly #context: LlamaContext;
  readonly #wrapper: ChatWrapper;
  readonly #pool: SlotPool<Slot>;
  readonly #running = new Set<AbortController>();
  /** Settles when each running generation has ended and freed its sequence. */
  readonly #settling = new Set<Promise<void>>();
  #embedding: Promise<LlamaEmbeddingContext> | undefined;
  #jsonGrammar: Promise<LlamaGrammar> | undefined;
  #disposed = false;
  #generations = 0;
  #generatedTokens = 0;

  private constructor(
    backend: string,
    settings: ModelSettings,
    lease: LlamaLease,
    model: LlamaModel,
    context: LlamaContext,
    wrapper: ChatWrapper,
  ) {
    this.#backend = backend;
    this.#settings = settings;
    this.#lease = lease;
    this.#llama = lease.llama;
    this.#model = model;
    this.#context = context;
    this.#wrapper = wrapper;
    const slots: Slot[] = [];
    for (let index = 0; index < settings.sequences; index++) {
      slots.push({ chat: new LlamaChat({ contextSequence: context.getSequence(), chatWrapper: wrapper }) });
    }
    this.#pool = new SlotPool(slots);
  }

  /**
   * Loads the model. The file must have passed {@link inspectModelFile} (llama.cpp aborts the
   * process on some broken files). @throws PlugboardError `BACKEND_UNAVAILABLE` with llama.cpp's
   * own explanation when the binaries, the model or the context cannot be loaded.
   */
  static async load(
    backend: string,
    settings: ModelSettings,
    facts: ModelFileFacts,
    logger: Logger,
  ): Promise<LlamaCppEngine> {
    const log = new LlamaLog(logger);
    let lease: LlamaLease;
    try {
      lease = await acquireLlama(settings.gpu, { threads: settings.threads, log: log.write });
    } catch (error) {
      const gpu = settings.gpu === false ? 'CPU' : settings.gpu;
      throw new PlugboardError(
        'BACKEND_UNAVAILABLE',
        `${backend}: no usable llama.cpp binary for gpu: ${gpu} (${firstLine(error)}) — ${
          settings.gpu === false || settings.gpu === 'auto'
            ? 'reinstall node-llama-cpp (npm ci)'
            : `install the ${settings.gpu} binaries (plugins/llamacpp/README.md, "GPU"), or set gpu: false`
        }`,
        { plugin: backend, cause: error, details: { retryable: false } },
      );
    }
    const { llama } = lease;
    let model: LlamaModel | undefined;
    try {
      model = await log.explain(
        () =>
          llama.loadModel({
            modelPath: settings.modelPath,
            ...(llama.gpu === false ? {} : { gpuLayers: settings.gpu_layers }),
          }),
        (reason) =>
          `${backend}: llama.cpp could not load ${settings.modelPath}: ${reason} — check the file (download or convert it again)`,
        backend,
      );
      const loaded = model;
      const contextSize =
        settings.context_size === 'auto'
          ? Math.min(loaded.trainContextSize || facts.contextLength || DEFAULT_MAX_CONTEXT, DEFAULT_MAX_CONTEXT)
          : settings.context_size;
      const context = await log.explain(
        () =>
          loaded.createContext({
            contextSize,
            sequences: settings.sequences,
            threads: settings.threads,
            batchSize: 512,
          }),
        (reason) =>
          `${backend}: could not create a context of ${contextSize} tokens × ${settings.sequences} sequences for ${settings.modelPath}: ${reason} — lower context_size or sequences`,
        backend,
      );
      const wrapper =
        settings.chat_wrapper === 'auto'
          ? resolveChatWrapper(loaded, { warningLogs: false })
          : resolveChatWrapper(loaded, { type: settings.chat_wrapper, warningLogs: false });
      return new LlamaCppEngine(backend, settings, lease, loaded, context, wrapper);
    } catch (error) {
      await model?.dispose().catch(() => undefined);
      await lease.release().catch(() => undefined);
      throw error;
    }
  }

  /** Tokens each sequence holds. */
  get contextSize(): number {
    return this.#context.contextSize;
  }

  /** The chat wrapper's name (`Llama3_1`, `JinjaTemplate`, `General` …). */
  get chatWrapperName(): string {
    return this.#wrapper.wrapperName;
  }

  /** Whether llama.cpp runs on a GPU (`cuda`, `vulkan`, `metal`) or the CPU (`false`). */
  get gpu(): string | false {
    return this.#llama.gpu;
  }

  /** Sequences in use, requests waiting for one, and totals since the model loaded. */
  get stats(): EngineStats {
    return {
      busy: this.#pool.busy,
      waiting: this.#pool.waiting,
      sequences: this.#pool.size,
      generations: this.#generations,
      generatedTokens: this.#generatedTokens,
    };
  }

  /**
   * Generates a reply to `history` on a free sequence (waiting for one if all are busy),
   * passing each piece of text to `onChunk` as it comes. Aborting `signal` stops generation
   * after the current token; the promise then rejects with the signal's reason.
   */
  async generate(
    history: ChatHistoryItem[],
    options: GenerationOptions,
    signal: AbortSignal,
    onChunk: (chunk: ChatChunk) => void,
  ): Promise<GenerationResult> {
    const slot = await this.#pool.acquire(signal);
    const controller = new AbortController();
    const stop = () => controller.abort(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    this.#running.add(controller);
    let settled = ignore;
    const settling = new Promise<void>((resolve) => {
      settled = resolve;
    });
    this.#settling.add(settling);
    const meter = slot.chat.sequence.tokenMeter.getState();
    this.#generations++;
    try {
      if (signal.aborted) throw signal.reason;
      const settings = this.#settings;
      const fitted = fitToContext(history, this.contextSize, (items) => this.#promptTokens(items), this.#backend);
      // Never more than the context holds: LlamaChat would otherwise shift the context mid-reply.
      const room = this.contextSize - fitted.promptTokens - 1;
      let content = '';
      let thinking = '';
      const onResponseChunk = (chunk: LlamaChatResponseChunk) => {
        if (chunk.text === '') return;
        if (chunk.type === undefined) {
          content += chunk.text;
          onChunk({ content: chunk.text });
        } else if (chunk.segmentType === 'thought') {
          thinking += chunk.text;
          onChunk({ thinking: chunk.text });
        }
      };
      const extra = options.extra ?? {};
      const temperature = options.temperature ?? settings.temperature;
      const seed = options.seed ?? settings.seed;
      const grammar = await this.#grammarFor(options.responseFormat);
      const generation: LLamaChatGenerateResponseOptions = {
        signal: controller.signal,
        onResponseChunk,
        maxTokens: Math.min(options.maxTokens ?? settings.max_tokens, room),
        temperature,
        topK: options.topK ?? settings.top_k,
        topP: options.topP ?? settings.top_p,
        minP: numberIn(extra.min_p) ?? settings.min_p,
        ...(seed === undefined ? {} : { seed }),
        repeatPenalty: {
          penalty: numberIn(extra.repeat_penalty) ?? settings.repeat_penalty,
          lastTokens: numberIn(extra.repeat_last_n) ?? 64,
          ...optional('frequencyPenalty', numberIn(extra.frequency_penalty)),
          ...optional('presencePenalty', numberIn(extra.presence_penalty)),
        },
        ...(options.stop && options.stop.length > 0 ? { customStopTriggers: [...options.stop] } : {}),
        ...(options.think === false ? { budgets: { thoughtTokens: 0 } } : {}),
        ...(grammar === undefined ? {} : { grammar }),
      };
      const response = await slot.chat.generateResponse(fitted.history, generation);
      if (controller.signal.aborted) throw controller.signal.reason;
      // Every token sampled, also those not shown (a stop sequence, an incomplete character).
      const completionTokens = slot.chat.sequence.tokenMeter.diff(meter).usedOutputTokens;
      return {
        content,
        thinking,
        promptTokens: fitted.promptTokens,
        completionTokens,
        droppedMessages: history.length - fitted.history.length,
        finishReason: response.metadata.stopReason === 'maxTokens' ? 'length' : 'stop',
      };
    } catch (error) {
      if (controller.signal.aborted) throw controller.signal.reason;
      throw this.#generationError(error);
    } finally {
      // Counted also when stopped early: how far generation went before it noticed.
      this.#generatedTokens += slot.chat.sequence.tokenMeter.diff(meter).usedOutputTokens;
      signal.removeEventListener('abort', stop);
      this.#running.delete(controller);
      this.#pool.release(slot);
      this.#settling.delete(settling);
      settled();
    }
  }

  /** One embedding vector per input, from an embedding context made on first use. */
  async embed(
    input: readonly string[],
    signal: AbortSignal,
  ): Promise<{ embeddings: number[][]; promptTokens: number }> {
    this.#embedding ??= this.#model
      .createEmbeddingContext({ contextSize: this.contextSize, threads: this.#settings.threads })
      .catch((error: unknown) => {
        this.#embedding = undefined;
        throw new PlugboardError('BACKEND_FAILED', `${this.#backend}: cannot make embeddings: ${firstLine(error)}`, {
          plugin: this.#backend,
          cause: error,
        });
      });
    const context = await this.#embedding;
    const embeddings: number[][] = [];
    let promptTokens = 0;
    for (const text of input) {
      if (signal.aborted) throw signal.reason;
      const tokens = this.#model.tokenize(text);
      if (tokens.length >= this.contextSize) {
        throw new PlugboardError(
          'REQUEST_INVALID',
          `${this.#backend}: an input of ${tokens.length} tokens does not fit the context of ${this.contextSize} tokens — raise context_size or shorten the input`,
          { plugin: this.#backend, details: { param: 'input', tokens: tokens.length, contextSize: this.contextSize } },
        );
      }
      promptTokens += tokens.length;
      embeddings.push([...(await context.getEmbeddingFor(tokens)).vector]);
    }
    return { embeddings, promptTokens };
  }

  /** Stops every generation, refuses new ones and frees the model (and the binding). */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const closing = new PlugboardError('BACKEND_UNAVAILABLE', `${this.#backend}: the backend is shutting down`, {
      plugin: this.#backend,
    });
    this.#pool.close(closing);
    for (const controller of this.#running) controller.abort(closing);
    await Promise.all(this.#settling);
    try {
      await this.#model.dispose(); // and its contexts
    } finally {
      await this.#lease.release();
    }
  }

  /** The prompt's length in tokens: the history as the chat wrapper renders it for a reply. */
  #promptTokens(history: readonly ChatHistoryItem[]): number {
    // A conversation ending with the assistant's words asks to continue them: those are prompt.
    const chatHistory = history.at(-1)?.type === 'model' ? [...history] : [...history, { type: 'model', response: [] }];
    const { contextText } = this.#wrapper.generateContextState({ chatHistory: chatHistory as ChatHistoryItem[] });
    return contextText.tokenize(this.#model.tokenizer).length;
  }

  async #grammarFor(format: ResponseFormat | undefined): Promise<LlamaGrammar | undefined> {
    if (format === undefined || format.type === 'text') return undefined;
    if (format.type === 'json') {
      this.#jsonGrammar ??= this.#llama.getGrammarFor('json');
      return this.#jsonGrammar;
    }
    try {
      return await this.#llama.createGrammarForJsonSchema(format.schema as never);
    } catch (error) {
      throw new PlugboardError(
        'REQUEST_INVALID',
        `${this.#backend}: unsupported JSON schema in response_format: ${firstLine(error)}`,
        { plugin: this.#backend, cause: error, details: { param: 'response_format' } },
      );
    }
  }

  #generationError(error: unknown): PlugboardError {
    if (error instanceof PlugboardError) return error;
    const message = firstLine(error);
    // LlamaChat's words when the prompt leaves no room (the context is checked before, so rare).
    if (/context size is too small/i.test(message)) {
      return new PlugboardError(
        'REQUEST_INVALID',
        `${this.#backend}: the conversation does not fit the context of ${this.contextSize} tokens — shorten it, or raise context_size`,
        { plugin: this.#backend, cause: error },
      );
    }
    return new PlugboardError('BACKEND_FAILED', `${this.#backend}: generation failed: ${message}`, {
      plugin: this.#backend,
      cause: error,
    });
  }
}

function ignore(): void {}

function numberIn(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function optional<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
