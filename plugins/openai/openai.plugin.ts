/**
 * The openai backend: any service that speaks OpenAI's chat completions API — OpenAI itself,
 * vLLM, LM Studio, llama.cpp's llama-server, HuggingFace TGI / Inference Endpoints / router,
 * Groq … — through the official `openai` client, with a configurable `base_url`.
 * See README.md next to this file for the configuration and the errors.
 */
import OpenAI from 'openai';
import {
  type BackendProvider,
  type ChatContext,
  defineBackend,
  type EmbeddingRequest,
  type HealthReport,
  type Logger,
  type ModelInfo,
  PlugboardError,
  type PluginCall,
  splitUrlCredentials,
} from '../../src/index.ts';
import { ChatWire } from './chat-wire.ts';
import { type OpenAiConfig, type OpenAiSettings, openAiConfigSchema, resolveSettings } from './config.ts';
import { type ErrorScope, toBackendError } from './errors.ts';
import { readChatStream, toChatCompletion } from './reply.ts';
import { toChatRequest } from './request.ts';

/** Options of {@link createOpenAiBackend}. */
export interface OpenAiBackendOptions {
  /**
   * The plugin's name (default `openai`). Give another to run a second instance, e.g. for
   * Groq next to OpenAI: a plugin file `groq.plugin.ts` exporting
   * `() => createOpenAiBackend({ name: 'groq' })`, configured under `backends.groq`.
   */
  readonly name?: string;
  readonly description?: string;
}

interface Connection {
  /** The official client: models, embeddings, health. */
  readonly client: OpenAI;
  /** Chat completions, the hot path (see chat-wire.ts). */
  readonly wire: ChatWire;
  readonly settings: OpenAiSettings;
}

/**
 * A new openai backend plugin (one per use: it holds its client).
 *
 * @example
 * ```ts
 * const manager = await startManager([
 *   [createOpenAiBackend(), { config: { base_url: 'http://127.0.0.1:8000/v1', default_model: 'qwen3' } }],
 * ]);
 * ```
 */
export function createOpenAiBackend(options: OpenAiBackendOptions = {}): BackendProvider<OpenAiConfig> {
  const name = options.name ?? 'openai';
  let connection: Connection | undefined;

  const connected = (): Connection => {
    if (connection === undefined) {
      throw new PlugboardError('PLUGIN_NOT_ACTIVE', `${name}: the backend is not initialized`, { plugin: name });
    }
    return connection;
  };
  const scope = (operation: string, model?: string): ErrorScope => ({
    backend: name,
    address: connected().settings.address,
    operation,
    ...(model === undefined ? {} : { model }),
  });

  return defineBackend<OpenAiConfig>({
    metadata: {
      name,
      version: '1.0.0',
      description:
        options.description ?? 'OpenAI-compatible APIs: OpenAI, vLLM, LM Studio, llama-server, HuggingFace TGI, Groq …',
      configSchema: openAiConfigSchema,
      // Replies of big or reasoning models take long; the timeout is also the wait between chunks.
      timeoutMs: 120_000,
    },

    initialize(config, call) {
      const settings = resolveSettings(config.config);
      connection = { client: createClient(settings, call.logger), wire: createWire(settings), settings };
      call.logger.info(
        { base_url: settings.address, api_key_set: settings.apiKey !== '' },
        `${name}: using ${settings.address}`,
      );
      const inUrl = splitUrlCredentials(settings.baseUrl).authorization !== undefined;
      if (inUrl && (settings.apiKey !== '' || hasHeader(settings.headers, 'authorization')))
        call.logger.warn(
          { base_url: settings.address },
          `${name}: the credentials in base_url are not sent: api_key or an Authorization header is set instead`,
        );
    },

    shutdown() {
      connection?.wire.close();
      connection = undefined;
    },

    async chat(context, call) {
      const { wire, settings } = connected();
      const model = modelOf(context, settings, name);
      const body = toChatRequest(context, model, settings);
      if (!context.stream) {
        try {
          return toChatCompletion(await wire.complete({ ...body, stream: false }, call.signal));
        } catch (error) {
          throw toBackendError(error, scope('chat', model));
        }
      }
      let stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>;
      try {
        stream = await wire.stream(
          {
            ...body,
            stream: true,
            ...(settings.streamUsage ? { stream_options: { include_usage: true } } : {}),
          },
          call.signal,
        );
      } catch (error) {
        throw toBackendError(error, scope('chat', model));
      }
      const streamScope = scope('chat stream', model);
      return readChatStream(stream, call.signal, (error) => toBackendError(error, streamScope));
    },

    async listModels(call) {
      const { client, settings } = connected();
      if (settings.listModels === false) return settings.defaultModel ? [{ id: settings.defaultModel }] : [];
      if (settings.listModels !== true) return settings.listModels.map((id) => ({ id }));
      try {
        const page = await client.models.list({ signal: call.signal });
        return page.data.map(toModelInfo);
      } catch (error) {
        throw toBackendError(error, scope('list models'));
      }
    },

    async embed(request: EmbeddingRequest, call: PluginCall) {
      const { client, settings } = connected();
      const model = request.model || settings.defaultModel;
      if (!model) throw noModel(name);
      try {
        const response = await client.embeddings.create(
          { model, input: [...request.input], encoding_format: 'float' },
          { signal: call.signal },
        );
        const ordered = [...response.data].sort((a, b) => a.index - b.index);
        return {
          model: response.model || model,
          embeddings: ordered.map((item) => item.embedding),
          ...(response.usage ? { promptTokens: response.usage.prompt_tokens } : {}),
        };
      } catch (error) {
        throw toBackendError(error, scope('embed', model));
      }
    },

    healthCheck: (call) => checkHealth(connected(), name, call),
  });
}

/**
 * Health: `GET /models` within `health_timeout_ms`. Unreachable, a refused key, or (with
 * `list_models: true`) a failing list is unhealthy. Services without `/models` (a fixed or no
 * list configured) are healthy as long as they answer at all.
 */
async function checkHealth(connection: Connection, name: string, call: PluginCall): Promise<HealthReport> {
  const { client, settings } = connection;
  const details = { base_url: settings.address };
  try {
    const page = await client.models.list({ signal: call.signal, timeout: settings.healthTimeoutMs, maxRetries: 0 });
    return { status: 'healthy', message: `${settings.address} lists ${page.data.length} models`, details };
  } catch (thrown) {
    const error = toBackendError(thrown, { backend: name, address: settings.address, operation: 'list models' });
    const status = thrown instanceof OpenAI.APIError ? thrown.status : undefined;
    const answered = status !== undefined && status !== 401 && status !== 403;
    if (answered && settings.listModels !== true) {
      return { status: 'healthy', message: `${settings.address} answers (GET /models: ${status})`, details };
    }
    const message = error instanceof Error ? error.message : String(error);
    return { status: 'unhealthy', message, details };
  }
}

/**
 * The client. Credentials in `base_url` (`http://user:password@host/v1`, which fetch refuses)
 * are sent as `Authorization: Basic …` when neither `api_key` nor `headers` sets one.
 */
function createClient(settings: OpenAiSettings, logger: Logger): OpenAI {
  const { url, authorization } = splitUrlCredentials(settings.baseUrl);
  const setsAuthorization = settings.apiKey !== '' || hasHeader(settings.headers, 'authorization');
  return new OpenAI({
    baseURL: url,
    // The client insists on a key; without one, its Authorization header is removed below
    // (unless `headers` sets one: some gateways take the credential in a header of their own).
    apiKey: settings.apiKey || 'no-key',
    // Explicit nulls: the client would otherwise read OPENAI_ORG_ID, OPENAI_PROJECT_ID and
    // OPENAI_ADMIN_KEY from the environment and send them to whatever base_url is.
    organization: settings.organization ?? null,
    project: settings.project ?? null,
    adminAPIKey: null,
    maxRetries: settings.maxRetries,
    ...(settings.requestTimeoutMs === undefined ? {} : { timeout: settings.requestTimeoutMs }),
    defaultHeaders: {
      ...(setsAuthorization ? {} : { Authorization: authorization ?? null }),
      ...settings.headers,
    },
    logger: clientLogger(logger),
  });
}

/** The chat wire: the same headers the client sends (see createClient). */
function createWire(settings: OpenAiSettings): ChatWire {
  const { url, authorization } = splitUrlCredentials(settings.baseUrl);
  const credential = settings.apiKey !== '' ? `Bearer ${settings.apiKey}` : authorization;
  return new ChatWire({
    baseUrl: url,
    headers: {
      ...(credential === undefined || hasHeader(settings.headers, 'authorization')
        ? {}
        : { authorization: credential }),
      ...(settings.organization ? { 'openai-organization': settings.organization } : {}),
      ...(settings.project ? { 'openai-project': settings.project } : {}),
      ...settings.headers,
    },
    maxRetries: settings.maxRetries,
    timeoutMs: settings.requestTimeoutMs,
  });
}

function hasHeader(headers: Readonly<Record<string, string>>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

/** The client's log lines (retries, warnings) through the plugin's logger. */
function clientLogger(logger: Logger) {
  const line =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, ...rest: unknown[]) =>
      logger[level](rest.length > 0 ? { details: rest } : {}, `openai client: ${message}`);
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

function modelOf(context: ChatContext, settings: OpenAiSettings, name: string): string {
  const model = context.model || settings.defaultModel;
  if (!model) throw noModel(name);
  return model;
}

function noModel(name: string): PlugboardError {
  return new PlugboardError(
    'BACKEND_FAILED',
    `${name}: the request names no model and no default_model is configured — name a model or set default_model`,
    { plugin: name, status: 400 },
  );
}

function toModelInfo(model: OpenAI.Models.Model): ModelInfo {
  const details: Record<string, unknown> = {};
  if (typeof model.created === 'number') details.created = model.created;
  if (model.owned_by) details.owned_by = model.owned_by;
  return { id: model.id, ...(Object.keys(details).length > 0 ? { details } : {}) };
}

export default () => createOpenAiBackend();
