/**
 * The ollama backend: chat (streamed or not), model list, embeddings and health from an
 * Ollama server, through the official `ollama` client. See README.md in this folder for the
 * configuration and the errors it reports.
 */
import {
  type BackendProvider,
  type ChatChunk,
  defineBackend,
  type HealthReport,
  PlugboardError,
  type PluginCall,
  splitUrlCredentials,
} from '../../src/index.ts';
import { ChatWire } from './chat-wire.ts';
import { createClient, wireHeaders } from './client.ts';
import { BACKEND, type ErrorSubject, toBackendError, UNAVAILABLE_ADVICE } from './errors.ts';
import { ModelCapabilities } from './model-capabilities.ts';
import { toChunks, toCompletion, toModelInfo, type WireChatResponse } from './reply-mapping.ts';
import { toChatRequest } from './request-mapping.ts';
import { type OllamaConfig, type OllamaSettings, ollamaConfigSchema, resolveSettings } from './settings.ts';

/**
 * A new ollama backend. A factory, so that every load (and reload with a changed config) has
 * its own settings.
 *
 * @example
 * ```ts
 * const manager = await startManager([[createOllamaBackend(), { config: { host: 'gpu-box:11434' } }]]);
 * ```
 */
export function createOllamaBackend(): BackendProvider<OllamaConfig> {
  let configured: OllamaSettings | undefined;
  /** Chats, the hot path (see chat-wire.ts); the official client serves the rest. */
  let wire: ChatWire | undefined;
  const capabilities = new ModelCapabilities();
  const settings = (): OllamaSettings => {
    if (configured === undefined) throw new PlugboardError('PLUGIN_NOT_ACTIVE', `${BACKEND}: not initialized`);
    return configured;
  };

  return defineBackend<OllamaConfig>({
    metadata: {
      name: BACKEND,
      version: '1.0.0',
      description: 'Chat, models and embeddings from an Ollama server',
      // Ollama loads a model on its first request, which can take minutes for big models; the
      // entry's `timeout` overrides it.
      timeoutMs: 120_000,
      configSchema: ollamaConfigSchema,
    },

    initialize(config, call) {
      configured = resolveSettings(config.config);
      wire = createWire(configured);
      call.logger.info({ host: configured.address }, `${BACKEND}: using Ollama at ${configured.address}`);
    },

    async chat(context, call) {
      const current = settings();
      const model = modelFor(context.model, current);
      const request = toChatRequest(context, model, {
        keepAlive: current.keepAlive,
        onInvalidArguments: (toolCall) =>
          call.logger.warn(
            { tool: toolCall.name },
            `${BACKEND}: tool call arguments are not a JSON object; sent as _raw_arguments`,
          ),
      });
      const subject: ErrorSubject = { address: current.address, model, signal: call.signal };
      if (!context.stream) {
        try {
          return toCompletion(await wire!.complete(request, call.signal));
        } catch (error) {
          throw toBackendError(error, subject);
        }
      }
      // A consumer that stops reading early ends the upstream request: leaving the lines'
      // iterator destroys the response (chat-wire.ts).
      let lines: AsyncIterable<WireChatResponse>;
      try {
        lines = await wire!.stream(request, call.signal);
      } catch (error) {
        throw toBackendError(error, subject);
      }
      return streamReply(lines, subject);
    },

    async listModels(call) {
      const current = settings();
      try {
        const client = createClient(current, call.signal);
        const { models } = await client.list();
        const known = await capabilities.of(client, models);
        return models.map((model) => {
          const info = toModelInfo(model);
          const can = known.get(info.id);
          return can === undefined ? info : { ...info, details: { ...info.details, capabilities: [...can] } };
        });
      } catch (error) {
        throw toBackendError(error, { address: current.address, signal: call.signal });
      }
    },

    async embed(request, call) {
      const current = settings();
      const model = modelFor(request.model, current);
      try {
        const response = await createClient(current, call.signal).embed({
          model,
          input: [...request.input],
          ...(current.keepAlive === undefined ? {} : { keep_alive: current.keepAlive }),
        });
        return {
          model: response.model || model,
          embeddings: response.embeddings,
          ...(typeof response.prompt_eval_count === 'number' ? { promptTokens: response.prompt_eval_count } : {}),
        };
      } catch (error) {
        throw toBackendError(error, { address: current.address, model, signal: call.signal });
      }
    },

    healthCheck: (call) => checkHealth(settings(), call),

    shutdown() {
      wire?.close();
      wire = undefined;
    },
  });
}

export default createOllamaBackend;

/** The request's model, else the configured default. */
function modelFor(requested: string | undefined, settings: OllamaSettings): string {
  const model = requested || settings.defaultModel;
  if (model) return model;
  throw new PlugboardError(
    'REQUEST_INVALID',
    `${BACKEND}: the request names no model and no default_model is configured — name a model (see \`ollama list\`), or set default_model in the ollama plugin's config`,
    { plugin: BACKEND, details: { param: 'model' } },
  );
}

/** The chat wire for Ollama's address, with the headers the client would send. */
function createWire(settings: OllamaSettings): ChatWire {
  const { url } = splitUrlCredentials(settings.host);
  return new ChatWire(url, wireHeaders(settings));
}

/**
 * The streamed reply: the lines as chunks, failures as Plugboard errors. A module-level
 * generator, not one made per call (see docs/PERFORMANCE.md).
 */
async function* streamReply(lines: AsyncIterable<WireChatResponse>, subject: ErrorSubject): AsyncGenerator<ChatChunk> {
  try {
    yield* toChunks(lines);
  } catch (error) {
    throw toBackendError(error, subject);
  }
}

/**
 * `GET /api/version` within `health_timeout_ms`: healthy with the version, or unhealthy saying
 * why. Messages leave out the `ollama:` prefix errors carry: health reports name the plugin.
 */
async function checkHealth(settings: OllamaSettings, call: PluginCall): Promise<HealthReport> {
  const timeout = AbortSignal.timeout(settings.healthTimeoutMs);
  const details = { host: settings.address };
  try {
    const { version } = await createClient(settings, AbortSignal.any([call.signal, timeout])).version();
    return { status: 'healthy', message: `Ollama ${version} at ${settings.address}`, details: { ...details, version } };
  } catch (error) {
    if (timeout.aborted) {
      return {
        status: 'unhealthy',
        message: `no answer within ${settings.healthTimeoutMs} ms at ${settings.address} — ${UNAVAILABLE_ADVICE}`,
        details,
      };
    }
    const failure = toBackendError(error, { address: settings.address });
    const message = failure instanceof Error ? failure.message : String(failure);
    return { status: 'unhealthy', message: message.replace(`${BACKEND}: `, ''), details };
  }
}
