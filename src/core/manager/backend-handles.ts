import { PlugboardError } from '../errors/plugboard-error.ts';
import type { DeadlineScheduler } from '../execution/deadline-scheduler.ts';
import { invokePlugin } from '../execution/invoke.ts';
import { RequestScope } from '../execution/request-scope.ts';
import type { ChatContext } from '../model/context.ts';
import type { BackendReply, ModelInfo } from '../model/reply.ts';
import { readBackendReply } from '../pipeline/backend-stream.ts';
import type { ChatOptions } from '../pipeline/chat-pipeline.ts';
import type { PipelineSnapshot } from '../pipeline/snapshot.ts';
import { validateBackendReply } from '../pipeline/validators.ts';
import type { EmbeddingRequest, EmbeddingResult } from '../plugin/kinds.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import { fail, ok, type PluginResult } from '../result.ts';
import type { BackendDirectory } from '../routing/model-router.ts';
import type { PluginRegistry } from './plugin-registry.ts';

/**
 * A guarded handle on one backend provider: every call goes through the backend's breaker,
 * timeout and metrics, like calls made by the chat pipeline. It calls the backend directly —
 * no middleware, no hooks: for plugins and embedders that need a backend (a summarizer, a
 * RAG ingester). Client requests go through `PluginManager.chat`, `.embed` and `.runOperation`.
 */
export interface BackendHandle {
  readonly name: string;
  chat(context: ChatContext, options?: ChatOptions): Promise<PluginResult<BackendReply>>;
  listModels(): Promise<PluginResult<readonly ModelInfo[]>>;
  embed(request: EmbeddingRequest, options?: ChatOptions): Promise<PluginResult<EmbeddingResult>>;
}

/** The guarded handle of an ACTIVE backend's record. */
export function backendHandle(record: PluginRecord, deadlines: DeadlineScheduler): BackendHandle {
  const name = record.name;
  return {
    name,
    async chat(context, options = {}) {
      const scope = new RequestScope(context.requestId, options.signal, options.cancellation);
      const result = await invokePlugin(
        deadlines,
        record,
        'chat',
        (call) => record.plugin.chat!(context, call),
        validateBackendReply,
        { scope },
      );
      if (!result.ok || !(Symbol.asyncIterator in result.value)) return result;
      return ok(readBackendReply(result.value, record, deadlines, scope), result.durationMs);
    },
    listModels: () =>
      invokePlugin(deadlines, record, 'listModels', (call) => record.plugin.listModels!(call), validateModels),
    embed: async (request, options = {}) => {
      const embed = record.plugin.embed;
      if (embed === undefined) {
        return fail(
          new PlugboardError('BACKEND_FAILED', `Backend "${name}" does not support embeddings`, {
            plugin: name,
            hook: 'embed',
            status: 400,
          }),
        );
      }
      return invokePlugin(
        deadlines,
        record,
        'embed',
        (call) => embed.call(record.plugin, request, call),
        validateEmbeddings,
        {
          scope: new RequestScope(undefined, options.signal, options.cancellation),
        },
      );
    },
  };
}

function validateModels(value: unknown): readonly ModelInfo[] {
  if (!Array.isArray(value))
    throw new PlugboardError('PLUGIN_INVALID_RESULT', 'listModels must return an array of { id }');
  return value.map((model) => {
    if (typeof model === 'string') return { id: model };
    if (typeof model?.id !== 'string')
      throw new PlugboardError('PLUGIN_INVALID_RESULT', 'listModels: every model needs a string id');
    return model as ModelInfo;
  });
}

function validateEmbeddings(value: unknown): EmbeddingResult {
  const result = value as EmbeddingResult | null;
  if (!Array.isArray(result?.embeddings) || !result.embeddings.every((vector) => Array.isArray(vector))) {
    throw new PlugboardError('PLUGIN_INVALID_RESULT', 'embed must return { model, embeddings: number[][] }');
  }
  return result;
}

/** The router's view of the manager's backends: the current snapshot's, and why others are not active. */
export function backendDirectory(
  registry: PluginRegistry,
  snapshot: () => PipelineSnapshot,
  deadlines: DeadlineScheduler,
): BackendDirectory {
  const describe = (record: PluginRecord) =>
    `state ${record.state}${record.lastError ? `: ${record.lastError.publicMessage}` : ''}`;
  return {
    get backendNames() {
      return [...snapshot().backends.keys()];
    },
    listModelsOf(name) {
      const record = snapshot().backends.get(name);
      return record === undefined ? undefined : backendHandle(record, deadlines).listModels();
    },
    whyInactive(name) {
      const record = registry.get(name);
      return record === undefined ? undefined : describe(record);
    },
    inactiveBackends() {
      return registry
        .values()
        .filter((record) => record.kinds.has('backend-provider'))
        .map(
          (record) =>
            `${record.name} is ${record.state}${record.lastError ? ` (${record.lastError.publicMessage})` : ''}`,
        );
    },
  };
}
