/**
 * The rag plugin: retrieval-augmented generation. Documents (text, Markdown, HTML, PDF) are
 * added through its HTTP API (or `plugboard rag add`), cut into overlapping chunks along
 * their headings and paragraphs, embedded through the configured backend and stored in the
 * search index service (in memory, or SQLite/PostgreSQL with sql_store). On each chat, the
 * last user message is searched for — hybrid keyword + vector, keyword only without
 * embeddings — and the best chunks are put before the conversation as numbered sources, with
 * citations in the reply's `plugboard.citations`. See README.md.
 */
import {
  createMessage,
  defineFeatureExtension,
  type FeatureExtension,
  type HealthReport,
  type Logger,
  lastUserMessage,
  type ModelAccess,
  modelAccessRef,
  optionalService,
  type PluginEndpoint,
  searchIndexRef,
  updateContext,
} from '../../src/index.ts';
import { type RagConfig, ragConfigSchema } from './config.ts';
import { Embedder } from './embedder.ts';
import { type RagServices, ragEndpoints } from './endpoints.ts';
import { ragErrors } from './errors.ts';
import { DocumentIngestor } from './ingestion.ts';
import { requestRetrieval, retrievalOptionsOf } from './request-options.ts';
import { Retriever } from './retrieval.ts';
import { citationsJson, citationsOf, fitSources, sourcesMessage } from './sources.ts';
import { loadTokenCounter, type TokenCounter } from './token-count.ts';

/** What an embedder or a test may give the plugin besides its config. */
export interface RagPluginOptions {
  /** The clock of the embedding retry period (ms). */
  readonly now?: () => number;
}

/** The default of `max_document_bytes`: what the upload endpoint's body limit is before initialize. */
const DEFAULT_MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

/**
 * A fresh rag plugin (each instance — a config reload makes a new one — has its own state;
 * the documents are in the search index).
 *
 * Fail-open: when retrieval fails (the index is down), the chat goes on without sources.
 *
 * @example
 * ```yaml
 * features:
 *   rag:
 *     config:
 *       collections: [handbook]
 *       embedding_model: nomic-embed-text
 * ```
 */
export function createRagPlugin(options: RagPluginOptions = {}): FeatureExtension<RagConfig> {
  let services: (RagServices & { embedder: Embedder }) | undefined;
  let access: ModelAccess | undefined;
  /** The configured tokenizer, loaded on first use: chunk sizes and the sources' budget are counted with it. */
  let counter: Promise<TokenCounter> | undefined;
  let tokenizer: RagConfig['tokenizer'] = 'cl100k_base';
  function tokenCounter(): Promise<TokenCounter> {
    counter ??= loadTokenCounter(tokenizer);
    return counter;
  }
  let endpoints: PluginEndpoint[] = ragEndpoints(current, DEFAULT_MAX_DOCUMENT_BYTES);

  function current(): RagServices {
    if (services === undefined) throw new Error('the rag plugin is not initialized');
    return services;
  }

  return defineFeatureExtension<RagConfig>({
    metadata: {
      name: 'rag',
      version: '1.0.0',
      description:
        'Retrieval-augmented generation: documents in collections, hybrid search, numbered sources and citations',
      configSchema: ragConfigSchema,
      // Model access is optional: without it (or without an embedding model) retrieval is keyword-only.
      consumes: [searchIndexRef, optionalService(modelAccessRef)],
      errors: ragErrors,
      failurePolicy: 'open',
    },
    get endpoints() {
      return endpoints;
    },
    initialize(config, call) {
      const settings = config.config;
      const index = call.services.get(searchIndexRef);
      access = call.services.find(modelAccessRef);
      const embedder = new Embedder({
        access,
        model: settings.embedding_model,
        batch: settings.embed_batch,
        retryMs: settings.embed_retry_seconds * 1000,
        logger: call.logger,
        ...(options.now === undefined ? {} : { now: options.now }),
      });
      counter = undefined;
      tokenizer = settings.tokenizer;
      const ingestor = new DocumentIngestor({
        index,
        embedder,
        config: settings,
        tokenCounter,
      });
      const retriever = new Retriever({
        index,
        embedder,
        indexCollection: (collection) => ingestor.indexCollection(collection),
        logger: call.logger,
      });
      services = { config: settings, ingestor, retriever, embedder };
      endpoints = ragEndpoints(current, settings.max_document_bytes);
      logStart(call.logger, settings);
    },
    async extend(context, call) {
      const rag = current();
      const question = lastUserMessage(context)?.content.trim();
      if (!question) return context;
      const retrieval = requestRetrieval(rag.config, retrievalOptionsOf(context));
      if (retrieval === undefined) return context;
      const { chunks: found } = await rag.retriever.retrieve(
        {
          text: question,
          collections: retrieval.collections,
          topK: retrieval.topK,
          ...(retrieval.filter === undefined ? {} : { filter: retrieval.filter }),
          ...(rag.config.min_score === undefined ? {} : { minScore: rag.config.min_score }),
        },
        call.signal,
      );
      if (found.length === 0) {
        call.setResponseData('citations', []);
        return context;
      }
      const budget =
        rag.config.max_source_tokens ?? (await shareOfContext(access, context.model, rag.config.source_share));
      const fitted =
        budget === undefined ? [...found] : fitSources(found, budget, rag.config.instructions, await tokenCounter());
      if (fitted.length < found.length) {
        call.logger.debug({ found: found.length, kept: fitted.length, budget }, 'sources cut to fit the token budget');
      }
      const chunks = fitted;
      call.setResponseData('citations', citationsJson(citationsOf(chunks)));
      if (chunks.length === 0) return context;
      const message = createMessage({ role: 'system', content: sourcesMessage(chunks, rag.config.instructions) });
      // After the leading system messages (the operator's prompt stays first), before the conversation.
      const leading = context.messages.findIndex((entry) => entry.role !== 'system');
      const at = leading === -1 ? context.messages.length : leading;
      return updateContext(context, {
        messages: [...context.messages.slice(0, at), message, ...context.messages.slice(at)],
      });
    },
    healthCheck(): HealthReport {
      if (services === undefined) return { status: 'unhealthy', message: 'not initialized' };
      const reason = services.embedder.unavailable;
      const details = { collections: services.config.collections, embedding_model: services.embedder.configuredModel };
      return reason === undefined
        ? { status: 'healthy', details: { ...details, retrieval: 'hybrid' } }
        : {
            status: 'degraded',
            message: `keyword-only retrieval: ${reason}`,
            details: { ...details, retrieval: 'keyword' },
          };
    },
  });
}

function logStart(logger: Logger, settings: RagConfig): void {
  logger.info(
    {
      collections: settings.collections,
      embedding_model: settings.embedding_model ?? '(default backend)',
      chunk_tokens: settings.chunk_tokens,
      chunk_overlap: settings.chunk_overlap,
    },
    'rag: retrieval from the search index',
  );
}

export default createRagPlugin;

/**
 * The tokens the sources may take: `share` of the model's context window where its backend
 * reports one (a small model's window must still hold the question and the answer), else no
 * limit beyond `top_k`.
 */
async function shareOfContext(
  access: ModelAccess | undefined,
  model: string | undefined,
  share: number,
): Promise<number | undefined> {
  if (access === undefined) return undefined;
  try {
    const window = await access.contextLength(model);
    return window === undefined ? undefined : Math.floor(window * share);
  } catch {
    return undefined;
  }
}
