/**
 * The anthropic backend: Claude models through Anthropic's Messages API, with the official
 * `@anthropic-ai/sdk`. Whole and streamed replies, tool calls both ways, thinking, images.
 * See README.md in this folder for the config keys, an example and what each error means.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import {
  type ChatChunk,
  defineBackend,
  type HealthReport,
  type Logger,
  type ModelInfo,
  PlugboardError,
  type PluginCall,
  splitUrlCredentials,
} from '../../src/index.ts';
import { type AnthropicConfig, type AnthropicSettings, anthropicConfigSchema, resolveSettings } from './config.ts';
import { type ErrorScope, toBackendError } from './errors.ts';
import { ModelCatalogue, toModelInfo } from './model-catalogue.ts';
import { toChatCompletion } from './reply-mapping.ts';
import { type ThinkingType, toMessagesRequest } from './request-mapping.ts';
import { readMessageStream } from './stream-reader.ts';

/** What the plugin holds between `initialize` and `shutdown`. */
interface Connection {
  readonly settings: AnthropicSettings;
  readonly client: Anthropic;
  readonly catalogue: ModelCatalogue;
}

/**
 * A new anthropic backend (each instance has its own client). The module's default export
 * is this factory, so every load of the file gets a fresh instance.
 */
export function createAnthropicBackend() {
  let connection: Connection | undefined;

  const connected = (): Connection => {
    if (connection === undefined) throw new PlugboardError('PLUGIN_NOT_ACTIVE', 'anthropic: not initialized');
    return connection;
  };

  /** How to ask `model` to think: as configured, or (`auto`) by the model's capabilities. */
  async function thinkingFor(model: string, call: PluginCall): Promise<ThinkingType | undefined> {
    const { settings, catalogue } = connected();
    if (settings.thinking !== 'auto') return settings.thinking;
    const type = await catalogue.thinkingTypeFor(model, {
      signal: call.signal,
      timeout: settings.health_timeout_ms,
    });
    if (type === null) {
      call.logger.debug({ model }, 'anthropic: the model cannot think; thinking not requested');
      return undefined;
    }
    // Unknown capabilities: manual extended thinking, which older models and proxies take.
    return type ?? 'enabled';
  }

  return defineBackend<AnthropicConfig>({
    metadata: {
      name: 'anthropic',
      version: '1.0.0',
      description: "Anthropic's Claude models through the Messages API (official SDK)",
      // A whole (non-streamed) answer, or the first token after long thinking, can take a while.
      timeoutMs: 120_000,
      configSchema: anthropicConfigSchema,
    },

    initialize(config, call) {
      const settings = resolveSettings(config.config);
      // Credentials in base_url (which fetch refuses) go as `Authorization: Basic`, unless `headers` sets one.
      const { url, authorization } = splitUrlCredentials(settings.baseUrl);
      const ownAuthorization = Object.keys(settings.headers).some((key) => key.toLowerCase() === 'authorization');
      const client = new Anthropic({
        apiKey: settings.apiKey,
        baseURL: url,
        maxRetries: settings.max_retries,
        timeout: settings.request_timeout_ms,
        defaultHeaders: {
          ...(authorization === undefined || ownAuthorization ? {} : { Authorization: authorization }),
          ...settings.headers,
          ...(settings.anthropic_version === undefined ? {} : { 'anthropic-version': settings.anthropic_version }),
        },
        logger: sdkLogger(call.logger),
        logLevel: 'warn',
      });
      connection = { settings, client, catalogue: new ModelCatalogue(client) };
    },

    shutdown() {
      connection = undefined;
    },

    async chat(context, call) {
      const { settings, client } = connected();
      const model = context.model || settings.default_model;
      if (model === undefined) {
        throw new PlugboardError(
          'REQUEST_INVALID',
          'anthropic: the request names no model and no `default_model` is configured',
          { plugin: 'anthropic', details: { param: 'model' } },
        );
      }
      const thinking = context.options.think === true ? await thinkingFor(model, call) : undefined;
      const { params, ignored } = toMessagesRequest(
        context,
        model,
        {
          maxTokens: settings.max_tokens,
          thinkingBudgetTokens: settings.thinking_budget_tokens,
          sendsSampling: settings.sendsSampling,
          sendUserId: settings.send_user_id,
        },
        thinking,
      );
      if (ignored.length > 0)
        call.logger.debug({ ignored }, 'anthropic: options with no Anthropic equivalent left out');
      const scope: ErrorScope = { baseUrl: settings.address, model };
      try {
        if (!context.stream) {
          return toChatCompletion(await client.messages.create({ ...params, stream: false }, { signal: call.signal }));
        }
        // Awaited here, so that HTTP errors (401, 404, 429 …) fail the call before any output.
        const events = await client.messages.create({ ...params, stream: true }, { signal: call.signal });
        return streamChunks(events, scope, call.signal);
      } catch (error) {
        throw failure(error, scope, call.signal);
      }
    },

    async listModels(call): Promise<readonly ModelInfo[]> {
      const { settings, catalogue } = connected();
      const configured = [
        ...new Set([...settings.models, ...(settings.default_model ? [settings.default_model] : [])]),
      ];
      const fromConfig = (ids: readonly string[]) => ids.map((id) => ({ id, details: { source: 'config' } }));
      try {
        const listed = (await catalogue.fetch({ signal: call.signal })).map(toModelInfo);
        const ids = new Set(listed.map((model) => model.id));
        return [...listed, ...fromConfig(configured.filter((id) => !ids.has(id)))];
      } catch (error) {
        const problem = failure(error, { baseUrl: settings.address }, call.signal);
        if (configured.length === 0 || problem.code === 'REQUEST_ABORTED') throw problem;
        call.logger.warn({ error: problem.message }, 'anthropic: the Models API failed; listing the configured models');
        return fromConfig(configured);
      }
    },

    async healthCheck(call): Promise<HealthReport> {
      const { settings, client } = connected();
      const started = performance.now();
      try {
        await client.models.list(
          { limit: 1 },
          { signal: call.signal, timeout: settings.health_timeout_ms, maxRetries: 0 },
        );
        return {
          status: 'healthy',
          details: { base_url: settings.address, latency_ms: Math.round(performance.now() - started) },
        };
      } catch (error) {
        const problem = failure(error, { baseUrl: settings.address }, call.signal);
        // Reachable and the key works, but busy, rate limited or without a Models API: degraded.
        const upstream = Number(problem.details?.upstreamStatus);
        const degraded = problem.code !== 'BACKEND_UNAVAILABLE' && [404, 429, 503, 529].includes(upstream);
        return {
          status: degraded ? 'degraded' : 'unhealthy',
          message: problem.message,
          details: { base_url: settings.address },
        };
      }
    },
  });
}

/**
 * The chunks of a streamed reply. Errors mid-stream (an `error` event, a lost connection)
 * become PlugboardErrors; leaving the loop early closes the connection (the SDK aborts it).
 */
async function* streamChunks(
  events: AsyncIterable<RawMessageStreamEvent>,
  scope: ErrorScope,
  signal: AbortSignal,
): AsyncGenerator<ChatChunk> {
  try {
    yield* readMessageStream(events);
  } catch (error) {
    throw failure(error, scope, signal);
  }
}

/** The error to throw: a cancellation when the call was cancelled, else the mapped SDK error. */
function failure(error: unknown, scope: ErrorScope, signal: AbortSignal): PlugboardError {
  if (signal.aborted) {
    return new PlugboardError('REQUEST_ABORTED', 'anthropic: the request was cancelled', {
      plugin: 'anthropic',
      cause: signal.reason ?? error,
    });
  }
  return toBackendError(error, scope);
}

/** The SDK's own log lines (warnings such as deprecated models) through the plugin's logger. */
function sdkLogger(logger: Logger) {
  // Only the message: the SDK's extra arguments may hold request options and headers.
  const at =
    (level: 'error' | 'warn' | 'info' | 'debug') =>
    (message: string): void =>
      logger[level]({}, `anthropic sdk: ${message}`);
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

export default () => createAnthropicBackend();
